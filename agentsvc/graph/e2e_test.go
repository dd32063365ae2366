package graph

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flux-companion/flux/agentsvc/agentrun"
	"github.com/flux-companion/flux/agentsvc/llmfake"
	"github.com/flux-companion/flux/agentsvc/plan"
	"github.com/flux-companion/flux/sql/pgtest"
	"github.com/flux-companion/flux/sql/store"
)

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

// e2e is a user talking to the graph through real rows: messages inserted as the user (RLS
// applies, as through PostgREST), answered as the listener's runner answers them (claim, load,
// turn, apply), read back from tables.
type e2e struct {
	pool  *pgxpool.Pool
	graph *Graph
	user  string
	conv  string
}

func newE2E(t *testing.T, g *Graph, email, timezone string, onboarded bool) *e2e {
	t.Helper()
	ctx := context.Background()
	e := &e2e{pool: pgtest.Pool(t)}
	must(t, e.pool.QueryRow(ctx, `insert into auth.users (id, email, raw_user_meta_data)
		values (gen_random_uuid(), $1, json_build_object('timezone', $2::text)) returning id::text`, email, timezone).Scan(&e.user))
	e.exec(t, `update public.users set onboarded = $2 where id = $1`, e.user, onboarded)
	e.as(t, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `insert into public.conversations default values returning id::text`).Scan(&e.conv)
	})
	if g.Log == nil {
		g.Log = quiet
	}
	e.graph = g
	return e
}

// as runs f as the signed-in user, the way PostgREST does.
func (e *e2e) as(t *testing.T, f func(pgx.Tx) error) {
	t.Helper()
	must(t, store.AsUser(context.Background(), e.pool, e.user, f))
}

// say sends a message and waits for the answer.
func (e *e2e) say(t *testing.T, text string) {
	t.Helper()
	e.as(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `insert into public.messages (conversation_id, content) values ($1, $2)`, e.conv, text)
		return err
	})
	e.settle(t)
}

// press is the Approve button: the approve_plan RPC.
func (e *e2e) press(t *testing.T) {
	t.Helper()
	e.as(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `select public.approve_plan($1)`, e.conv)
		return err
	})
	e.settle(t)
}

// settle answers every open run of the user, as the listener's runner would.
func (e *e2e) settle(t *testing.T) {
	t.Helper()
	ctx, st, owner := context.Background(), store.New(e.pool), "e2e-"+t.Name()
	for {
		run, ok, err := st.ClaimAgentRun(ctx, owner, time.Minute, e.conv)
		must(t, err)
		if !ok {
			return
		}
		in, err := st.LoadTurn(ctx, run, 40, 6*7*24*time.Hour)
		must(t, err)
		out, err := e.graph.Turn(ctx, run, in)
		if err != nil {
			t.Fatalf("turn of %q: %v", in.Content, err)
		}
		must(t, st.ApplyTurn(ctx, run, owner, out))
	}
}

// lastReply is the newest assistant message: content and metadata.
func (e *e2e) lastReply(t *testing.T) (string, map[string]any) {
	t.Helper()
	var content string
	var meta map[string]any
	must(t, e.pool.QueryRow(context.Background(), `select content, metadata from public.messages
		where conversation_id = $1 and role = 'assistant' order by created_at desc, id desc limit 1`, e.conv).Scan(&content, &meta))
	return content, meta
}

func (e *e2e) count(t *testing.T, q string) int {
	t.Helper()
	var n int
	must(t, e.pool.QueryRow(context.Background(), q, e.user).Scan(&n))
	return n
}

// exec runs a statement as the database owner.
func (e *e2e) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	_, err := e.pool.Exec(context.Background(), q, args...)
	must(t, err)
}

// collect reads every row of a query with to.
func collect[T any](t *testing.T, e *e2e, to pgx.RowToFunc[T], q string, args ...any) []T {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), q, args...)
	must(t, err)
	out, err := pgx.CollectRows(rows, to)
	must(t, err)
	return out
}

