package graph

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flux-companion/flux/agentsvc/agentrun"
	"github.com/flux-companion/flux/agentsvc/observe"
	"github.com/flux-companion/flux/agentsvc/plan"
	"github.com/flux-companion/flux/agentsvc/slots"
)

// calendar is the user's time for the slot finder: sleep (hard), work hours (soft), booked
// tasks except those skip says will not stay, and the pattern observer's hints.
func (t *turn) calendar(skip func(agentrun.BookedTask) bool) *slots.Calendar {
	cal := &slots.Calendar{Loc: t.loc, Hints: t.observe().Hints(t.profile.Chronotype)}
	if w := t.profile.SleepWindow; w != nil {
		bed, err1 := slots.ParseClock(w.Start)
		wake, err2 := slots.ParseClock(w.End)
		if err1 == nil && err2 == nil {
			cal.Sleep = &slots.Window{Start: bed, End: wake}
		}
	}
	if w := t.profile.WorkHours; w != nil {
		from, err1 := slots.ParseClock(w.Start)
		to, err2 := slots.ParseClock(w.End)
		if err1 == nil && err2 == nil {
			wh := &slots.WorkHours{Window: slots.Window{Start: from, End: to}}
			for _, d := range w.Days {
				if wd, err := slots.ParseWeekday(d); err == nil {
					wh.Days = append(wh.Days, wd)
				}
			}
			cal.Work = wh
		}
	}
	for _, b := range t.in.Calendar {
		if skip != nil && skip(b) {
			continue
		}
		cal.Busy = append(cal.Busy, slots.Busy{Start: b.ScheduledAt, Duration: time.Duration(b.DurationMinutes) * time.Minute, Title: b.Title})
	}
	return cal
}

// calendarWithout is the calendar without one task (the one being moved).
func (t *turn) calendarWithout(taskID string) *slots.Calendar {
	return t.calendar(func(b agentrun.BookedTask) bool { return b.ID == taskID })
}

// observe is the pattern observer's deterministic report on the user's history.
func (t *turn) observe() observe.Report {
	in := observe.Input{Loc: t.loc, Now: t.in.Now, Chronotype: t.profile.Chronotype}
	for _, o := range t.in.Outcomes {
		in.History = append(in.History, observe.Outcome{ScheduledAt: o.ScheduledAt, Done: o.Done, Tags: o.Tags})
	}
	for _, p := range t.in.Patterns {
		in.Patterns = append(in.Patterns, observe.Pattern{Type: p.Type, Description: p.Description, Data: p.Data, Confidence: p.Confidence})
	}
	return observe.Observe(in)
}

// place puts a template plan's tasks into free time from start (see placeOn), keeping the
// margins from sleep below: a template knows only the chronotype, not when the user wakes. A
// model's plan is placed with placeOn alone, because the model is given the sleep window and
// chooses its times with it.
func (t *turn) place(p plan.Plan, start time.Time) (plan.Plan, time.Time, error) {
	return placeOn(awake(t.calendar(nil), p), p, start)
}

// Room a plan's sessions keep from sleep. Nobody starts a session the minute they wake, and
// exercise wants time to wake up, drink and eat something first; the last hour before bed is
// for winding down. Reminders the user sets and moves keep the plain sleep window.
const (
	afterWake         = 30 * time.Minute
	afterWakeExercise = 60 * time.Minute // plans tagged Fitness
	beforeBed         = 60 * time.Minute
	minAwake          = 2 * time.Hour // a shorter day than this after the margins keeps the plain window
)

// awake is cal with the sleep window widened by the margins above for plan p. The slot
// finder then never places a session inside them, and its ties start from the widened
// wake-up time.
func awake(cal *slots.Calendar, p plan.Plan) *slots.Calendar {
	w := cal.Sleep
	if w == nil || w.Start == w.End {
		return cal
	}
	after := afterWake
	if slices.Contains(p.Tags, "Fitness") {
		after = afterWakeExercise
	}
	bed, wake := w.Start.Minutes(), w.End.Minutes()
	awakeFor := (bed - wake + minutesPerDay) % minutesPerDay
	if awakeFor-int((after+beforeBed)/time.Minute) < int(minAwake/time.Minute) {
		return cal
	}
	c := *cal
	c.Sleep = &slots.Window{Start: slots.ClockOf(bed - int(beforeBed/time.Minute)), End: slots.ClockOf(wake + int(after/time.Minute))}
	return &c
}

const minutesPerDay = 24 * 60

