package graph

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flux-companion/flux/agentsvc/agentrun"
	"github.com/flux-companion/flux/agentsvc/llm"
	"github.com/flux-companion/flux/agentsvc/llmfake"
	"github.com/flux-companion/flux/agentsvc/plan"
)

const dentist = "00000000-0000-4000-8000-0000000000d1"
const readMore = "00000000-0000-4000-8000-0000000000a1"

func TestGoalIntentPlansWithThreeCallsAndClassifierTags(t *testing.T) {
	t.Parallel()
	fake, g := newScripted(t)
	p := runPlan("07:00")
	p.ProposedTasks[0].ScheduledDays = []string{"Tue", "Thu", "Sat"} // Thursday 07:00 is the dentist's
	fake.goal("run a 5K", tagged("Fitness", "Health"), p)

	out := next(t, g, person("I want to run a 5K"))
	if got := fake.calls(0); got["orchestrator"] != 1 || got["classifier"] != 1 || got["planner"] != 1 || len(fake.srv.Requests()) != 3 {
		t.Fatalf("a plan turn made calls %v, want orchestrator, classifier and planner once each", got)
	}
	if len(out.Goals)+len(out.Tasks) != 0 || !hasState(out, "pending_plan") {
		t.Fatalf("a proposal writes nothing but its state: %d goals, %d tasks, state %s", len(out.Goals), len(out.Tasks), out.State)
	}
	r := lastReply(t, out)
	m := meta(t, r)
	if m["kind"] != "plan" || m["offline"] != nil || !strings.Contains(r.Content, "Two gentle weeks") {
		t.Fatalf("reply %q meta %v: want the planner's plan card", r.Content, m)
	}
	var st State
	_ = json.Unmarshal(out.State, &st)
	if !slices.Equal(st.PendingPlan.Plan.Tags, []string{"Fitness", "Health"}) {
		t.Errorf("tags %v: the classifier's tags win over the planner's", st.PendingPlan.Plan.Tags)
	}
	if st.PendingPlan.Start != "2026-11-26" {
		t.Errorf("sprint starts %s, want tomorrow 2026-11-26", st.PendingPlan.Start)
	}
	// The dentist sits at 07:00 tomorrow (Thursday, week 1): the slot finder moves the
	// walk-run sessions away from it and says so; the easy runs (weeks 3-6) keep 07:00.
	got := st.PendingPlan.Plan
	if got.ProposedTasks[0].SuggestedTime == "07:00" || got.ProposedTasks[1].SuggestedTime != "07:00" {
		t.Errorf("times %s and %s: want the first moved off the dentist, the second kept",
			got.ProposedTasks[0].SuggestedTime, got.ProposedTasks[1].SuggestedTime)
	}
	if len(got.ConflictsDetected) == 0 || got.ConflictsDetected[0].ExistingTaskTitle != "Dentist" {
		t.Errorf("conflicts %+v: want the dentist named", got.ConflictsDetected)
	}
	if out.Tokens["openai/gpt-4o"] == 0 || out.Tokens["anthropic/claude-sonnet-4"] == 0 || out.Tokens["openai/gpt-4o-mini"] == 0 {
		t.Errorf("tokens per model %v: every call is counted", out.Tokens)
	}
	if total := out.Tokens["openai/gpt-4o"] + out.Tokens["anthropic/claude-sonnet-4"] + out.Tokens["openai/gpt-4o-mini"]; r.Tokens != total || r.Provider == "" {
		t.Errorf("the plan card records %d tokens from %q; the turn spent %d", r.Tokens, r.Provider, total)
	}
}