func TestE2ENegotiatedPlanApprovedByTheButtonIsWrittenExactly(t *testing.T) {
	t.Parallel()
	fake, g := newScripted(t)
	e := newE2E(t, g, "e2e-plan@test.flux.local", "Europe/Berlin", true)
	fake.goal("run a 5K", tagged("Fitness"), runPlan("07:00"))
	e.say(t, "I want to run a 5K")
	if _, meta := e.lastReply(t); meta["kind"] != "plan" || e.count(t, `select count(*) from public.goals where user_id = $1`) != 0 {
		t.Fatalf("proposal: meta %v; a proposal writes no goal", meta)
	}

	evening := runPlan("19:00")
	evening.ApprovalStatus = plan.StatusNegotiating
	fake.say("planner", evening)
	e.say(t, "can we do evenings instead?")
	content, meta := e.lastReply(t)
	if meta["kind"] != "plan" || !strings.Contains(content, "19:00") {
		t.Fatalf("revised proposal %q", content)
	}

	before := len(fake.srv.Requests())
	e.press(t)
	if n := len(fake.srv.Requests()) - before; n != 0 {
		t.Errorf("the button made %d model calls", n)
	}
	var goalID, status string
	var tags []string
	var approved plan.Plan
	must(t, e.pool.QueryRow(context.Background(), `select id::text, status, class_tags, plan from public.goals where user_id = $1`, e.user).
		Scan(&goalID, &status, &tags, &approved))
	if status != "active" || strings.Join(tags, ",") != "Fitness" || approved.ApprovalStatus != plan.StatusApproved {
		t.Errorf("goal: %s, tags %v, plan status %s", status, tags, approved.ApprovalStatus)
	}
	// Exactly the approved (evening) plan, materialized from tomorrow in Berlin.
	var start time.Time
	must(t, e.pool.QueryRow(context.Background(), `select (flux.now() at time zone 'Europe/Berlin')::date + 1`).Scan(&start))
	want, err := plan.Materialize(approved, time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, berlin), berlin)
	must(t, err)
	type task struct {
		Title    string
		At       time.Time
		Duration int
		Goal     string
	}
	got := collect(t, e, pgx.RowToStructByPos[task], `select title, scheduled_at, duration_minutes, goal_id::text from public.tasks
		where user_id = $1 order by scheduled_at, title`, e.user)
	if len(got) != len(want) || len(got) != 16 {
		t.Fatalf("%d tasks written, want the plan's %d (16)", len(got), len(want))
	}
	for i, w := range want {
		if g := got[i]; g.Title != w.Title || !g.At.Equal(w.At) || g.Duration != int(w.Duration/time.Minute) || g.Goal != goalID {
			t.Errorf("task %d: %+v, want %s at %s", i, g, w.Title, w.At)
		}
		if got[i].At.In(berlin).Format("15:04") != "19:00" {
			t.Errorf("task %d at %s: the approved plan is the evening one", i, got[i].At.In(berlin))
		}
	}
	var agentStatus string
	var trace json.RawMessage
	must(t, e.pool.QueryRow(context.Background(), `select c.agent_status, r.trace from public.conversations c
		join flux.agent_runs r on r.conversation_id = c.id where c.id = $1 order by r.seq limit 1`, e.conv).Scan(&agentStatus, &trace))
	if agentStatus != "idle" || !strings.Contains(string(trace), `"node": "classifier"`) {
		t.Errorf("conversation %s, first run's trace %s", agentStatus, trace)
	}
}

