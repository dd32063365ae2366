// Package graph answers one chat turn: it reads the turn's input (agentrun.Input), routes
// the message, runs the agents it needs and returns everything the turn writes (agentrun.Output),
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
// a correction instead of a row for a time that is over or does not exist, one clarifying
// question when a time is missing, moves and cancellations of an upcoming task found by its
// title (proposed, and written only on a yes), the agenda of a day, and template plans for
// goals. testdata/nlu_corpus.json is what it must read right (EvaluateCorpus, flux bench nlu).
// Its replies say they were made without the AI planner (in their text and in metadata
// "offline": true).
package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flux-companion/flux/agentsvc/agentrun"
	"github.com/flux-companion/flux/agentsvc/llm"
	"github.com/flux-companion/flux/agentsvc/onboarding"
	"github.com/flux-companion/flux/agentsvc/plan"
	"github.com/flux-companion/flux/agentsvc/timeparse"
	"github.com/flux-companion/flux/agentsvc/yesno"
)

// OfflineNote ends every reply of the deterministic path.
const OfflineNote = "(Made without the AI planner.)"

// Horizon is how far recurring reminders are materialized: one sprint.
const Horizon = 6 * 7 * 24 * time.Hour

// MaxActiveGoals is the product's cap (docs/product.md); the database enforces it too.
const MaxActiveGoals = 3

// Monthly token limits of the product (docs/product.md): past the soft one replies carry a warning, past the hard
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
	PendingCancel     *PendingCancel     `json:"pending_cancel,omitempty"`
	Onboarding        *onboarding.State  `json:"onboarding,omitempty"`
}

// clone is a deep copy of the state.
func (s State) clone() State {
	s.PendingTask, s.PendingReschedule, s.PendingCancel = clonePtr(s.PendingTask), clonePtr(s.PendingReschedule), clonePtr(s.PendingCancel)
	if s.PendingPlan != nil {
		s.PendingPlan = clonePtr(s.PendingPlan)
		s.PendingPlan.Plan = s.PendingPlan.Plan.Clone()
	}
	if o := s.Onboarding; o != nil {
		s.Onboarding = new(o.Clone())
	}
	return s
}

// clonePtr copies what p points to: a deep copy for structs of plain values.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
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
	// When is the time expression the request did have ("tomorrow", "every Monday"): the
	// answer completes it, so "at 6pm" keeps the day.
	When string `json:"when,omitempty"`
}

// PendingReschedule is a proposed move of a task, waiting for confirmation.
type PendingReschedule struct {
	TaskID string    `json:"task_id"`
	Title  string    `json:"title"`
	At     time.Time `json:"at"` // the proposed time, UTC
}

// PendingCancel is a proposed cancellation of a task, waiting for confirmation.
type PendingCancel struct {
	TaskID string `json:"task_id"`
	Title  string `json:"title"`
}

// Turn answers one message.
func (g *Graph) Turn(ctx context.Context, run agentrun.Run, in agentrun.Input) (agentrun.Output, error) {
	loc, err := time.LoadLocation(in.Timezone)
	if err != nil {
		return agentrun.Output{}, fmt.Errorf("graph: user timezone %q: %w", in.Timezone, err)
	}
	t := &turn{g: g, run: run, in: in, loc: loc, log: g.logger().With("run", run.MessageID), trace: newTracer()}
	if len(in.State) > 0 {
		// Lenient: older turns may have stored fields this version no longer uses.
		if err := json.Unmarshal(in.State, &t.state); err != nil {
			return agentrun.Output{}, fmt.Errorf("graph: agent state: %w", err)
		}
	}
	_ = json.Unmarshal(in.Profile, &t.profile) // the profile CHECK guarantees an object; missing fields are fine
	t.redact = newRedactor(in.Email, in.Phone, t.profile.Name)
	t.small = in.TokensThisMonth >= HardTokenLimit
	t.mode = t.deterministic() // without a model, every reply of the turn is made offline

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
		return agentrun.Output{}, err
	}
	t.tokenWarning()
	t.chargeReplies()
	if t.out.State, err = json.Marshal(t.state); err != nil {
		return agentrun.Output{}, fmt.Errorf("graph: agent state: %w", err)
	}
	if t.out.Trace, err = t.trace.json(); err != nil {
		return agentrun.Output{}, fmt.Errorf("graph: trace: %w", err)
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
	if done, err := t.withModel(ctx, "answering", func() error { return t.modelRoute(ctx, text) }); done {
		return err
	}
	return t.offlineRoute(text)
}

// withModel runs a model path when a model is configured. When its models fail after their
// retries and fallbacks, nothing it prepared is kept (a half-made plan must not be written)
// and the turn answers offline from here on, saying why: done is false then, as without a
// model, for the deterministic path to answer.
func (t *turn) withModel(ctx context.Context, doing string, path func() error) (done bool, err error) {
	if t.g.LLM == nil {
		return false, nil
	}
	before, state := t.snapshot()
	if err = path(); err == nil || !(errors.Is(err, llm.ErrUnavailable) || errors.Is(err, llm.ErrInvalidAnswer)) {
		return true, err
	}
	t.log.WarnContext(ctx, "model path failed; "+doing+" offline", "error", err)
	t.restore(before, state)
	t.mode = modeFallback
	return false, nil
}