func TestNewTaskIntent(t *testing.T) {
	t.Parallel()
	fake, g := newScripted(t)
	fake.say("orchestrator", routeTo(IntentNewTask, "call mom", "", "", ""))
	out := next(t, g, person("remind me to call mom at 5pm"))
	if len(out.Tasks) != 1 || out.Tasks[0].ScheduledAt.In(berlin).Format("2006-01-02 15:04") != "2026-11-25 17:00" {
		t.Fatalf("tasks %+v: want one at 17:00 Berlin today", out.Tasks)
	}
	if r := lastReply(t, out); meta(t, r)["offline"] != nil || strings.Contains(r.Content, OfflineNote) {
		t.Errorf("a model-routed reply is not labelled offline: %q", r.Content)
	}
	// The orchestrator wrongly says NEW_TASK without a time: the graph asks, never guesses.
	fake.say("orchestrator", routeTo(IntentNewTask, "call mom", "", "", ""))
	asked := next(t, g, person("remind me to call mom"))
	if len(asked.Tasks) != 0 || !hasState(asked, "pending_task") || meta(t, lastReply(t, asked))["kind"] != "question" {
		t.Fatalf("no time: %d tasks, state %s", len(asked.Tasks), asked.State)
	}
	// The answer needs no model.
	before := len(fake.srv.Requests())
	done := next(t, g, follow(person(""), asked, "at 18:30"))
	if len(done.Tasks) != 1 || done.Tasks[0].Title != "Call mom" || len(fake.srv.Requests()) != before {
		t.Fatalf("the time answer: tasks %+v, %d model calls", done.Tasks, len(fake.srv.Requests())-before)
	}
}

func TestRescheduleProposesAFreeSlotAndMovesOnlyOnConfirmation(t *testing.T) {
	t.Parallel()
	fake, g := newScripted(t)
	in := person("move the dentist to tomorrow at 8")
	// Something else already sits at 08:00 tomorrow.
	in.Calendar = append(in.Calendar, in.Calendar[0])
	in.Calendar[1].ID, in.Calendar[1].Title = "00000000-0000-4000-8000-0000000000d2", "Standup"
	in.Calendar[1].ScheduledAt = time.Date(2026, 11, 26, 8, 0, 0, 0, berlin).UTC()
	fake.say("orchestrator", routeTo(IntentReschedule, "tomorrow at 8", "", dentist, ""))
	proposed := next(t, g, in)
	if len(proposed.Reschedules) != 0 || !hasState(proposed, "pending_reschedule") {
		t.Fatalf("a proposal moves nothing: %+v", proposed)
	}
	m := meta(t, lastReply(t, proposed))
	at, _ := time.Parse(time.RFC3339, fmt.Sprint(m["proposed_at"]))
	// 08:00 is taken (standup 30 min + 15 min buffer before and after; dentist is the task moved).
	if local := at.In(berlin); local.Format("2006-01-02") != "2026-11-26" || local.Hour() < 8 || local.Equal(time.Date(2026, 11, 26, 8, 0, 0, 0, berlin)) {
		t.Fatalf("proposed %s: want a free time tomorrow after the standup", local)
	}
	if !strings.Contains(lastReply(t, proposed).Content, "Standup") {
		t.Errorf("reply %q: says what took the time", lastReply(t, proposed).Content)
	}
	before := len(fake.srv.Requests())
	confirmed := next(t, g, follow(in, proposed, "yes"))
	if len(confirmed.Reschedules) != 1 || confirmed.Reschedules[0].TaskID != dentist || !confirmed.Reschedules[0].At.Equal(at) {
		t.Fatalf("confirmation: %+v, want the dentist moved to %s", confirmed.Reschedules, at)
	}
	if len(fake.srv.Requests()) != before || hasState(confirmed, "pending_reschedule") {
		t.Error("a yes is settled without a model and clears the proposal")
	}
}

func TestRescheduleWithoutTimeAsksAndOffersTheNextFreeSlot(t *testing.T) {
	t.Parallel()
	fake, g := newScripted(t)
	fake.say("orchestrator", routeTo(IntentClarify, "", "When should I move the dentist?", dentist, ""))
	out := next(t, g, person("move the dentist"))
	r := lastReply(t, out)
	if len(out.Reschedules) != 0 || meta(t, r)["kind"] != "question" || !strings.Contains(r.Content, "next free time") {
		t.Fatalf("reply %q: want one question that offers the next free time", r.Content)
	}
	// Naming another time proposes that one.
	fake.say("orchestrator") // no model call expected: a time answers the question
	again := next(t, g, follow(person(""), out, "friday at 18:00"))
	at, _ := time.Parse(time.RFC3339, fmt.Sprint(meta(t, lastReply(t, again))["proposed_at"]))
	if at.In(berlin).Format("Mon 15:04") != "Fri 18:00" {
		t.Fatalf("proposed %s, want Friday 18:00", at.In(berlin))
	}
}

