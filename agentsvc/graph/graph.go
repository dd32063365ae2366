// Package graph answers one chat turn: it reads the turn's input (store.TurnInput), routes
// the message, runs the agents it needs and returns everything the turn writes (store.Turn),
// which the listener's runner writes in one transaction. It never writes to the database, so
// a turn that fails half-way has written nothing.
//
// The graph, in plain Go (see docs/chat.md for the picture):
//   - a system message's action is answered by its node: plan_micro_goal (the sprint rule)
//     plans the next step, reschedule_task (a reminder answered "reschedule") proposes the next
//     free slot for a yes;
//   - users not onboarded talk to onboarding (package onboarding, deterministic);
//   - a reply to something pending is settled without a model when it is unambiguous: the
//     approve_plan button, a short yes or no to a plan or a proposed move, a time for a
//     reminder that was missing one;
//   - otherwise the orchestrator (a model) picks one of five intents: GOAL goes to the goal
//     planner, which consults the classifier (a model), the pattern observer and the slot
//     finder (both deterministic) concurrently and then places the plan's tasks with the slot
//     finder; NEW_TASK to the task handler (the time-expression parser); RESCHEDULE_TASK to
//     reschedule (slot finder, confirmed before anything moves); MODIFY_GOAL to the planner
//     with the goal's plan (swapped only on approval); CLARIFY asks one question;
//   - the summarizer folds the older half of a long conversation into one summary message,
//     concurrently with the rest of the turn.
//
// Without a model (no OpenRouter key, or the provider still failing after retries and
// fallbacks) the deterministic path answers: reminders through the time-expression parser,
// one clarifying question when a time is missing, and template plans for goals. Its replies
// say they were made without the AI planner (in their text and in metadata "offline": true).
package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/flux-companion/flux/agentsvc/llm"
	"github.com/flux-companion/flux/agentsvc/onboarding"
	"github.com/flux-companion/flux/agentsvc/plan"
	"github.com/flux-companion/flux/sql/store"
)

// OfflineNote ends every reply of the deterministic path.
const OfflineNote = "(Made without the AI planner.)"

// Horizon is how far recurring reminders are materialized: one sprint.
const Horizon = 6 * 7 * 24 * time.Hour

// MaxActiveGoals is SPEC.md's cap; the database enforces it too.
const MaxActiveGoals = 3

// Monthly token limits of SPEC.md: past the soft one replies carry a warning, past the hard
// one the orchestrator and planner use the small model.
const (
	SoftTokenLimit = 500_000
	HardTokenLimit = 1_000_000
)

// Graph answers chat turns (it implements the listener's chat.Agent). The zero value (no
// LLM) answers with the deterministic path only.
type Graph struct {
	LLM *llm.Client
	Log *slog.Logger
}

// State is a conversation's agent state between turns (flux.agent_state).
type State struct {
	PendingPlan       *PendingPlan       `json:"pending_plan,omitempty"`
	PendingTask       *PendingTask       `json:"pending_task,omitempty"`
	PendingReschedule *PendingReschedule `json:"pending_reschedule,omitempty"`
	Onboarding        *onboarding.State  `json:"onboarding,omitempty"`
}

// PendingPlan is a plan proposed and waiting for approval.
type PendingPlan struct {
	Plan    plan.Plan `json:"plan"`
	Start   string    `json:"start"` // the user-local date its sprint starts, YYYY-MM-DD
	Offline bool      `json:"offline"`
	// GoalID is the active goal this plan replaces (goal modifier); "" for a new goal.
	GoalID string `json:"goal_id,omitempty"`
	// Sprint is the pipeline order of the micro-goal this plan is the first plan of (the
	// sprint rule activated it); 0 otherwise.
	Sprint int `json:"sprint,omitempty"`
}

// PendingTask is a reminder waiting for its time (the clarifying question was asked).
type PendingTask struct {
	Title string `json:"title"`
}

// PendingReschedule is a proposed move of a task, waiting for confirmation.
type PendingReschedule struct {
	TaskID string    `json:"task_id"`
	Title  string    `json:"title"`
	At     time.Time `json:"at"` // the proposed time, UTC
}

