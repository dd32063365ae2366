package graph

import (
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/flux-companion/flux/agentsvc/llm"
)

//go:embed prompts/*.md
var prompts embed.FS

func prompt(name string) string {
	b, err := prompts.ReadFile("prompts/" + name + ".md")
	if err != nil {
		panic(err) // embedded at build time; a missing file is a build mistake
	}
	return string(b)
}

var (
	orchestratorPrompt = prompt("orchestrator")
	classifierPrompt   = prompt("classifier")
	plannerPrompt      = prompt("planner")
	summarizerPrompt   = prompt("summarizer")
)

var agents = map[string]string{orchestratorPrompt: "orchestrator", classifierPrompt: "classifier",
	plannerPrompt: "planner", summarizerPrompt: "summarizer"}

// AgentOf names the agent a system prompt is for: "orchestrator", "classifier", "planner" or
// "summarizer", and "" for any other text. Fakes of the model use it to answer each agent
// in its own way (tests, flux bench chat).
func AgentOf(system string) string { return agents[system] }

// ask sends one agent's prompt and JSON input to its model and decodes the answer into T,
// with the llm package's retries, fallbacks and correction retries. Everything sent is
// redacted; tokens are added to the turn and the call to its trace.
func ask[T any](ctx context.Context, t *turn, node string, role llm.Role, system string, input any,
	validate func(*T) error, opts ...llm.Option) (T, llm.Usage, error) {
	return askFrom(ctx, t, time.Now(), node, role, system, input, validate, opts...)
}

// askFrom is ask for a node launched at began (see tracer.spanFrom).
func askFrom[T any](ctx context.Context, t *turn, began time.Time, node string, role llm.Role, system string, input any,
	validate func(*T) error, opts ...llm.Option) (T, llm.Usage, error) {
	var zero T
	body, err := json.Marshal(input)
	if err != nil {
		return zero, llm.Usage{}, fmt.Errorf("graph: %s input: %w", node, err)
	}
	msgs := []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: system},
		{Role: openai.ChatMessageRoleUser, Content: t.redact.apply(string(body))},
	}
	ctx, end := t.trace.spanFrom(ctx, node, began)
	if role == llm.Orchestrator || role == llm.Planner {
		opts = append(opts, llm.Small(t.small))
	}
	out, usage, err := llm.Call(ctx, t.g.LLM, role, msgs, validate, opts...)
	s := Span{Model: usage.Model, Prompt: node + ".md", Tokens: usage.TotalTokens(), Attempts: len(usage.Attempts)}
	if err != nil {
		s.Error = err.Error()
	}
	end(s)
	for _, a := range usage.Attempts {
		t.addTokens(node, a.Model, a.PromptTokens+a.CompletionTokens)
	}
	return out, usage, err
}

// route is the orchestrator's answer.
type route struct {
	Intent                string `json:"intent"`
	Payload               string `json:"payload"`
	ClarificationQuestion string `json:"clarification_question"`
	TaskID                string `json:"task_id"`
	GoalID                string `json:"goal_id"`
}

// Intents of the orchestrator.
const (
	IntentGoal       = "GOAL"
	IntentNewTask    = "NEW_TASK"
	IntentReschedule = "RESCHEDULE_TASK"
	IntentModifyGoal = "MODIFY_GOAL"
	IntentClarify    = "CLARIFY"
)

var intents = []string{IntentGoal, IntentNewTask, IntentReschedule, IntentModifyGoal, IntentClarify}

var routeSchema = json.RawMessage(`{"type":"object","additionalProperties":false,
"required":["intent","payload","clarification_question","task_id","goal_id"],
"properties":{
 "intent":{"type":"string","enum":["GOAL","NEW_TASK","RESCHEDULE_TASK","MODIFY_GOAL","CLARIFY"]},
 "payload":{"type":"string","description":"the goal, task or change in a short sentence"},
 "clarification_question":{"type":"string","description":"one focused question, for CLARIFY"},
 "task_id":{"type":"string","description":"an id from upcoming_tasks, or empty"},
 "goal_id":{"type":"string","description":"an id from open_goals, or empty"}}}`)

// modelRoute asks the orchestrator what the message is and runs the agent it names.
func (t *turn) modelRoute(ctx context.Context, text string) error {
	r, usage, err := ask(ctx, t, "orchestrator", llm.Orchestrator, orchestratorPrompt, t.orchestratorInput(text), t.validateRoute,
		llm.Schema("route", routeSchema))
	if err != nil {
		return err
	}
	t.log.InfoContext(ctx, "routed", "intent", r.Intent, "model", usage.Model)
	switch r.Intent {
	case IntentGoal:
		if pp := t.state.PendingPlan; pp != nil {
			return t.negotiate(ctx, text)
		}
		return t.planGoal(ctx, r.Payload, nil)
	case IntentNewTask:
		p := t.parse(text)
		if !p.HasTime {
			// The orchestrator should have asked; never guess a time.
			t.askTime(p)
			return nil
		}
		return t.createTask(p)
	case IntentReschedule:
		if p := t.parse(text); p.HasTime && p.RRule == "" {
			return t.proposeReschedule(r.TaskID, p.At)
		}
		return t.askRescheduleTime(r.TaskID)
	case IntentModifyGoal:
		if g := t.goal(r.GoalID); g != nil {
			return t.planGoal(ctx, r.Payload, g)
		}
		return fmt.Errorf("graph: orchestrator goal %q vanished", r.GoalID) // validateRoute checked it
	}
	// CLARIFY. A reschedule without a time keeps its task; a reminder without one its title.
	if r.TaskID != "" {
		return t.askRescheduleTime(r.TaskID)
	}
	if p := t.parse(text); remRe.MatchString(text) && !p.HasTime {
		t.state.PendingTask = &PendingTask{Title: cmp.Or(p.Title, "Reminder")}
	}
	t.reply(r.ClarificationQuestion, "clarify", map[string]any{"kind": "question"})
	return nil
}