func TestModifyGoalSwapsOnlyOnApproval(t *testing.T) {
	t.Parallel()
	fake, g := newScripted(t)
	fake.say("orchestrator", routeTo(IntentModifyGoal, "read in the evening instead", "", "", readMore))
	p := runPlan("20:00")
	p.GoalTitle, p.Tags = "Read more", []string{"Learning"}
	fake.say("planner", p)
	proposed := next(t, g, person("can I do my reading in the evenings?"))
	if got := fake.calls(0); got["classifier"] != 0 || got["planner"] != 1 {
		t.Errorf("calls %v: modifying a goal needs no classifier", got)
	}
	if len(proposed.PlanSwaps)+len(proposed.Tasks) != 0 {
		t.Fatal("the new plan is only proposed")
	}
	approved := next(t, g, follow(person(""), proposed, "approve"))
	if len(approved.PlanSwaps) != 1 || approved.PlanSwaps[0].GoalID != readMore || len(approved.Goals) != 0 {
		t.Fatalf("approval: swaps %+v, goals %d", approved.PlanSwaps, len(approved.Goals))
	}
	for _, k := range approved.Tasks {
		if k.GoalID != readMore || k.ScheduledAt.In(berlin).Format("15:04") != "20:00" {
			t.Fatalf("task %+v: the new tasks belong to the goal, at 20:00", k)
		}
	}
}

func TestClarify(t *testing.T) {
	t.Parallel()
	fake, g := newScripted(t)
	fake.say("orchestrator", routeTo(IntentClarify, "", "Do you mean a one-off reminder or a habit to build?", "", ""))
	out := next(t, g, person("exercise"))
	if r := lastReply(t, out); r.Content != "Do you mean a one-off reminder or a habit to build?" || len(out.Tasks) != 0 {
		t.Fatalf("reply %q", r.Content)
	}
}

func TestNegotiationThenApprovalWritesTheLastProposal(t *testing.T) {
	t.Parallel()
	fake, g := newScripted(t)
	fake.goal("run a 5K", tagged("Fitness"), runPlan("07:00"))
	first := next(t, g, person("I want to run a 5K"))

	evening := runPlan("19:00")
	evening.ApprovalStatus = plan.StatusNegotiating
	fake.say("orchestrator", routeTo(IntentGoal, "evenings instead", "", "", ""))
	fake.say("planner", evening)
	from := len(fake.srv.Requests())
	second := next(t, g, follow(person(""), first, "no, make it evenings please"))
	if got := fake.calls(from); got["classifier"] != 0 || got["planner"] != 1 || len(second.Tasks) != 0 {
		t.Fatalf("negotiation: calls %v, %d tasks", got, len(second.Tasks))
	}
	// "sounds right, let's go with that" is not a bare yes: the planner reads it as approval,
	// and what is written is exactly the pending (evening) plan.
	wrong := runPlan("05:00")
	wrong.ApprovalStatus = plan.StatusApproved
	fake.say("orchestrator", routeTo(IntentGoal, "accepts the plan", "", "", ""))
	fake.say("planner", wrong)
	third := next(t, g, follow(person(""), second, "sounds right, let's go with that one"))
	if len(third.Goals) != 1 || len(third.Tasks) == 0 {
		t.Fatalf("approval wrote %d goals, %d tasks", len(third.Goals), len(third.Tasks))
	}
	for _, k := range third.Tasks {
		if k.ScheduledAt.In(berlin).Format("15:04") != "19:00" {
			t.Fatalf("task at %s: the approved plan is the evening one", k.ScheduledAt.In(berlin))
		}
	}
	if !slices.Equal(third.Goals[0].Tags, []string{"Fitness"}) {
		t.Errorf("goal tags %v", third.Goals[0].Tags)
	}
}

func TestButtonApprovalNeedsNoModel(t *testing.T) {
	t.Parallel()
	fake, g := newScripted(t)
	fake.goal("run a 5K", tagged("Fitness"), runPlan("07:00"))
	proposed := next(t, g, person("I want to run a 5K"))
	before := len(fake.srv.Requests())
	in := follow(person(""), proposed, "Approve the plan")
	in.Action = "approve_plan"
	approved := next(t, g, in)
	if len(fake.srv.Requests()) != before {
		t.Error("the button made a model call")
	}
	if len(approved.Goals) != 1 || len(approved.Tasks) != 2*2+3*4 {
		t.Fatalf("approval: %d goals, %d tasks; want 1 goal and 16 tasks", len(approved.Goals), len(approved.Tasks))
	}
}