// outOfSleep moves a suggested time that meets the (widened) sleep window to its nearer
// edge: forward to the first quarter hour after the wake-up margin, or back so the session
// ends before the wind-down hour. It is the plan's own rule, not a conflict, so the plan
// does not mention it.
func outOfSleep(sleep *slots.Window, at slots.Clock, d time.Duration) slots.Clock {
	if sleep == nil || sleep.Start == sleep.End {
		return at
	}
	bed, wake, m := sleep.Start.Minutes(), sleep.End.Minutes(), at.Minutes()
	dm := int((d + time.Minute - 1) / time.Minute)
	awakeFor := (bed - wake + minutesPerDay) % minutesPerDay
	if (m-wake+minutesPerDay)%minutesPerDay+dm <= awakeFor {
		return at // starts and ends awake
	}
	step := int(slots.Step / time.Minute)
	first := (wake + step - 1) / step * step // the first quarter hour awake
	last := (bed - dm) / step * step         // the last quarter hour that ends in time
	if bed-dm < 0 {
		last = (bed - dm + minutesPerDay) / step * step
	}
	dist := func(a, b int) int { d := (a - b + minutesPerDay) % minutesPerDay; return min(d, minutesPerDay-d) }
	if dist(m, first) <= dist(m, last) {
		return slots.ClockOf(first)
	}
	return slots.ClockOf(last)
}

// placeOn puts every proposed task of p into free time from start with the slot finder, so a
// plan never double-books whatever the planner suggested: a suggested time is kept when it
// is free, otherwise the best free time replaces it and the plan says why, in one conflict.
// When the calendar has no room from start, the sprint starts at the first date that fits
// every task.
func placeOn(cal *slots.Calendar, p plan.Plan, start time.Time) (plan.Plan, time.Time, error) {
	reqs := make([]slots.Request, 0, len(p.ProposedTasks))
	placed := make([]int, 0, len(p.ProposedTasks)) // indexes of the tasks the slot finder places
	for i, k := range p.ProposedTasks {
		days, ok := requestDays(k)
		if !ok {
			continue // a rule the slot finder cannot place (monthly...): checked for conflicts below
		}
		pref, err := slots.ParseClock(k.SuggestedTime)
		if err != nil {
			return p, start, fmt.Errorf("graph: suggested time %q: %w", k.SuggestedTime, err)
		}
		d := time.Duration(k.DurationMinutes) * time.Minute
		pref = outOfSleep(cal.Sleep, pref, d)
		reqs = append(reqs, slots.Request{Title: k.Title, Duration: d,
			Days: days, FirstWeek: k.WeekRange[0], LastWeek: k.WeekRange[1], Preferred: &pref})
		placed = append(placed, i)
	}
	out := p
	out.ProposedTasks = append([]plan.ProposedTask(nil), p.ProposedTasks...)
	out.ConflictsDetected = nil
	var later string

	got, conflicts, err := cal.PlaceAll(start, reqs)
	if errors.Is(err, slots.ErrNoSlot) {
		l, ferr := cal.FirstAvailableStart(start, reqs)
		if ferr != nil {
			return p, start, fmt.Errorf("%w: %w", errNoRoom, ferr)
		}
		start = l.In(cal.Loc)
		got, conflicts, err = cal.PlaceAll(start, reqs)
		later = fmt.Sprintf("There is not enough free time sooner, so the sprint starts %s.", start.Format("Monday 2 January"))
	}
	if err != nil {
		return p, start, fmt.Errorf("graph: place plan: %w", err)
	}
	for j, s := range got {
		out.ProposedTasks[placed[j]].SuggestedTime = s.At.String()
	}
	if c, ok := moves(out.ProposedTasks, placed, reqs, got, conflicts, later, start, cal.Loc); ok {
		out.ConflictsDetected = []plan.Conflict{c}
	}
	// Tasks the slot finder did not place keep the planner's time when it is free; when it
	// is not, the plan says so rather than silently double-booking.
	if len(placed) < len(out.ProposedTasks) {
		occ, err := plan.Materialize(out, start, cal.Loc)
		if err != nil {
			return p, start, fmt.Errorf("graph: materialize plan: %w", err)
		}
		for _, o := range occ {
			if slices.Contains(placed, o.TaskIndex) {
				continue
			}
			if c := cal.Conflicts([]time.Time{o.At}, o.Duration); len(c) > 0 {
				return p, start, fmt.Errorf("%w: “%s” on %s meets “%s”", errNoRoom, o.Title,
					o.At.In(cal.Loc).Format("Mon 2 Jan 15:04"), c[0].ExistingTitle)
			}
		}
	}
	return out, start, nil
}

