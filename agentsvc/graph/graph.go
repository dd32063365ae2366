// Package graph answers one chat turn: it reads the turn's input (store.TurnInput), routes
// the message, runs the agents it needs and returns everything the turn writes (store.Turn),
// which the listener's runner writes in one transaction. It never writes to the database.
//
// Today the graph has its deterministic path only, the offline mode of SPEC.md, used when no
// OpenRouter key is configured (a newcomer's `make dev`) and, in the model-backed graph, when
// the provider keeps failing:
//   - explicit reminders ("remind me to call mom at 5pm", "every Monday at 7 gym") become tasks
//     through the time-expression parser, recurring ones materialized over the 6-week horizon;
//   - a reminder without a time gets one focused question, and the answer completes it;
//   - a goal ("I want to run a 5K") gets a ramped 6-week template plan for its category,
//     proposed for approval; an explicit yes or the approve_plan button writes the goal and its
//     tasks, a no drops it.
//
// Every offline reply says it was made without the AI planner (in its text and in metadata
// "offline": true), so nobody mistakes a template for advice.
package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/flux-companion/flux/agentsvc/plan"
	"github.com/flux-companion/flux/agentsvc/timeparse"
	"github.com/flux-companion/flux/sql/store"
)

// OfflineNote ends every reply of the deterministic path.
const OfflineNote = "(Made without the AI planner.)"

// Horizon is how far recurring reminders are materialized: one sprint.
const Horizon = 6 * 7 * 24 * time.Hour

// MaxActiveGoals is SPEC.md's cap; the database enforces it too.
const MaxActiveGoals = 3

// Graph answers chat turns (it implements the listener's chat.Agent).
type Graph struct {
	Log *slog.Logger
}

// State is a conversation's agent state between turns (flux.agent_state).
type State struct {
	PendingPlan *PendingPlan `json:"pending_plan,omitempty"`
	PendingTask *PendingTask `json:"pending_task,omitempty"`
}

// PendingPlan is a plan proposed and waiting for approval.
type PendingPlan struct {
	Plan    plan.Plan `json:"plan"`
	Start   string    `json:"start"` // the user-local date its sprint starts, YYYY-MM-DD
	Offline bool      `json:"offline"`
}

// PendingTask is a reminder waiting for its time (the clarifying question was asked).
type PendingTask struct {
	Title string `json:"title"`
}

// Turn answers one message.
func (g *Graph) Turn(ctx context.Context, run store.AgentRun, in store.TurnInput) (store.Turn, error) {
	loc, err := time.LoadLocation(in.Timezone)
	if err != nil {
		return store.Turn{}, fmt.Errorf("graph: user timezone %q: %w", in.Timezone, err)
	}
	var st State
	if len(in.State) > 0 {
		// Lenient: older turns may have stored fields this version no longer uses.
		if err := json.Unmarshal(in.State, &st); err != nil {
			return store.Turn{}, fmt.Errorf("graph: agent state: %w", err)
		}
	}
	var profile struct {
		Chronotype string `json:"chronotype"`
	}
	_ = json.Unmarshal(in.Profile, &profile) // the profile CHECK guarantees an object; missing fields are fine

	o := offline{in: in, loc: loc, state: st, chronotype: profile.Chronotype}
	turn, err := o.turn()
	if err != nil {
		return store.Turn{}, err
	}
	b, err := json.Marshal(o.state)
	if err != nil {
		return store.Turn{}, fmt.Errorf("graph: agent state: %w", err)
	}
	turn.State = b
	return turn, nil
}

// offline is one turn of the deterministic path.
type offline struct {
	in         store.TurnInput
	loc        *time.Location
	state      State
	chronotype string
	out        store.Turn
}

var (
	yesRe  = regexp.MustCompile(`(?i)^\s*(yes|yep|yeah|ok|okay|sure|approve[sd]?|approve it|looks good|sounds good|go ahead|do it|let'?s do it|perfect|great)\b`)
	noRe   = regexp.MustCompile(`(?i)^\s*(no|nope|cancel|stop|forget it|never ?mind|abandon|drop it)\b`)
	goalRe = regexp.MustCompile(`(?i)\b(i want to|i'd like to|i would like to|my goal|goal is|help me|i wanna|get better at|learn to|learn|train for|become|improve)\b`)
	remRe  = regexp.MustCompile(`(?i)\b(remind|reminder|don't forget|dont forget|make sure i)\b`)
)

