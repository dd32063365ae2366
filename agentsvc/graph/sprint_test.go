package graph

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// completeAll completes every pending task of goal through the RPC a client calls.
func completeAll(t *testing.T, e *e2e, goal string) {
	t.Helper()
	ctx := context.Background()
	ids := collect(t, e, pgx.RowTo[string], `select id::text from public.tasks where goal_id = $1 and status = 'pending'`, goal)
	if len(ids) == 0 {
		t.Fatalf("no pending tasks of %s", goal)
	}
	for _, id := range ids {
		e.as(t, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `select public.complete_task($1)`, id)
			return err
		})
	}
	e.settle(t)
}

func (e *e2e) goal(t *testing.T, title string) (id, status string) {
	t.Helper()
	if err := e.pool.QueryRow(context.Background(), `select id::text, status from public.goals where user_id = $1 and title = $2`,
		e.user, title).Scan(&id, &status); err != nil {
		t.Fatalf("goal %q: %v", title, err)
	}
	return id, status
}

// The sprint rule end to end: completing the last task of a micro-goal's sprint activates the
// next micro-goal, whose plan the planner writes and the user approves like any other.
func TestE2ESprintEndPlansTheNextMicroGoal(t *testing.T) {
	t.Parallel()
	fake, g := newScripted(t)
	e := newE2E(t, g, "e2e-sprint@test.flux.local", "America/New_York", true)
	fake.goal("run a marathon", tagged("Fitness"), marathonPlan("06:30", "Run 5K", "Run 10K"))
	e.say(t, "I want to run a marathon next autumn")
	e.press(t)
	first, _ := e.goal(t, "Run 5K")

	next := runPlan("18:00")
	next.GoalTitle = "Whatever the model calls it"
	fake.say("planner", next)
	from := len(fake.srv.Requests())
	completeAll(t, e, first)

	if _, st := e.goal(t, "Run 5K"); st != "completed" {
		t.Fatalf("Run 5K is %s after its last task, want completed", st)
	}
	second, st := e.goal(t, "Run 10K")
	if st != "active" {
		t.Fatalf("Run 10K is %s, want active", st)
	}
	content, meta := e.lastReply(t)
	if !strings.Contains(content, "Step 2 is next") || meta["goal_id"] != second || meta["kind"] != "plan" || meta["offline"] == true {
		t.Fatalf("reply %q meta %v: want the model's plan for step 2 (goal %s)", content, meta, second)
	}
	if c := fake.calls(from); c["planner"] != 1 || c["orchestrator"] != 0 || c["classifier"] != 0 {
		t.Fatalf("model calls for the sprint: %v, want the planner once", c)
	}
	if n := e.count(t, `select count(*) from public.tasks where user_id = $1 and goal_id = '`+second+`'`); n != 0 {
		t.Fatalf("%d tasks written before approval", n)
	}

	e.press(t)
	if n := e.count(t, `select count(*) from public.tasks where user_id = $1 and status = 'pending' and goal_id = '`+second+`'`); n != 16 {
		t.Fatalf("%d pending tasks for Run 10K after approval, want the plan's 16", n)
	}
	if id, st := e.goal(t, "Run 10K"); id != second || st != "active" {
		t.Fatalf("after approval: Run 10K %s %s; the step keeps its id, title and status", id, st)
	}
	if content, _ := e.lastReply(t); !strings.Contains(content, "step 2, “Run 10K”, is under way") {
		t.Fatalf("approval reply %q", content)
	}
	if n := e.count(t, `select count(*) from public.goals where user_id = $1`); n != 3 {
		t.Fatalf("%d goals: approving a step must not create a goal", n)
	}
}

// Without a model the step is planned from the offline template, labelled as such.
func TestE2ESprintEndOffline(t *testing.T) {
	t.Parallel()
	e := newE2E(t, &Graph{}, "e2e-sprint-offline@test.flux.local", "Europe/Berlin", true)
	ctx := context.Background()
	var second string
	must(t, e.pool.QueryRow(ctx, `
		with u as (insert into public.goals (user_id, title, class_tags) values ($1, 'Speak Spanish', '{Learning}') returning id),
		     m1 as (insert into public.goals (user_id, title, class_tags, status, parent_goal_id, pipeline_order)
		            select $1, 'Spanish basics', '{Learning}', 'active', id, 1 from u returning id),
		     m2 as (insert into public.goals (user_id, title, class_tags, status, parent_goal_id, pipeline_order)
		            select $1, 'Talk with a tutor', '{Learning}', 'pipeline', id, 2 from u returning id),
		     t as (insert into public.tasks (user_id, goal_id, title, scheduled_at)
		           select $1, id, 'vocabulary', flux.now() + interval '1 day' from m1)
		select id::text from m2`, e.user).Scan(&second))
	first, _ := e.goal(t, "Spanish basics")
	completeAll(t, e, first)
	content, meta := e.lastReply(t)
	if meta["offline"] != true || meta["goal_id"] != second || !strings.Contains(content, "Step 2 is next") {
		t.Fatalf("reply %q meta %v: want the offline plan for step 2", content, meta)
	}
	e.say(t, "yes")
	if n := e.count(t, `select count(*) from public.tasks where user_id = $1 and goal_id = '`+second+`'`); n == 0 {
		t.Fatal("approving the offline step plan wrote no tasks")
	}
}