// moves sums up in one conflict what placing the plan had to work around: which sessions
// moved off their suggested time and for what (tasks, work hours), the sessions left in work
// hours, a later start. The sessions are named as the plan lists them, so the sentence never
// contradicts the times shown; ok is false when nothing was moved.
func moves(tasks []plan.ProposedTask, placed []int, reqs []slots.Request, got []slots.Slot, conflicts []slots.Conflict,
	later string, start time.Time, loc *time.Location) (plan.Conflict, bool) {
	var moved, inWork []int // indexes into got
	from := map[slots.Clock]bool{}
	work := false
	for j, s := range got {
		if s.Moved == slots.Booked || s.Moved == slots.Working {
			moved = append(moved, j)
			from[*reqs[j].Preferred] = true
			work = work || s.Moved == slots.Working
		}
		if s.InWorkHours {
			inWork = append(inWork, j)
		}
	}
	if len(moved)+len(inWork) == 0 && later == "" {
		return plan.Conflict{}, false
	}
	c := plan.Conflict{ExistingTaskTitle: "Your calendar", ScheduledAt: start.UTC().Format(time.RFC3339)}
	var sentences []string
	if later != "" {
		sentences = append(sentences, later)
	}
	if len(moved) > 0 {
		var around []string
		seen := map[string]bool{}
		for _, x := range conflicts {
			if !seen[x.ExistingTitle] {
				seen[x.ExistingTitle] = true
				around = append(around, "“"+x.ExistingTitle+"”")
			}
		}
		if len(around) > 2 {
			around = append(around[:2], fmt.Sprintf("%d other tasks", len(around)-2))
		}
		if work {
			around = append(around, "your work hours")
		}
		what := "I moved " + which(tasks, placed, moved)
		if len(from) == 1 {
			what += " from " + reqs[moved[0]].Preferred.String()
		}
		sentences = append(sentences, what+" to keep clear of "+andList(around)+".")
		switch {
		case len(conflicts) > 0:
			c.ExistingTaskTitle, c.ScheduledAt = conflicts[0].ExistingTitle, conflicts[0].ExistingAt.Format(time.RFC3339)
		case len(got[moved[0]].Starts) > 0:
			c.ExistingTaskTitle = "Your work hours"
			y, m, d := got[moved[0]].Starts[0].In(loc).Date()
			p := reqs[moved[0]].Preferred
			c.ScheduledAt = time.Date(y, m, d, p.H, p.M, 0, 0, loc).UTC().Format(time.RFC3339)
		}
	}
	if len(inWork) > 0 {
		w := which(tasks, placed, inWork)
		verb := "are"
		if len(inWork) == len(got) {
			w, verb = "every session", "is"
		}
		sentences = append(sentences, fmt.Sprintf("%s %s in your work hours: no other time was free.", capitalize(w), verb))
	}
	c.Message = strings.Join(sentences, " ")
	return c, true
}

// which names the sessions of got[js] as the plan lists them: by their weeks when no other
// task shares those weeks, otherwise by title.
func which(tasks []plan.ProposedTask, placed, js []int) string {
	if len(js) == len(placed) {
		return "every session"
	}
	var weeks [plan.SprintWeeks + 2]bool
	var titles []string
	for _, j := range js {
		k := tasks[placed[j]]
		for w := k.WeekRange[0]; w <= k.WeekRange[1]; w++ {
			weeks[w] = true
		}
		titles = append(titles, "“"+k.Title+"”")
	}
	for i := range tasks {
		if slices.ContainsFunc(js, func(j int) bool { return placed[j] == i }) {
			continue
		}
		k := tasks[i]
		for w := k.WeekRange[0]; w <= k.WeekRange[1]; w++ {
			if weeks[w] {
				return andList(titles) // shares a week with a task that kept its time
			}
		}
	}
	var spans []string
	for w := 1; w <= plan.SprintWeeks; w++ {
		if !weeks[w] || weeks[w-1] {
			continue
		}
		e := w
		for weeks[e+1] {
			e++
		}
		spans = append(spans, plan.WeekLabel(w, e))
	}
	return "the sessions of " + andList(spans)
}

// andList joins “a”, “a and b”, “a, b and c”.
func andList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// errNoRoom: the plan cannot be placed without double-booking.
var errNoRoom = errors.New("no free time for the plan")

// requestDays are the weekdays a task repeats on, for tasks the slot finder can place: weekly
// on scheduled_days, or by a rule that repeats every week on fixed days.
func requestDays(k plan.ProposedTask) ([]time.Weekday, bool) {
	if strings.TrimSpace(k.RecurrenceRule) != "" {
		days, ok := plan.WeeklyDays(k.RecurrenceRule)
		if !ok || len(days) > 0 {
			return days, ok
		}
	}
	var days []time.Weekday
	for _, d := range k.ScheduledDays {
		wd, err := slots.ParseWeekday(d)
		if err != nil {
			return nil, false
		}
		days = append(days, wd)
	}
	return days, len(days) > 0
}
