package graph

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flux-companion/flux/agentsvc/observe"
	"github.com/flux-companion/flux/agentsvc/plan"
	"github.com/flux-companion/flux/agentsvc/slots"
	"github.com/flux-companion/flux/sql/store"
)

// calendar is the user's time for the slot finder: sleep (hard), work hours (soft), booked
// tasks except those skip says will not stay, and the pattern observer's hints.
func (t *turn) calendar(skip func(store.BookedTask) bool) *slots.Calendar {
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
	return t.calendar(func(b store.BookedTask) bool { return b.ID == taskID })
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

// place puts every proposed task of p into free time from start with the slot finder, so a
// plan never double-books whatever the planner suggested: a suggested time is kept when it
// is free, otherwise the best free time replaces it and the plan says why. When the calendar
// has no room from start, the sprint starts at the first date that fits every task.
func (t *turn) place(p plan.Plan, start time.Time) (plan.Plan, time.Time, error) {
	return placeOn(t.calendar(nil), p, start)
}

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
		reqs = append(reqs, slots.Request{Title: k.Title, Duration: time.Duration(k.DurationMinutes) * time.Minute,
			Days: days, FirstWeek: k.WeekRange[0], LastWeek: k.WeekRange[1], Preferred: &pref})
		placed = append(placed, i)
	}
	out := p
	out.ProposedTasks = append([]plan.ProposedTask(nil), p.ProposedTasks...)
	out.ConflictsDetected = nil

	got, conflicts, err := cal.PlaceAll(start, reqs)
	if errors.Is(err, slots.ErrNoSlot) {
		later, ferr := cal.FirstAvailableStart(start, reqs)
		if ferr != nil {
			return p, start, fmt.Errorf("%w: %w", errNoRoom, ferr)
		}
		start = later.In(cal.Loc)
		got, conflicts, err = cal.PlaceAll(start, reqs)
		out.ConflictsDetected = append(out.ConflictsDetected, plan.Conflict{ExistingTaskTitle: "Your calendar",
			ScheduledAt: start.UTC().Format(time.RFC3339),
			Message:     fmt.Sprintf("There is not enough free time sooner, so the sprint starts %s.", start.Format("Monday 2 January"))})
	}
	if err != nil {
		return p, start, fmt.Errorf("graph: place plan: %w", err)
	}
	for j, s := range got {
		k := &out.ProposedTasks[placed[j]]
		k.SuggestedTime = s.At.String()
	}
	for _, c := range conflicts {
		if len(out.ConflictsDetected) == plan.MaxConflicts {
			break
		}
		out.ConflictsDetected = append(out.ConflictsDetected, plan.Conflict{ExistingTaskTitle: c.ExistingTitle,
			ScheduledAt: c.ExistingAt.Format(time.RFC3339), Message: c.Message})
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