// Turn answers one message.
func (g *Graph) Turn(ctx context.Context, run store.AgentRun, in store.TurnInput) (store.Turn, error) {
	loc, err := time.LoadLocation(in.Timezone)
	if err != nil {
		return store.Turn{}, fmt.Errorf("graph: user timezone %q: %w", in.Timezone, err)
	}
	t := &turn{g: g, run: run, in: in, loc: loc, log: g.logger().With("run", run.MessageID), trace: newTracer()}
	if len(in.State) > 0 {
		// Lenient: older turns may have stored fields this version no longer uses.
		if err := json.Unmarshal(in.State, &t.state); err != nil {
			return store.Turn{}, fmt.Errorf("graph: agent state: %w", err)
		}
	}
	_ = json.Unmarshal(in.Profile, &t.profile) // the profile CHECK guarantees an object; missing fields are fine
	t.redact = newRedactor(in.Email, in.Phone, t.profile.Name)
	t.small = in.TokensThisMonth >= HardTokenLimit

	var summary sync.WaitGroup
	if g.LLM != nil && in.Onboarded {
		summary.Go(func() { t.summarize(ctx) })
	}
	switch {
	case in.Action == ActionPlanMicroGoal:
		err = t.planMicroGoal(ctx)
	case in.Action == ActionRescheduleTask:
		err = t.rescheduleTask()
	case in.Onboarded:
		err = t.answer(ctx, in.Content)
	default:
		err = t.onboard(ctx)
	}
	summary.Wait()
	if err != nil {
		return store.Turn{}, err
	}
	t.tokenWarning()
	t.chargeReplies()
	if t.out.State, err = json.Marshal(t.state); err != nil {
		return store.Turn{}, fmt.Errorf("graph: agent state: %w", err)
	}
	if t.out.Trace, err = t.trace.json(); err != nil {
		return store.Turn{}, fmt.Errorf("graph: trace: %w", err)
	}
	return t.out, nil
}

func (g *Graph) logger() *slog.Logger {
	if g.Log != nil {
		return g.Log
	}
	return slog.Default()
}

// answer answers an onboarded user's message.
func (t *turn) answer(ctx context.Context, text string) error {
	text = strings.TrimSpace(text)
	if done, err := t.settlePending(text); done || err != nil {
		return err
	}
	if t.g.LLM == nil {
		t.offline = true
		return t.offlineRoute(text)
	}
	before, state := t.snapshot()
	err := t.modelRoute(ctx, text)
	if err == nil || !(errors.Is(err, llm.ErrUnavailable) || errors.Is(err, llm.ErrInvalidAnswer)) {
		return err
	}
	// The models failed after their retries and fallbacks: nothing the model path prepared
	// is kept (a half-made plan must not be written); the deterministic path answers.
	t.log.WarnContext(ctx, "model path failed; answering offline", "error", err)
	t.restore(before, state)
	t.offline = true
	t.fallback = true
	return t.offlineRoute(text)
}

// settlePending settles a reply to something pending without a model, when the reply is
// unambiguous. done is false when the message needs routing.
func (t *turn) settlePending(text string) (done bool, err error) {
	st := &t.state
	switch {
	case t.in.Action == "approve_plan":
		// The button: never a model's guess.
		if st.PendingPlan == nil {
			t.offline = t.g.LLM == nil
			t.reply("There is no plan waiting for approval.", "approval", map[string]any{"kind": "notice"})
			return true, nil
		}
		return true, t.approve()
	case st.PendingPlan != nil && isApproval(text):
		return true, t.approve()
	case st.PendingPlan != nil && noRe.MatchString(text) && isShort(text):
		t.offline = st.PendingPlan.Offline
		title := st.PendingPlan.Plan.GoalTitle
		st.PendingPlan = nil
		t.reply(fmt.Sprintf("Okay, I dropped the plan for “%s”. Nothing was scheduled.", title), "goal_planner",
			map[string]any{"kind": "plan_dropped"})
		return true, nil
	case st.PendingReschedule != nil && !st.PendingReschedule.At.IsZero() && isApproval(text):
		return true, t.applyReschedule()
	case st.PendingReschedule != nil && noRe.MatchString(text) && isShort(text):
		st.PendingReschedule = nil
		t.offline = t.g.LLM == nil
		t.reply("Okay, it stays where it was.", "reschedule", map[string]any{"kind": "notice"})
		return true, nil
	case st.PendingTask != nil && noRe.MatchString(text) && isShort(text):
		st.PendingTask = nil
		t.offline = t.g.LLM == nil
		t.reply("Okay, no reminder.", "task_handler", map[string]any{"kind": "notice"})
		return true, nil
	}
	if st.PendingReschedule != nil {
		if p := t.parse(text); p.HasTime && p.RRule == "" {
			return true, t.proposeReschedule(st.PendingReschedule.TaskID, p.At)
		}
	}
	if st.PendingTask != nil {
		if p := t.parse(text); p.HasTime {
			title := st.PendingTask.Title
			st.PendingTask = nil
			t.offline = t.g.LLM == nil
			return true, t.createTask(title, p)
		}
	}
	return false, nil
}

// isShort: a bare yes or no, not a sentence that starts with one ("no, make it evenings").
func isShort(text string) bool {
	return len(strings.Fields(text)) <= 4 && !strings.ContainsAny(text, ",;?")
}
