package graph

import (
	"fmt"
	"time"

	"github.com/flux-companion/flux/agentsvc/plan"
	"github.com/flux-companion/flux/agentsvc/timeparse"
	"github.com/flux-companion/flux/sql/store"
)

// offlineRoute answers without a model: reminders, one clarifying question, template plans.
func (t *turn) offlineRoute(text string) error {
	parsed := t.parse(text)
	if t.state.PendingTask != nil {
		t.reply(fmt.Sprintf("When should I remind you to %s? For example “today at 18:00” or “every Monday at 7”.",
			lowerFirst(t.state.PendingTask.Title)), "clarify", map[string]any{"kind": "question", "field": "time"})
		return nil
	}
	switch {
	case parsed.HasTime && (!goalRe.MatchString(text) || remRe.MatchString(text)):
		return t.createTask(parsed.Title, parsed)
	case remRe.MatchString(text):
		t.askTime(parsed)
		return nil
	case goalRe.MatchString(text):
		return t.proposeTemplate(text)
	}
	if pp := t.state.PendingPlan; pp != nil {
		t.reply(fmt.Sprintf("Without the AI planner I cannot change the plan for “%s”. Reply “approve” to schedule it as proposed, or “no” to drop it.",
			pp.Plan.GoalTitle), "goal_planner", map[string]any{"kind": "question", "actions": []string{"approve_plan"}})
		return nil
	}
	t.reply("I can set reminders (“remind me to call mom at 5pm”, “every Monday at 7 gym”) "+
		"and plan goals over six weeks (“I want to run a 5K”). What would you like?", "clarify",
		map[string]any{"kind": "question"})
	return nil
}

// askTime asks the one question a reminder without a time needs, and remembers the reminder.
func (t *turn) askTime(parsed timeparse.Result) {
	title := parsed.Title
	if title == "" {
		title = "Reminder"
	}
	t.state.PendingTask = &PendingTask{Title: title}
	question := fmt.Sprintf("When should I remind you to %s?", lowerFirst(title))
	if parsed.HasDate && !parsed.At.IsZero() {
		question = fmt.Sprintf("At what time %s should I remind you to %s?", dayWords(parsed.At.In(t.loc), t.in.Now.In(t.loc)), lowerFirst(title))
	}
	t.reply(question, "clarify", map[string]any{"kind": "question", "field": "time"})
}

// createTask writes one reminder, or every occurrence of a recurring one over the horizon.
func (t *turn) createTask(title string, p timeparse.Result) error {
	if title == "" {
		title = "Reminder"
	}
	starts := []time.Time{p.At}
	if p.RRule != "" {
		var err error
		starts, err = plan.ExpandRRule(p.RRule, p.At.In(t.loc), p.At.Add(Horizon))
		if err != nil {
			return fmt.Errorf("graph: recurrence %q: %w", p.RRule, err)
		}
	}
	for _, at := range starts {
		t.out.Tasks = append(t.out.Tasks, store.NewTask{Title: title, ScheduledAt: at.UTC(), DurationMinutes: 30, RecurrenceRule: p.RRule})
	}
	local := p.At.In(t.loc)
	msg := fmt.Sprintf("Reminder set: “%s” %s at %s.", title, dayWords(local, t.in.Now.In(t.loc)), local.Format("15:04"))
	if p.RRule != "" {
		msg = fmt.Sprintf("Reminder set: “%s”, %s at %s, starting %s (%d reminders over the next six weeks).",
			title, describeRule(p.RRule), local.Format("15:04"), dayWords(local, t.in.Now.In(t.loc)), len(starts))
	}
	t.reply(msg, "task_handler", map[string]any{"kind": "task_created", "tasks": len(starts),
		"first_at": p.At.UTC().Format(time.RFC3339), "recurrence_rule": p.RRule})
	return nil
}

// proposeTemplate proposes the category's template plan for approval.
func (t *turn) proposeTemplate(text string) error {
	if t.atCap() {
		return nil
	}
	category := plan.Categorize(text)
	p := plan.Template(category, goalTitle(text), plan.TemplateProfile{Chronotype: t.profile.Chronotype})
	if err := p.Validate(); err != nil {
		return fmt.Errorf("graph: template plan for %s: %w", category, err)
	}
	// The template's times are placed by the slot finder like a model's, so it never
	// double-books either.
	start := t.sprintStart()
	placed, start, err := t.place(p, start)
	if err != nil {
		return err
	}
	t.propose(PendingPlan{Plan: placed, Start: start.Format(time.DateOnly), Offline: true}, "")
	return nil
}

// atCap refuses a new goal when the user already has the most active goals Flux keeps.
func (t *turn) atCap() bool {
	if t.in.ActiveGoals < MaxActiveGoals {
		return false
	}
	t.reply(fmt.Sprintf("You already have %d active goals, the most Flux keeps at once: people who focus on a few keep them. "+
		"Finish or abandon one, then tell me about the new one.", t.in.ActiveGoals), "goal_planner",
		map[string]any{"kind": "notice", "reason": "active_goal_limit"})
	return true
}

// sprintStart is tomorrow, the user's local date: a plan never begins with a reminder
// already overdue.
func (t *turn) sprintStart() time.Time {
	y, m, d := t.in.Now.In(t.loc).AddDate(0, 0, 1).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.loc)
}