func TestLongGoalBecomesALinkedPipeline(t *testing.T) {
	t.Parallel()
	fake, g := newScripted(t)
	fake.goal("run a marathon", tagged("Fitness"), marathonPlan("07:00", "Run 5K", "Run 10K", "Half marathon"))
	proposed := next(t, g, person("I want to run a marathon"))
	if len(proposed.Goals) != 0 || !strings.Contains(lastReply(t, proposed).Content, "3 six-week steps") {
		t.Fatalf("proposal: %d goals, reply %q", len(proposed.Goals), lastReply(t, proposed).Content)
	}
	out := next(t, g, follow(person(""), proposed, "yes"))
	if len(out.Goals) != 4 {
		t.Fatalf("goals %+v: want the umbrella and three micro-goals", out.Goals)
	}
	umbrella := out.Goals[0]
	if umbrella.Status != "active" || umbrella.ParentID != "" || umbrella.TargetWeeks != 18 {
		t.Errorf("umbrella %+v", umbrella)
	}
	for i, m := range out.Goals[1:] {
		want := "pipeline"
		if i == 0 {
			want = "active"
		}
		if m.ParentID != umbrella.ID || m.PipelineOrder != i+1 || m.Status != want {
			t.Errorf("micro-goal %d: %+v, want parent %s, order %d, %s", i, m, umbrella.ID, i+1, want)
		}
	}
	for _, k := range out.Tasks {
		if k.GoalID != out.Goals[1].ID {
			t.Fatalf("task %+v: the sprint's tasks belong to the first micro-goal", k)
		}
	}
}

func TestInvalidAnswersAreCorrectedWithTheirError(t *testing.T) {
	t.Parallel()
	fake, g := newScripted(t)
	bad := runPlan("07:00")
	bad.ProposedTasks[0].RecurrenceRule = "FREQ=FORTNIGHTLY"
	fake.say("orchestrator", `{"intent": "GOAL", "payload": "run"`, // malformed JSON
		routeTo("PLAN", "run a 5K", "", "", ""), // wrong enum
		routeTo(IntentGoal, "run a 5K", "", "", ""))
	fake.say("classifier", tagged("Sports"), tagged("Fitness"))
	fake.say("planner", bad, runPlan("07:00"))
	out := next(t, g, person("I want to run a 5K"))
	if !hasState(out, "pending_plan") {
		t.Fatalf("state %s: the corrected answers make a plan", out.State)
	}
	corrections := map[string][]string{}
	for _, r := range fake.srv.Requests() {
		if len(r.Messages) > 2 {
			corrections[agentOf(r)] = append(corrections[agentOf(r)], r.Messages[len(r.Messages)-1].Content)
		}
	}
	for agent, want := range map[string]string{"orchestrator": `"PLAN"`, "classifier": `"Sports" is not in the taxonomy`, "planner": "recurrence_rule"} {
		if !slices.ContainsFunc(corrections[agent], func(c string) bool { return strings.Contains(c, want) }) {
			t.Errorf("%s corrections %q: want one quoting %s", agent, corrections[agent], want)
		}
	}
	if got := fake.calls(0); got["orchestrator"] != 3 || got["classifier"] != 2 || got["planner"] != 2 {
		t.Errorf("calls %v", got)
	}
}

func TestProviderDownFallsBackOfflineWithoutPartialWrites(t *testing.T) {
	t.Parallel()
	fake, g := newScripted(t)
	// The orchestrator answers; then every planner call fails on both models.
	fake.goal("run a 5K", tagged("Fitness"), llmfake.Reply{Status: 503})
	out := next(t, g, person("I want to run a 5K"))
	r := lastReply(t, out)
	if !strings.HasPrefix(r.Content, "The AI planner is unavailable right now") || !strings.HasSuffix(r.Content, OfflineNote) {
		t.Fatalf("reply %q: want the offline template, labelled", r.Content)
	}
	if len(out.Goals)+len(out.Tasks) != 0 || len(out.Replies) != 1 {
		t.Fatalf("fallback wrote %d goals, %d tasks, %d replies", len(out.Goals), len(out.Tasks), len(out.Replies))
	}
	var st State
	_ = json.Unmarshal(out.State, &st)
	if st.PendingPlan == nil || !st.PendingPlan.Offline {
		t.Fatalf("state %s: want the offline template pending", out.State)
	}
	models := map[string]bool{}
	for _, req := range fake.srv.Requests() {
		if agentOf(req) == "planner" {
			models[req.Model] = true
		}
	}
	if !models[llm.ModelClaudeSonnet4] || !models[llm.ModelGPT4o] {
		t.Errorf("planner models tried %v: want the primary and its fallback", models)
	}
	// Everything down, a reminder: the parser still answers.
	fake.say("orchestrator", llmfake.Reply{Status: 500})
	rem := next(t, g, person("remind me to call mom at 5pm"))
	if len(rem.Tasks) != 1 || !strings.HasSuffix(lastReply(t, rem).Content, OfflineNote) {
		t.Fatalf("reminder offline: %+v", rem)
	}
}

