package graph

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/flux-companion/flux/agentsvc/agentrun"
	"github.com/flux-companion/flux/agentsvc/plan"
	"github.com/flux-companion/flux/agentsvc/timeparse"
)

// offlineRoute answers without a model: reminders, moves and cancellations of upcoming
// tasks (confirmed first), a look at the agenda, one clarifying question, template plans.
// A message that is a request of its own is answered as one, whatever was pending; only
// an answer settles a pending question (settlePending).
func (t *turn) offlineRoute(text string) error {
	pending := t.state.PendingTask
	t.state.PendingTask = nil
	if m := cancelRe.FindStringSubmatch(text); m != nil && !notCancel.MatchString(text) && !t.reminderInstead(m[1], text) {
		return t.offlineCancel(m[1])
	}
	if m := moveRe.FindStringSubmatch(text); m != nil {
		if object, shift, target := splitMove(m[1]); shift != 0 || target != "" || !t.reminderInstead(object, text) {
			return t.offlineMove(m[1])
		}
	}
	if t.agenda(text) {
		return nil
	}
	parsed := t.parse(text)
	reminder := remRe.MatchString(text)
	goal := goalRe.MatchString(text) && !reminder
	timed := parsed.HasDate || parsed.HasTime || parsed.Vague || parsed.RRule != ""
	switch {
	case parsed.Invalid != "":
		t.state.PendingTask = pending
		t.correct(fmt.Sprintf("%s, so I did not set anything. Try e.g. “today at 18:00”, “tomorrow at 7:30am” or “every Monday at 7”.", capitalize(parsed.Invalid)))
		return nil
	case goal && !parsed.HasTime:
		return t.proposeTemplate(text)
	case parsed.Title == "" && (timed || reminder):
		t.reply("What should I remind you of"+whenWords(parsed, t)+"?", "clarify", map[string]any{"kind": "question", "field": "title"})
		return nil
	case parsed.HasTime && !parsed.Vague && (!goal || reminder):
		return t.newReminder(parsed)
	case reminder || timed:
		return t.askTime(parsed)
	case goal:
		return t.proposeTemplate(text)
	}
	if pp := t.state.PendingPlan; pp != nil {
		t.reply(fmt.Sprintf("Without the AI planner I cannot change the plan for “%s”. Reply “approve” to schedule it as proposed, or “no” to drop it.",
			pp.Plan.GoalTitle), "goal_planner", map[string]any{"kind": "question", "actions": []string{"approve_plan"}})
		return nil
	}
	if pending != nil {
		t.state.PendingTask = pending
		t.reply(fmt.Sprintf("When should I remind you to %s? For example “today at 18:00” or “every Monday at 7”.",
			lowerFirst(pending.Title)), "clarify", map[string]any{"kind": "question", "field": "time"})
		return nil
	}
	t.reply("I can set reminders (“remind me to call mom at 5pm”, “every Monday at 7 gym”), move or cancel them "+
		"(“move the gym to Friday 6pm”, “cancel the dentist”) and plan goals over six weeks (“I want to run a 5K”). What would you like?", "clarify",
		map[string]any{"kind": "help"})
	return nil
}

// reminderInstead: "move the car at 5pm", "cancel the newspaper tomorrow at 10" name no
// task of the user's but a time: they are reminders to do that, not changes of a task.
func (t *turn) reminderInstead(object, text string) bool {
	if len(t.find(t.readLookup(object))) > 0 {
		return false
	}
	p := t.parse(text)
	return p.HasTime && p.Invalid == "" && p.Title != ""
}

// whenWords says the time a message named, for a question: " tonight", " at 17:00", "".
func whenWords(p timeparse.Result, t *turn) string {
	if p.Matched == "" || p.Vague {
		return ""
	}
	return " " + strings.ToLower(p.Matched)
}

// newReminder checks a reminder's time before writing it: a time over, or a yearly rule
// without its date, gets a correction instead of a row.
func (t *turn) newReminder(p timeparse.Result) error {
	switch {
	case yearlyWithoutDate(p):
		t.correctYearly()
		return nil
	case p.RRule == "" && passedAt(p.At, t.in.Now) && p.PartTime:
		return t.askTime(p) // "tonight" said after the evening's usual time: ask when tonight
	case p.RRule == "" && passedAt(p.At, t.in.Now):
		l := p.At.In(t.loc)
		t.correct(fmt.Sprintf("%s at %s has already passed, so I did not set “%s”. When should I remind you instead?",
			l.Format("Monday 2 January"), l.Format("15:04"), p.Title))
		return nil
	}
	return t.createTask(p)
}

// yearlyWithoutDate: "every year on my birthday" names a date Flux does not know.
func yearlyWithoutDate(p timeparse.Result) bool {
	return strings.HasPrefix(p.RRule, "FREQ=YEARLY") && !p.Anchored
}