// settlePending settles a reply to something pending without a model, when the reply is
// unambiguous. done is false when the message needs routing: a request of its own is never
// taken for the answer to a pending question.
func (t *turn) settlePending(text string) (done bool, err error) {
	st := &t.state
	no := isBareNo(text)
	switch {
	case t.in.Action == "approve_plan":
		// The button: never a model's guess.
		if st.PendingPlan == nil {
			t.reply("There is no plan waiting for approval.", "approval", map[string]any{"kind": "notice"})
			return true, nil
		}
		return true, t.approve()
	case st.PendingPlan != nil && isApproval(text):
		return true, t.approve()
	case st.PendingPlan != nil && no:
		t.dropPlan(t.planMode(st.PendingPlan))
		return true, nil
	case st.PendingCancel != nil && isApproval(text):
		return true, t.applyCancel()
	case st.PendingCancel != nil && no:
		st.PendingCancel = nil
		t.reply("Okay, it stays.", "reschedule", map[string]any{"kind": "notice"})
		return true, nil
	case st.PendingReschedule != nil && !st.PendingReschedule.At.IsZero() && isApproval(text):
		return true, t.applyReschedule()
	case st.PendingReschedule != nil && no:
		st.PendingReschedule = nil
		t.reply("Okay, it stays where it was.", "reschedule", map[string]any{"kind": "notice"})
		return true, nil
	case st.PendingTask != nil && no:
		st.PendingTask = nil
		t.reply("Okay, no reminder.", "task_handler", map[string]any{"kind": "notice"})
		return true, nil
	}
	if pr := st.PendingReschedule; pr != nil {
		if p, ok := t.readAnswer(text, ""); ok && p.RRule == "" && p.HasTime {
			return true, t.proposeReschedule(pr.TaskID, t.onPendingDay(p, pr))
		}
	}
	if pt := st.PendingTask; pt != nil {
		if p, ok := t.readAnswer(text, pt.When); ok {
			if p.Invalid != "" {
				t.correct(fmt.Sprintf("%s. When should I remind you to %s?", capitalize(p.Invalid), lowerFirst(pt.Title)))
				return true, nil
			}
			if !p.HasTime {
				return false, nil
			}
			st.PendingTask, p.Title = nil, pt.Title
			return true, t.newReminder(p)
		}
	}
	return false, nil
}

// answerWords may surround a time in an answer ("make it 7pm", "at 5pm then").
var answerWords = map[string]bool{"at": true, "on": true, "ok": true, "okay": true, "make": true, "it": true, "how": true,
	"about": true, "let's": true, "lets": true, "say": true, "maybe": true, "um": true, "uh": true, "is": true, "fine": true,
	"good": true, "works": true, "would": true, "be": true, "great": true, "perfect": true, "sure": true, "yes": true,
	"the": true, "just": true, "thanks": true, "thank": true, "you": true, "instead": true, "rather": true, "better": true,
	"please": true, "then": true, "do": true, "around": true, "ish": true}

// readAnswer reads a message as the answer to "when?": nothing but a time expression and words
// that go with one. The time the request named (when: "tomorrow", "every Monday") is kept
// unless the answer names its own day. A bare number is an hour ("5").
func (t *turn) readAnswer(text, when string) (timeparse.Result, bool) {
	p := t.parse(text)
	if !p.HasTime && !p.HasDate && p.Invalid == "" {
		if q := t.parse("at " + text); q.HasTime && q.Title == "" {
			p = q
		}
	}
	if !p.HasTime && !p.HasDate && p.Invalid == "" && !p.Vague {
		return p, false
	}
	for _, w := range titleWords(p.Title) {
		if !answerWords[w] {
			return p, false
		}
	}
	if when != "" && !p.HasDate && p.RRule == "" && p.Invalid == "" {
		if q := t.parse(when + " " + strings.TrimSpace(text)); q.Invalid == "" && (q.HasTime || !p.HasTime) {
			p = q
		}
	}
	return p, true
}

// onPendingDay keeps the proposed (or the task's) day when the new time names none: "make
// it 8am instead" of Friday 07:00 is Friday 08:00.
func (t *turn) onPendingDay(p timeparse.Result, pr *PendingReschedule) time.Time {
	if p.HasDate {
		return p.At
	}
	base := pr.At
	if base.IsZero() {
		task, _ := t.booked(pr.TaskID)
		base = task.ScheduledAt
	}
	day := base.In(t.loc).Format(time.DateOnly)
	if q := t.parse("on " + day + " " + p.Matched); q.HasTime {
		return q.At
	}
	return p.At
}

// isBareNo: a short no ("no", "never mind", "cancel"), not a request that starts with one
// ("cancel the gym tomorrow").
func isBareNo(text string) bool {
	if yes, ok := yesno.Reply(text); !ok || yes {
		return false
	}
	if m := cancelRe.FindStringSubmatch(text); m != nil && m[1] != "" {
		return isAny(strings.ToLower(strings.TrimSpace(m[1])), "it", "that", "this", "it please", "that please")
	}
	return true
}

func isAny(s string, words ...string) bool { return slices.Contains(words, s) }
