package graph

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flux-companion/flux/agentsvc/agentrun"
	"github.com/flux-companion/flux/agentsvc/llm"
	"github.com/flux-companion/flux/agentsvc/llmfake"
	"github.com/flux-companion/flux/agentsvc/plan"
)

// The person of the model tests. Their name, email and phone must never reach a prompt.
const (
	personName  = "Alexandra Quintessa"
	personEmail = "alexandra.q@example.com"
	personPhone = "+4917012345678"
)

var berlin = mustZone("Europe/Berlin")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// agentOf names the agent a request is for, by its system prompt.
func agentOf(req llmfake.Request) string {
	if len(req.Messages) == 0 {
		return ""
	}
	return AgentOf(req.Messages[0].Content)
}

// scripted is a fake LLM that answers each agent from its own queue (the last answer
// repeats), so tests read as "the orchestrator says X, the planner says Y".
type scripted struct {
	srv     *llmfake.Server
	mu      sync.Mutex
	answers map[string][]llmfake.Reply
}

func newScripted(t *testing.T) (*scripted, *Graph) {
	t.Helper()
	srv, err := llmfake.Start()
	must(t, err)
	t.Cleanup(srv.Close)
	s := &scripted{srv: srv, answers: map[string][]llmfake.Reply{}}
	srv.Script(func(req llmfake.Request) llmfake.Reply {
		s.mu.Lock()
		defer s.mu.Unlock()
		q := s.answers[agentOf(req)]
		switch len(q) {
		case 0:
			return llmfake.Reply{Status: 500, Content: "no answer scripted for " + agentOf(req)}
		case 1:
			return q[0]
		}
		s.answers[agentOf(req)] = q[1:]
		return q[0]
	})
	client := llm.New(llm.Config{APIKey: "test-key", BaseURL: srv.URL(), Backoff: time.Millisecond,
		MaxRetryWait: 10 * time.Millisecond, Timeout: 5 * time.Second, Logger: quiet})
	return s, &Graph{LLM: client, Log: quiet}
}

// say scripts an agent's answers: strings are sent as they are, anything else as JSON.
func (s *scripted) say(agent string, answers ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[agent] = nil
	for _, a := range answers {
		switch v := a.(type) {
		case llmfake.Reply:
			s.answers[agent] = append(s.answers[agent], v)
		case string:
			s.answers[agent] = append(s.answers[agent], llmfake.Reply{Content: v})
		default:
			b, err := json.Marshal(v)
			if err != nil {
				panic(err)
			}
			s.answers[agent] = append(s.answers[agent], llmfake.Reply{Content: string(b)})
		}
	}
}

// goal scripts a goal turn: the orchestrator routes payload as GOAL, the classifier and the
// planner answer as say sends them.
func (s *scripted) goal(payload string, classifier, planner any) {
	s.say("orchestrator", routeTo(IntentGoal, payload, "", "", ""))
	s.say("classifier", classifier)
	s.say("planner", planner)
}

// tagged is the classifier's answer.
func tagged(t ...string) map[string]any { return map[string]any{"tags": t} }

// calls counts the requests per agent since the last reset.
func (s *scripted) calls(from int) map[string]int {
	out := map[string]int{}
	for _, r := range s.srv.Requests()[from:] {
		out[agentOf(r)]++
	}
	return out
}

func routeTo(intent, payload, question, task, goal string) route {
	return route{Intent: intent, Payload: payload, ClarificationQuestion: question, TaskID: task, GoalID: goal}
}

// runPlan is a valid 6-week plan the planner fake answers with.
func runPlan(at string) plan.Plan {
	return plan.Plan{
		GoalTitle: "Run a 5K", GoalDescription: "From the sofa to a 5K run.", Tags: []string{"Health"},
		FeasibleIn6Weeks: true, MicroGoalRoadmap: []plan.MicroGoal{},
		ProposedTasks: []plan.ProposedTask{
			{Title: "Walk-run intervals", ScheduledDays: []string{"Tue", "Sat"}, SuggestedTime: at, DurationMinutes: 20, WeekRange: []int{1, 2}},
			{Title: "Easy run", ScheduledDays: []string{"Tue", "Thu", "Sat"}, SuggestedTime: at, DurationMinutes: 30, WeekRange: []int{3, 6}},
		},
		ConflictsDetected: []plan.Conflict{}, PlanSummary: "Two gentle weeks, then three easy runs a week.",
		ApprovalStatus: plan.StatusPending,
	}
}

// marathonPlan is runPlan for a goal longer than one sprint: a six-week micro-goal per step.
func marathonPlan(at string, steps ...string) plan.Plan {
	p := runPlan(at)
	p.GoalTitle, p.FeasibleIn6Weeks = "Run a marathon", false
	for i, s := range steps {
		p.MicroGoalRoadmap = append(p.MicroGoalRoadmap, plan.MicroGoal{Title: s, PipelineOrder: i + 1, TargetWeeks: 6})
	}
	return p
}

// person is an onboarded Berlin user on Wednesday 25 November 2026, 09:00, with a dentist
// appointment tomorrow at 07:00 and one active goal.
func person(content string) agentrun.Input {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, berlin)
	return agentrun.Input{
		Content: content, Timezone: "Europe/Berlin", Onboarded: true, Now: now,
		Profile: json.RawMessage(`{"name": "` + personName + `", "chronotype": "morning",
			"sleep_window": {"start": "23:00", "end": "06:30"}, "work_hours": {"start": "09:00", "end": "17:00"}}`),
		Email: personEmail, Phone: personPhone,
		Calendar: []agentrun.BookedTask{{ID: "00000000-0000-4000-8000-0000000000d1", Title: "Dentist", Status: "pending",
			ScheduledAt: time.Date(2026, 11, 26, 7, 0, 0, 0, berlin).UTC(), DurationMinutes: 45}},
		Goals: []agentrun.GoalRef{{ID: "00000000-0000-4000-8000-0000000000a1", Title: "Read more", Status: "active",
			Tags: []string{"Learning"}, Plan: json.RawMessage(`{"goal_title": "Read more"}`)}},
		ActiveGoals: 1,
	}
}

// next runs a turn and carries its state into the following input.
func next(t *testing.T, g *Graph, in agentrun.Input) agentrun.Output {
	t.Helper()
	out, err := g.Turn(context.Background(), agentrun.Run{MessageID: "m"}, in)
	if err != nil {
		t.Fatalf("%q: %v", in.Content, err)
	}
	return out
}

func follow(in agentrun.Input, prev agentrun.Output, content string) agentrun.Input {
	in.Content, in.Action, in.State = content, "", prev.State
	return in
}

// must fails the test at once on an error.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func meta(t *testing.T, r agentrun.Reply) map[string]any {
	t.Helper()
	var m map[string]any
	must(t, json.Unmarshal(r.Metadata, &m))
	return m
}

func lastReply(t *testing.T, out agentrun.Output) agentrun.Reply {
	t.Helper()
	for i := len(out.Replies) - 1; i >= 0; i-- {
		if out.Replies[i].Role != "summary" {
			return out.Replies[i]
		}
	}
	t.Fatalf("no reply in %+v", out)
	return agentrun.Reply{}
}

func hasState(out agentrun.Output, key string) bool {
	return strings.Contains(string(out.State), `"`+key+`"`)
}