func (o *offline) turn() (store.Turn, error) {
	text := strings.TrimSpace(o.in.Content)
	switch {
	case o.in.Action == "approve_plan":
		if o.state.PendingPlan == nil {
			o.reply("There is no plan waiting for approval.", "approval", map[string]any{"kind": "notice"})
			return o.out, nil
		}
		return o.approve()
	case o.state.PendingPlan != nil && isApproval(text):
		return o.approve()
	case o.state.PendingPlan != nil && noRe.MatchString(text):
		title := o.state.PendingPlan.Plan.GoalTitle
		o.state.PendingPlan = nil
		o.reply(fmt.Sprintf("Okay, I dropped the plan for “%s”. Nothing was scheduled.", title), "goal_planner",
			map[string]any{"kind": "plan_dropped"})
		return o.out, nil
	case o.state.PendingTask != nil && noRe.MatchString(text):
		o.state.PendingTask = nil
		o.reply("Okay, no reminder.", "task_handler", map[string]any{"kind": "notice"})
		return o.out, nil
	}

	parsed := timeparse.Parse(text, o.in.Now, o.loc)
	if o.state.PendingTask != nil {
		if parsed.At.IsZero() || !parsed.HasTime {
			o.reply(fmt.Sprintf("When should I remind you to %s? For example “today at 18:00” or “every Monday at 7”.",
				lowerFirst(o.state.PendingTask.Title)), "clarify", map[string]any{"kind": "question", "field": "time"})
			return o.out, nil
		}
		title := o.state.PendingTask.Title
		o.state.PendingTask = nil
		return o.createTask(title, parsed)
	}

	hasTime := !parsed.At.IsZero() && parsed.HasTime
	switch {
	case hasTime && !goalRe.MatchString(text) || hasTime && remRe.MatchString(text):
		return o.createTask(parsed.Title, parsed)
	case remRe.MatchString(text):
		title := parsed.Title
		if title == "" {
			title = "Reminder"
		}
		o.state.PendingTask = &PendingTask{Title: title}
		question := fmt.Sprintf("When should I remind you to %s?", lowerFirst(title))
		if parsed.HasDate && !parsed.At.IsZero() {
			question = fmt.Sprintf("At what time %s should I remind you to %s?", dayWords(parsed.At.In(o.loc), o.in.Now.In(o.loc)), lowerFirst(title))
		}
		o.reply(question, "clarify", map[string]any{"kind": "question", "field": "time"})
		return o.out, nil
	case goalRe.MatchString(text):
		return o.proposePlan(text)
	}
	if pp := o.state.PendingPlan; pp != nil {
		o.reply(fmt.Sprintf("Without the AI planner I cannot change the plan for “%s”. Reply “approve” to schedule it as proposed, or “no” to drop it.",
			pp.Plan.GoalTitle), "goal_planner", map[string]any{"kind": "question", "actions": []string{"approve_plan"}})
		return o.out, nil
	}
	o.reply("I can set reminders (“remind me to call mom at 5pm”, “every Monday at 7 gym”) "+
		"and plan goals over six weeks (“I want to run a 5K”). What would you like?", "clarify",
		map[string]any{"kind": "question"})
	return o.out, nil
}