func TestE2ELongGoalWritesALinkedPipeline(t *testing.T) {
	t.Parallel()
	fake, g := newScripted(t)
	e := newE2E(t, g, "e2e-pipeline@test.flux.local", "America/New_York", true)
	fake.goal("run a marathon", tagged("Fitness"), marathonPlan("06:30", "Run 5K", "Run 10K", "Run a half marathon"))
	e.say(t, "I want to run a marathon next autumn")
	e.say(t, "yes")

	type goal struct {
		Title, Status, Parent string
		Order, Tasks          int
	}
	got := collect(t, e, pgx.RowToStructByPos[goal], `
		select g.title, g.status, coalesce(p.title, ''), coalesce(g.pipeline_order, 0),
		       (select count(*)::int from public.tasks t where t.goal_id = g.id)
		from public.goals g left join public.goals p on p.id = g.parent_goal_id
		where g.user_id = $1 order by g.pipeline_order nulls first`, e.user)
	want := []goal{
		{"Run a marathon", "active", "", 0, 0},
		{"Run 5K", "active", "Run a marathon", 1, 16},
		{"Run 10K", "pipeline", "Run a marathon", 2, 0},
		{"Run a half marathon", "pipeline", "Run a marathon", 3, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("goals %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("goal %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestE2EProviderDownAnswersOfflineAndWritesNoPartialPlan(t *testing.T) {
	t.Parallel()
	fake, g := newScripted(t)
	e := newE2E(t, g, "e2e-down@test.flux.local", "Europe/Berlin", true)
	fake.goal("learn Spanish", tagged("Learning"), llmfake.Reply{Status: 502})
	e.say(t, "I want to learn Spanish")
	content, meta := e.lastReply(t)
	if meta["offline"] != true || !strings.HasSuffix(content, OfflineNote) {
		t.Fatalf("reply %q meta %v: want the labelled offline answer", content, meta)
	}
	if n := e.count(t, `select (select count(*) from public.goals where user_id = $1) + (select count(*) from public.tasks where user_id = $1)`); n != 0 {
		t.Fatalf("%d goals and tasks written by a failed plan turn", n)
	}
	// The offline template is pending and approvable.
	e.say(t, "yes")
	if n := e.count(t, `select count(*) from public.tasks where user_id = $1`); n == 0 {
		t.Fatal("approving the offline plan wrote no tasks")
	}
}

func TestE2ESummarizesOncePerWindow(t *testing.T) {
	t.Parallel()
	fake, g := newScripted(t)
	e := newE2E(t, g, "e2e-summary@test.flux.local", "Europe/Berlin", true)
	// 24 earlier messages, one second apart.
	e.exec(t, `
		insert into public.messages (conversation_id, user_id, role, content, created_at)
		select $1, $2, (case when i % 2 = 0 then 'user' else 'assistant' end)::public.message_role, 'message ' || i,
		       flux.now() - interval '1 hour' + i * interval '1 second'
		from generate_series(1, 24) i`, e.conv, e.user)
	// They were answered long ago (as the seed marks its history).
	e.exec(t, `update flux.agent_runs set status = 'done', finished_at = flux.now() where user_id = $1`, e.user)
	fake.say("summarizer", map[string]string{"summary": "The person talked about running twice."})
	fake.say("orchestrator", routeTo(IntentNewTask, "call mom", "", "", ""))
	e.say(t, "remind me to call mom at 5pm")
	summaries := func() int {
		return e.count(t, `select count(*) from public.messages where user_id = $1 and role = 'summary'`)
	}
	if summaries() != 1 {
		t.Fatalf("%d summaries after the window overflowed, want 1", summaries())
	}
	// The next turn reads the summary and the newer half only, and does not summarize again.
	e.say(t, "remind me to water the plants at 6pm")
	if summaries() != 1 || fake.calls(0)["summarizer"] != 1 {
		t.Fatalf("%d summaries, %d summarizer calls: one window, one summary", summaries(), fake.calls(0)["summarizer"])
	}
	in, err := store.New(e.pool).LoadTurn(context.Background(), lastRun(t, e), 40, time.Hour)
	must(t, err)
	if len(in.History) == 0 || in.History[0].Role != "summary" || len(in.History) > 16 {
		t.Fatalf("history after the summary: %d messages, first %+v", len(in.History), in.History[0])
	}
	for _, m := range in.History {
		if m.Content == "message 1" || m.Content == "message 11" {
			t.Fatalf("history still holds summarized %q", m.Content)
		}
	}
}

func lastRun(t *testing.T, e *e2e) agentrun.Run {
	t.Helper()
	var r agentrun.Run
	must(t, e.pool.QueryRow(context.Background(), `select message_id::text, conversation_id::text, user_id::text, attempts
		from flux.agent_runs where user_id = $1 order by seq desc limit 1`, e.user).Scan(&r.MessageID, &r.ConversationID, &r.UserID, &r.Attempts))
	return r
}

func TestE2EOnboardingThenTheFirstRequest(t *testing.T) {
	t.Parallel()
	fake, g := newScripted(t)
	e := newE2E(t, g, "sam.rivera@example.com", "America/New_York", false)
	fake.say("orchestrator", routeTo(IntentNewTask, "call mom", "", "", ""))
	for _, answer := range []string{
		"hi",
		"I'm Sam Rivera",
		"6:30",
		"11pm",
		"9-5 weekdays",
		"morning person",
		"yes",
		"home is Elm Street, work is the office",
		"choir every Thursday at 19:30",
		"+1 (212) 555-0199",
		"yes",
	} {
		e.say(t, answer)
		if _, meta := e.lastReply(t); meta["kind"] != "question" {
			t.Fatalf("after %q: reply %v, want the next onboarding question", answer, meta)
		}
	}
	e.say(t, "remind me to call mom tomorrow at 5pm")

	var onboarded, verified bool
	var tz, phone string
	var profile map[string]any
	must(t, e.pool.QueryRow(context.Background(), `select onboarded, timezone, coalesce(phone_number, ''), phone_verified, profile
		from public.users where id = $1`, e.user).Scan(&onboarded, &tz, &phone, &verified, &profile))
	if !onboarded || tz != "America/New_York" || phone != "+12125550199" || verified {
		t.Fatalf("user: onboarded %v, tz %s, phone %q verified %v", onboarded, tz, phone, verified)
	}
	// The WhatsApp "yes" is written where flux.confirm_phone reads it; until the number is
	// verified it opts in nothing.
	if profile["whatsapp_consent"] != true || e.count(t, `select count(*) from public.users where id = $1 and whatsapp_opt_in_at is not null`) != 0 {
		t.Errorf("profile %v: want whatsapp_consent true and no opt-in before verification", profile)
	}
	if profile["name"] != "Sam Rivera" || profile["chronotype"] != "morning" ||
		!strings.Contains(mustJSONText(profile["sleep_window"]), `"start":"23:00"`) || !strings.Contains(mustJSONText(profile["work_hours"]), `"start":"09:00"`) {
		t.Errorf("profile %v", profile)
	}
	ny := mustZone("America/New_York")
	type task struct {
		Title string
		At    time.Time
	}
	tasks := collect(t, e, pgx.RowToStructByPos[task], `select title, scheduled_at from public.tasks where user_id = $1 order by scheduled_at`, e.user)
	choir, mom := 0, 0
	for _, k := range tasks {
		l := k.At.In(ny)
		switch {
		case k.Title == "Choir" && l.Weekday() == time.Thursday && l.Format("15:04") == "19:30":
			choir++
		case k.Title == "Call mom" && l.Format("15:04") == "17:00":
			mom++
		default:
			t.Errorf("unexpected task %s at %s", k.Title, l)
		}
	}
	if choir < 5 || mom != 1 {
		t.Errorf("%d choir sessions (the commitment, pre-seeded over six weeks), %d calls to mom", choir, mom)
	}
	// Only the first request went to a model, and without the person's details.
	for _, r := range fake.srv.Requests() {
		for _, m := range r.Messages {
			for _, pii := range []string{"Sam", "Rivera", "sam.rivera@example.com", "555-0199", "5550199"} {
				if strings.Contains(m.Content, pii) {
					t.Errorf("%s prompt contains %q", agentOf(r), pii)
				}
			}
		}
	}
	if got := fake.calls(0); got["orchestrator"] != 1 || len(fake.srv.Requests()) != 1 {
		t.Errorf("model calls %v: onboarding itself needs none", got)
	}
}

// The WhatsApp consent of onboarding opts in once the number is verified, whichever comes
// first: verification before the last onboarding turn (the profile write applies it) or after
// (flux.confirm_phone, the listener's verification check, applies it).
func TestE2EOnboardingWhatsAppConsentOptsInWhenVerified(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	optedIn := func(e *e2e) bool {
		return e.count(t, `select count(*) from public.users where id = $1 and whatsapp_opt_in_at is not null and phone_verified
			and not profile ? 'whatsapp_consent'`) == 1
	}
	verify := func(e *e2e) {
		t.Helper()
		// What the listener's verification endpoints do: record the send, then confirm the code.
		e.exec(t, `insert into flux.phone_verifications (user_id, phone_number) values ($1, '+12125550199')`, e.user)
		var ok bool
		if err := e.pool.QueryRow(ctx, `select flux.confirm_phone($1, '+12125550199')`, e.user).Scan(&ok); err != nil || !ok {
			t.Fatalf("confirm_phone: %v %v", ok, err)
		}
	}
	answers := []string{"hi", "Sam", "6:30", "11pm", "none", "morning person", "yes", "skip", "none", "+1 (212) 555-0199"}

	before := newE2E(t, &Graph{}, "verified-first@test.flux.local", "America/New_York", false)
	for _, a := range answers {
		before.say(t, a)
	}
	verify(before)
	if optedIn(before) {
		t.Fatal("opted in before the WhatsApp question was answered")
	}
	before.say(t, "yes")
	before.say(t, "later")
	if !optedIn(before) {
		t.Error("verified during onboarding: the consent written at the end did not opt in")
	}

	after := newE2E(t, &Graph{}, "verified-later@test.flux.local", "America/New_York", false)
	for _, a := range append(answers, "yes", "later") {
		after.say(t, a)
	}
	if optedIn(after) {
		t.Fatal("opted in without a verified number")
	}
	verify(after)
	if !optedIn(after) {
		t.Error("verified after onboarding: confirm_phone did not apply the consent")
	}
}

func mustJSONText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