// askRescheduleTime asks when to move a task, proposing the next free time after it.
func (t *turn) askRescheduleTime(taskID string) error {
	task, ok := t.booked(taskID)
	if !ok {
		t.reply("Which task should I move? I cannot find it among your upcoming ones.", "clarify", map[string]any{"kind": "question"})
		return nil
	}
	cal := t.calendarWithout(taskID)
	after := task.ScheduledAt.Add(time.Duration(task.DurationMinutes) * time.Minute)
	if after.Before(t.in.Now) {
		after = t.in.Now
	}
	if next, ok := cal.Next(after, time.Duration(task.DurationMinutes)*time.Minute, false); ok {
		t.state.PendingReschedule = &PendingReschedule{TaskID: taskID, Title: task.Title, At: next}
		t.reply(fmt.Sprintf("When should “%s” happen instead? The next free time is %s: reply “yes” to take it, or name another time.",
			task.Title, t.dayAt(next)), "reschedule",
			map[string]any{"kind": "question", "field": "time", "task_id": taskID, "proposed_at": next.Format(time.RFC3339)})
		return nil
	}
	t.state.PendingReschedule = &PendingReschedule{TaskID: taskID, Title: task.Title}
	t.reply(fmt.Sprintf("When should “%s” happen instead?", task.Title), "reschedule",
		map[string]any{"kind": "question", "field": "time", "task_id": taskID})
	return nil
}

// validateRoute checks the orchestrator's answer; its errors are shown to the model.
func (t *turn) validateRoute(r *route) error {
	var errs []error
	if !slices.Contains(intents, r.Intent) {
		errs = append(errs, fmt.Errorf("intent %q: want one of %s", r.Intent, strings.Join(intents, ", ")))
	}
	if r.TaskID != "" {
		if _, ok := t.booked(r.TaskID); !ok {
			errs = append(errs, fmt.Errorf("task_id %q is not the id of any upcoming_tasks entry", r.TaskID))
		}
	}
	if r.GoalID != "" && t.goal(r.GoalID) == nil {
		errs = append(errs, fmt.Errorf("goal_id %q is not the id of any open_goals entry", r.GoalID))
	}
	switch r.Intent {
	case IntentReschedule:
		if r.TaskID == "" {
			errs = append(errs, errors.New("RESCHEDULE_TASK needs task_id from upcoming_tasks; use CLARIFY when unsure which task"))
		}
	case IntentModifyGoal:
		if r.GoalID == "" {
			errs = append(errs, errors.New("MODIFY_GOAL needs goal_id from open_goals; use CLARIFY when unsure which goal"))
		}
	case IntentClarify:
		if q := strings.TrimSpace(r.ClarificationQuestion); q == "" || len([]rune(q)) > 300 {
			errs = append(errs, fmt.Errorf("clarification_question %q: CLARIFY needs one question of at most 300 characters", r.ClarificationQuestion))
		}
	case IntentGoal, IntentNewTask:
		if strings.TrimSpace(r.Payload) == "" {
			errs = append(errs, fmt.Errorf("payload is empty: %s needs the goal or task in a short sentence", r.Intent))
		}
	}
	return errors.Join(errs...)
}

// orchestratorInput is what the orchestrator sees: ids and titles, never personal data.
func (t *turn) orchestratorInput(text string) map[string]any {
	now := t.in.Now.In(t.loc)
	history := t.in.History
	if len(history) > 10 {
		history = history[len(history)-10:]
	}
	var hist []map[string]string
	for _, m := range history {
		hist = append(hist, map[string]string{"role": m.Role, "content": m.Content})
	}
	var goals []map[string]string
	for _, g := range t.in.Goals {
		goals = append(goals, map[string]string{"id": g.ID, "title": g.Title, "status": g.Status})
	}
	var tasks []map[string]string
	for _, b := range t.in.Calendar {
		if len(tasks) == 30 || !b.ScheduledAt.After(t.in.Now) {
			continue
		}
		tasks = append(tasks, map[string]string{"id": b.ID, "title": b.Title, "local_time": b.ScheduledAt.In(t.loc).Format("Mon 2 Jan 15:04")})
	}
	pending := map[string]string{}
	if pp := t.state.PendingPlan; pp != nil {
		pending["plan"] = pp.Plan.GoalTitle
	}
	if pt := t.state.PendingTask; pt != nil {
		pending["reminder_needing_time"] = pt.Title
	}
	if pr := t.state.PendingReschedule; pr != nil {
		pending["task_to_move"] = pr.Title
	}
	if pc := t.state.PendingCancel; pc != nil {
		pending["task_to_cancel"] = pc.Title
	}
	return map[string]any{"message": text, "now_local": now.Format("Monday 2006-01-02 15:04"), "timezone": t.in.Timezone,
		"history": hist, "open_goals": goals, "upcoming_tasks": tasks, "pending": pending}
}