// createTask writes one reminder, or every occurrence of a recurring one over the horizon.
func (o *offline) createTask(title string, p timeparse.Result) (store.Turn, error) {
	if title == "" {
		title = "Reminder"
	}
	starts := []time.Time{p.At}
	if p.RRule != "" {
		var err error
		starts, err = plan.ExpandRRule(p.RRule, p.At.In(o.loc), p.At.Add(Horizon))
		if err != nil {
			return store.Turn{}, fmt.Errorf("graph: recurrence %q: %w", p.RRule, err)
		}
	}
	for _, at := range starts {
		o.out.Tasks = append(o.out.Tasks, store.NewTask{Title: title, ScheduledAt: at.UTC(), DurationMinutes: 30, RecurrenceRule: p.RRule})
	}
	local := p.At.In(o.loc)
	msg := fmt.Sprintf("Reminder set: “%s” %s at %s.", title, dayWords(local, o.in.Now.In(o.loc)), local.Format("15:04"))
	if p.RRule != "" {
		msg = fmt.Sprintf("Reminder set: “%s”, %s at %s, starting %s (%d reminders over the next six weeks).",
			title, describeRule(p.RRule), local.Format("15:04"), dayWords(local, o.in.Now.In(o.loc)), len(starts))
	}
	o.reply(msg, "task_handler", map[string]any{"kind": "task_created", "tasks": len(starts),
		"first_at": p.At.UTC().Format(time.RFC3339), "recurrence_rule": p.RRule})
	return o.out, nil
}

// proposePlan proposes the category's template plan for approval.
func (o *offline) proposePlan(text string) (store.Turn, error) {
	category := plan.Categorize(text)
	title := goalTitle(text)
	p := plan.Template(category, title, plan.TemplateProfile{Chronotype: o.chronotype})
	if err := p.Validate(); err != nil {
		return store.Turn{}, fmt.Errorf("graph: template plan for %s: %w", category, err)
	}
	// The sprint starts tomorrow: a plan never begins with a reminder already overdue.
	start := o.in.Now.In(o.loc).AddDate(0, 0, 1).Format(time.DateOnly)
	o.state.PendingPlan = &PendingPlan{Plan: p, Start: start, Offline: true}
	var b strings.Builder
	fmt.Fprintf(&b, "Here is a 6-week plan for “%s” (%s). People keep over 70%% of their focused 6-week sprints, so it starts almost too easy and ramps up:\n", p.GoalTitle, category)
	for _, t := range p.ProposedTasks {
		fmt.Fprintf(&b, "- weeks %d–%d: %s, %s at %s, %d min\n", t.WeekRange[0], t.WeekRange[1], t.Title,
			strings.Join(t.ScheduledDays, "/"), t.SuggestedTime, t.DurationMinutes)
	}
	b.WriteString("Reply “approve” to schedule it (or press Approve), or “no” to drop it.")
	if o.in.ActiveGoals >= MaxActiveGoals {
		b.WriteString(fmt.Sprintf(" Note: you already have %d active goals, the most Flux keeps at once; finish or abandon one before approving.", o.in.ActiveGoals))
	}
	o.reply(b.String(), "goal_planner", map[string]any{"kind": "plan", "plan": p, "start": start, "actions": []string{"approve_plan"}})
	return o.out, nil
}

// approve writes the pending plan: the goal and every task of its sprint.
func (o *offline) approve() (store.Turn, error) {
	pp := o.state.PendingPlan
	if o.in.ActiveGoals >= MaxActiveGoals {
		o.reply(fmt.Sprintf("You already have %d active goals, the most Flux keeps at once. Finish or abandon one, then approve again.", o.in.ActiveGoals),
			"goal_planner", map[string]any{"kind": "notice"})
		return o.out, nil
	}
	start, err := time.ParseInLocation(time.DateOnly, pp.Start, o.loc)
	if err != nil {
		return store.Turn{}, fmt.Errorf("graph: pending plan start %q: %w", pp.Start, err)
	}
	if tomorrow := o.in.Now.In(o.loc).AddDate(0, 0, 1); start.Before(tomorrow.Truncate(24 * time.Hour)) {
		// Approved days later: the sprint starts tomorrow, not in the past.
		start, _ = time.ParseInLocation(time.DateOnly, tomorrow.Format(time.DateOnly), o.loc)
	}
	occ, err := plan.Materialize(pp.Plan, start, o.loc)
	if err != nil {
		return store.Turn{}, fmt.Errorf("graph: materialize plan: %w", err)
	}
	planJSON, err := json.Marshal(pp.Plan)
	if err != nil {
		return store.Turn{}, err
	}
	goalID := uuid.NewString()
	o.out.Goals = append(o.out.Goals, store.NewGoal{ID: goalID, Title: pp.Plan.GoalTitle, Description: pp.Plan.GoalDescription,
		Tags: pp.Plan.Tags, Status: "active", TargetWeeks: 6, Plan: planJSON})
	for _, oc := range occ {
		o.out.Tasks = append(o.out.Tasks, store.NewTask{GoalID: goalID, Title: oc.Title, Description: oc.Description,
			ScheduledAt: oc.At, DurationMinutes: int(oc.Duration / time.Minute), RecurrenceRule: oc.RRule})
	}
	o.state.PendingPlan = nil
	first := ""
	if len(occ) > 0 {
		l := occ[0].At.In(o.loc)
		first = fmt.Sprintf(" The first one is %s at %s.", dayWords(l, o.in.Now.In(o.loc)), l.Format("15:04"))
	}
	o.reply(fmt.Sprintf("Plan approved: “%s” is active with %d tasks over six weeks.%s", pp.Plan.GoalTitle, len(occ), first),
		"goal_planner", map[string]any{"kind": "plan_approved", "goal_id": goalID, "tasks": len(occ)})
	return o.out, nil
}