func (t *turn) correctYearly() {
	t.correct("Which date should it repeat on every year? I do not know the date you mean: say it, e.g. “every year on 3 March at 9am”.")
}

// passedAt: the minute of now still counts as now, as the parser has it.
func passedAt(at, now time.Time) bool { return now.Sub(at) >= time.Minute }

// askTime asks the one question a reminder without a time needs, and remembers the reminder
// with the time it did name, so the answer keeps its day or rule.
func (t *turn) askTime(parsed timeparse.Result) error {
	if yearlyWithoutDate(parsed) {
		t.correctYearly()
		return nil
	}
	if parsed.HasDate && !parsed.HasTime && parsed.RRule == "" && !parsed.Vague && !parsed.At.IsZero() {
		if parsed.At.Before(t.midnight(t.in.Now)) {
			t.correct(fmt.Sprintf("%s has already passed, so I did not set anything. Which day do you mean?", parsed.At.In(t.loc).Format("Monday 2 January")))
			return nil
		}
	}
	title := cmp.Or(parsed.Title, "Reminder")
	t.state.PendingTask = &PendingTask{Title: title, When: parsed.Matched}
	question := fmt.Sprintf("When should I remind you to %s?", lowerFirst(title))
	switch {
	case parsed.NextWeek:
		question = fmt.Sprintf("When next week should I remind you to %s?", lowerFirst(title))
	case parsed.RRule != "":
		question = fmt.Sprintf("At what time should I remind you to %s, %s?", lowerFirst(title), describeRule(parsed.RRule))
	case parsed.PartTime:
		question = fmt.Sprintf("At what time %s should I remind you to %s?", strings.ToLower(parsed.Matched), lowerFirst(title))
	case parsed.HasDate && !parsed.At.IsZero() && !parsed.Vague:
		question = fmt.Sprintf("At what time %s should I remind you to %s?", dayWords(parsed.At.In(t.loc), t.in.Now.In(t.loc)), lowerFirst(title))
	}
	t.reply(question, "clarify", map[string]any{"kind": "question", "field": "time"})
	return nil
}

// createTask writes one reminder, or every occurrence of a recurring one over the horizon.
func (t *turn) createTask(p timeparse.Result) error {
	title := cmp.Or(p.Title, "Reminder")
	starts := []time.Time{p.At}
	// A yearly rule has at most its first occurrence within the horizon; the plan package's
	// expander takes the rules a 6-week plan may have, which yearly is not.
	if p.RRule != "" && !strings.HasPrefix(p.RRule, "FREQ=YEARLY") {
		var err error
		starts, err = plan.ExpandRRule(p.RRule, p.At.In(t.loc), p.At.Add(Horizon))
		if err != nil {
			return fmt.Errorf("graph: recurrence %q: %w", p.RRule, err)
		}
	}
	for _, at := range starts {
		t.out.Tasks = append(t.out.Tasks, agentrun.NewTask{Title: title, ScheduledAt: at.UTC(), DurationMinutes: 30, RecurrenceRule: p.RRule})
	}
	local := p.At.In(t.loc)
	msg := fmt.Sprintf("Reminder set: “%s” %s.", title, t.dayAt(p.At))
	if p.RRule != "" {
		msg = fmt.Sprintf("Reminder set: “%s”, %s at %s, starting %s (%s over the next six weeks).",
			title, describeRule(p.RRule), local.Format("15:04"), dayWords(local, t.in.Now.In(t.loc)), plural(len(starts), "reminder"))
	}
	t.reply(msg, "task_handler", map[string]any{"kind": "task_created", "tasks": len(starts),
		"first_at": p.At.UTC().Format(time.RFC3339), "recurrence_rule": p.RRule})
	return nil
}
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// proposeTemplate proposes the category's template plan for approval.
func (t *turn) proposeTemplate(text string) error {
	if t.atCap() {
		return nil
	}
	p := plan.Template(plan.Categorize(text), goalTitle(text), plan.TemplateProfile{Chronotype: t.profile.Chronotype})
	return t.proposeTemplatePlan(p, PendingPlan{})
}

// proposeTemplatePlan proposes a template plan as pp (which names the goal it is for, if
// any). The template's times are placed by the slot finder like a model's, so it never
// double-books either.
func (t *turn) proposeTemplatePlan(p plan.Plan, pp PendingPlan) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("graph: template plan for %q: %w", p.GoalTitle, err)
	}
	placed, start, err := t.place(p, t.sprintStart())
	if err != nil {
		return err
	}
	pp.Plan, pp.Start, pp.Offline = placed, start.Format(time.DateOnly), true
	t.propose(pp, "")
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
func (t *turn) sprintStart() time.Time { return t.midnight(t.in.Now.In(t.loc).AddDate(0, 0, 1)) }

// midnight is the start of the user's local day of at.
func (t *turn) midnight(at time.Time) time.Time {
	y, m, d := at.In(t.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.loc)
}