func TestConsultationsRunConcurrently(t *testing.T) {
	t.Parallel()
	fake, g := newScripted(t)
	slow := func(v any) llmfake.Reply {
		b, _ := json.Marshal(v)
		return llmfake.Reply{Content: string(b), Delay: 150 * time.Millisecond}
	}
	fake.goal("run a 5K", slow(tagged("Fitness")), slow(runPlan("07:00")))
	out := next(t, g, person("I want to run a 5K"))
	if n := fake.srv.InFlightMax(); n < 2 {
		t.Errorf("at most %d model calls in flight at the fake; the classifier and planner should overlap", n)
	}
	var trace struct{ Spans []Span }
	must(t, json.Unmarshal(out.Trace, &trace))
	spans := map[string]Span{}
	for _, s := range trace.Spans {
		spans[s.Node] = s
	}
	c, p := spans["classifier"], spans["goal_planner"]
	for _, node := range []string{"pattern_observer", "slot_finder", "goal_planner"} {
		s := spans[node]
		if s.StartMS >= c.EndMS || s.EndMS <= c.StartMS {
			t.Errorf("%s [%v, %v] does not overlap the classifier [%v, %v]", node, s.StartMS, s.EndMS, c.StartMS, c.EndMS)
		}
	}
	if p.Model != llm.ModelClaudeSonnet4 || p.Tokens == 0 || p.Prompt != "goal_planner.md" {
		t.Errorf("planner span %+v: model, prompt and tokens are traced", p)
	}
}

func TestNoPersonalDataInPrompts(t *testing.T) {
	t.Parallel()
	fake, g := newScripted(t)
	fake.goal("run a 5K", tagged("Fitness"), runPlan("07:00"))
	in := person("Hi, it's Alexandra (alexandra.q@example.com, +49 170 1234 5678). I want to run a 5K")
	in.History = []agentrun.HistoryMessage{{Role: "user", Content: "My name is " + personName}, {Role: "assistant", Content: "Nice to meet you, Alexandra!"}}
	next(t, g, in)
	for _, r := range fake.srv.Requests() {
		for _, m := range r.Messages {
			for _, pii := range []string{"Alexandra", "Quintessa", personEmail, "12345678", "1234 5678"} {
				if strings.Contains(strings.ToLower(m.Content), strings.ToLower(pii)) {
					t.Errorf("%s prompt contains %q", agentOf(r), pii)
				}
			}
		}
	}
}

func TestTokenLimits(t *testing.T) {
	t.Parallel()
	fake, g := newScripted(t)
	fake.say("orchestrator", routeTo(IntentNewTask, "call mom", "", "", ""))
	in := person("remind me to call mom at 5pm")
	in.TokensThisMonth = 600_000
	out := next(t, g, in)
	if r := lastReply(t, out); !strings.Contains(r.Content, "Heads-up") || meta(t, r)["token_warning"] == nil {
		t.Errorf("past the soft limit: reply %q carries no warning", r.Content)
	}
	if m := fake.srv.Requests()[0].Model; m != llm.ModelGPT4o {
		t.Errorf("under the hard limit the orchestrator uses %s", m)
	}
	in.TokensThisMonth = 1_200_000
	from := len(fake.srv.Requests())
	next(t, g, in)
	if m := fake.srv.Requests()[from].Model; m != llm.ModelGPT4oMini {
		t.Errorf("past the hard limit the orchestrator uses %s, want %s", m, llm.ModelGPT4oMini)
	}
	in.TokensThisMonth = 1000
	quiet := next(t, g, in)
	if strings.Contains(lastReply(t, quiet).Content, "Heads-up") {
		t.Error("a warning under the soft limit")
	}
}