func (o *offline) reply(content, node string, meta map[string]any) {
	meta["offline"] = true
	b, _ := json.Marshal(meta) // maps of strings, numbers and plans always marshal
	o.out.Replies = append(o.out.Replies, store.Reply{Content: content + " " + OfflineNote, Node: node, Metadata: b})
}

// isApproval: a short explicit yes. "ok, but make it evenings" is a change request, not an
// approval, and offline there is nobody to negotiate it: the plan stays pending.
func isApproval(text string) bool {
	return yesRe.MatchString(text) && len(strings.Fields(text)) <= 4 && !strings.ContainsAny(text, ",;?")
}

var goalLead = regexp.MustCompile(`(?i)^\s*(i want to|i'd like to|i would like to|my goal is to|my goal is|help me|i wanna|i want|get better at)\s+`)

// goalTitle turns "I want to run a 5K." into "Run a 5K".
func goalTitle(text string) string {
	t := goalLead.ReplaceAllString(text, "")
	t = strings.TrimRight(strings.TrimSpace(t), ".!?")
	if r := []rune(t); len(r) > 120 {
		t = string(r[:120])
	}
	if t == "" {
		return "My goal"
	}
	return mapFirst(t, unicode.ToUpper)
}

func lowerFirst(s string) string { return mapFirst(s, unicode.ToLower) }

// mapFirst changes the first letter, whatever its length in bytes ("über" → "Über").
func mapFirst(s string, f func(rune) rune) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(f(r)) + s[n:]
}

// dayWords says when a local time is, relative to now: "today", "tomorrow", "on Monday 30 Nov".
func dayWords(t, now time.Time) string {
	ty, tm, td := t.Date()
	ny, nm, nd := now.Date()
	day := time.Date(ty, tm, td, 0, 0, 0, 0, time.UTC)
	today := time.Date(ny, nm, nd, 0, 0, 0, 0, time.UTC)
	switch int(day.Sub(today).Hours() / 24) {
	case 0:
		return "today"
	case 1:
		return "tomorrow"
	}
	return "on " + t.Format("Monday 2 Jan")
}

var dayNames = map[string]string{"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday", "FR": "Friday", "SA": "Saturday", "SU": "Sunday"}

// describeRule says an RRULE the way a person would, for the confirmation.
func describeRule(rule string) string {
	parts := map[string]string{}
	for _, kv := range strings.Split(rule, ";") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			parts[k] = v
		}
	}
	switch parts["FREQ"] {
	case "DAILY":
		if parts["INTERVAL"] != "" && parts["INTERVAL"] != "1" {
			return "every " + parts["INTERVAL"] + " days"
		}
		return "every day"
	case "WEEKLY":
		if parts["BYDAY"] == "" {
			return "every week"
		}
		var names []string
		for _, d := range strings.Split(parts["BYDAY"], ",") {
			names = append(names, dayNames[d])
		}
		return "every " + strings.Join(names, " and ")
	case "MONTHLY":
		return "every month"
	}
	return "repeating"
}
