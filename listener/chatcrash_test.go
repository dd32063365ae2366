package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flux-companion/flux/agentsvc/graph"
	"github.com/flux-companion/flux/agentsvc/llmfake"
	"github.com/flux-companion/flux/agentsvc/plan"
	"github.com/flux-companion/flux/internal/testwait"
	"github.com/flux-companion/flux/listener/logtest"
	"github.com/flux-companion/flux/sql/pgtest"
)

// TestChatKilledMidRunAnswersEveryMessageOnce: the listener is killed with SIGKILL while its
// agents wait on the model, then started again. Every user message gets exactly one answer,
// two messages sent at once into one conversation are answered in order, and the turns the
// dead process was running wrote nothing.
func TestChatKilledMidRunAnswersEveryMessageOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.DB(t)
	pool := pgtest.PoolOn(t, url)

	fake, err := llmfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	planJSON, _ := json.Marshal(plan.Plan{
		GoalTitle: "Run a 5K", Tags: []string{"Fitness"}, FeasibleIn6Weeks: true, MicroGoalRoadmap: []plan.MicroGoal{},
		ProposedTasks: []plan.ProposedTask{{Title: "Easy run", ScheduledDays: []string{"Tue", "Sat"}, SuggestedTime: "07:30",
			DurationMinutes: 25, WeekRange: []int{1, 6}}},
		ConflictsDetected: []plan.Conflict{}, PlanSummary: "Two easy runs a week.", ApprovalStatus: plan.StatusPending,
	})
	slowPlanner := make(chan struct{}) // closed once the first process is dead
	fake.Script(func(req llmfake.Request) llmfake.Reply {
		switch graph.AgentOf(req.Messages[0].Content) {
		case "orchestrator":
			if strings.Contains(req.Last("user"), "remind me") {
				return llmfake.Reply{Content: `{"intent":"NEW_TASK","payload":"call mom","clarification_question":"","task_id":"","goal_id":""}`}
			}
			return llmfake.Reply{Content: `{"intent":"GOAL","payload":"run a 5K","clarification_question":"","task_id":"","goal_id":""}`}
		case "classifier":
			return llmfake.Reply{Content: `{"tags":["Fitness"]}`}
		case "planner":
			select {
			case <-slowPlanner:
				return llmfake.Reply{Content: string(planJSON)}
			default:
				return llmfake.Reply{Content: string(planJSON), Delay: time.Minute} // in flight when the kill lands
			}
		}
		return llmfake.Reply{Status: 400, Content: "unexpected prompt"}
	})

	var user string
	if err := pool.QueryRow(ctx, `insert into auth.users (id, email, raw_user_meta_data)
		values (gen_random_uuid(), 'crashchat@test.flux.local', '{"timezone": "Europe/Berlin"}') returning id::text`).Scan(&user); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `update public.users set onboarded = true where id = $1`, user); err != nil {
		t.Fatal(err)
	}
	var convs []string
	for range 3 {
		var c string
		if err := pool.QueryRow(ctx, `insert into public.conversations (user_id) values ($1) returning id::text`, user).Scan(&c); err != nil {
			t.Fatal(err)
		}
		convs = append(convs, c)
	}

	slot := fmt.Sprintf("chatcrash_%d", time.Now().UnixNano()%1e9)
	start := func() (*exec.Cmd, *logtest.Buffer) {
		return listen(t, url, slot, "FLUX_ROLES=feed,http,agents", "FLUX_AGENT_LEASE=2s", "FLUX_AGENT_SWEEP=200ms",
			"OPENROUTER_API_KEY=test-key", "OPENROUTER_BASE_URL="+fake.URL())
	}
	first, firstOut := start()

	// Conversation 0 gets two messages at once; the others one goal each.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, m := range []struct{ conv, text string }{
			{convs[0], "I want to run a 5K"}, {convs[0], "remind me to call mom at 5pm"},
			{convs[1], "I want to run a 5K"}, {convs[2], "I want to run a 5K"},
		} {
			if _, err := tx.Exec(ctx, `insert into public.messages (conversation_id, user_id, content, created_at)
				values ($1, $2, $3, clock_timestamp())`, m.conv, user, m.text); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Kill once all three goal turns wait on the planner.
	waiting := 0
	if !testwait.Until(time.Minute, func() bool {
		waiting = 0
		for _, r := range fake.Requests() {
			if graph.AgentOf(r.Messages[0].Content) == "planner" && r.End.IsZero() {
				waiting++
			}
		}
		return waiting == 3
	}) {
		t.Fatalf("%d planner calls in flight; listener output:\n%s", waiting, firstOut.String())
	}
	kill(t, first)
	close(slowPlanner)
	var replies int
	if err := pool.QueryRow(ctx, `select count(*) from public.messages where user_id = $1 and role <> 'user'`, user).Scan(&replies); err != nil {
		t.Fatal(err)
	}
	if replies != 0 {
		t.Fatalf("%d replies before the restart: the dead turns must not have written", replies)
	}

	second, secondOut := start()
	defer stop(t, second, secondOut)
	waitNone(t, time.Minute, secondOut, "runs not done after the restart", func() (open int) {
		if err := pool.QueryRow(ctx, `select count(*) from flux.agent_runs where user_id = $1 and status <> 'done'`, user).Scan(&open); err != nil {
			t.Fatal(err)
		}
		return open
	})

	for i, c := range convs {
		rows, err := pool.Query(ctx, `select role, coalesce(metadata ->> 'kind', '') from public.messages
			where conversation_id = $1 order by created_at, id`, c)
		if err != nil {
			t.Fatal(err)
		}
		type line struct{ Role, Kind string }
		lines, err := pgx.CollectRows(rows, pgx.RowToStructByPos[line])
		if err != nil {
			t.Fatal(err)
		}
		want := []line{{"user", ""}, {"assistant", "plan"}}
		if i == 0 {
			// Both user messages were inserted before any answer; the answers follow in order.
			want = []line{{"user", ""}, {"user", ""}, {"assistant", "plan"}, {"assistant", "task_created"}}
		}
		if fmt.Sprint(lines) != fmt.Sprint(want) {
			t.Errorf("conversation %d: %v, want %v (each message answered once, in order)", i, lines, want)
		}
	}
	var tasks int
	if err := pool.QueryRow(ctx, `select count(*) from public.tasks where user_id = $1`, user).Scan(&tasks); err != nil {
		t.Fatal(err)
	}
	if tasks != 1 {
		t.Errorf("%d tasks, want the one reminder (plans wait for approval)", tasks)
	}
}
