package plan

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/teambition/rrule-go"

	"github.com/flux-companion/flux/agentsvc/timeparse"
)

// Occurrence is one concrete task row of a plan.
type Occurrence struct {
	TaskIndex   int // index into Plan.ProposedTasks
	Title       string
	Description string
	At          time.Time // UTC
	Duration    time.Duration
	// RRule is the task's recurrence rule, normalized, or for a task given
	// only by scheduled_days the equivalent weekly (or daily) rule, so every
	// materialized row says how it repeats.
	RRule string
}

// Materialize turns p's proposed tasks into occurrences over the sprint,
// sorted by At (ties in task order).
//
// Only start's calendar date as it reads in start's own location is used: it
// is the user's local date the sprint begins, so pass time.Date(y, m, d, 0, 0,
// 0, 0, loc) or now.In(loc), not a UTC instant. Week n is the 7 days from
// start+7(n-1) days; each task runs in the weeks of its week_range, at
// suggested_time on the local clock of loc (see the package doc for DST).
//
// A task without recurrence_rule occurs on each of its scheduled_days. A task
// with one is expanded with DTSTART at the first day of its week range at
// suggested_time in loc, and stops before the day after its last week; a
// weekly rule without BYDAY takes its days from scheduled_days. A rule can
// yield nothing in the window (BYMONTHDAY=31 in a sprint without a 31st);
// such a task contributes no occurrences and is not an error.
//
// p must pass Validate; the error of Validate is returned otherwise.
func Materialize(p Plan, start time.Time, loc *time.Location) ([]Occurrence, error) {
	if loc == nil {
		return nil, errors.New("plan: materialize: nil location")
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("plan: materialize invalid plan: %w", err)
	}
	y, m, d := start.Date()
	day0 := time.Date(y, m, d, 0, 0, 0, 0, time.UTC) // calendar arithmetic only, never an instant

	var out []Occurrence
	for i, t := range p.ProposedTasks {
		h, mi, _ := timeparse.HHMM(t.SuggestedTime)
		first := day0.AddDate(0, 0, 7*(t.WeekRange[0]-1))
		end := day0.AddDate(0, 0, 7*t.WeekRange[1]) // exclusive
		var days []time.Weekday
		for _, s := range t.ScheduledDays {
			wd, _ := parseWeekday(s)
			days = append(days, wd)
		}
		occ := Occurrence{
			TaskIndex:   i,
			Title:       t.Title,
			Description: t.Description,
			Duration:    time.Duration(t.DurationMinutes) * time.Minute,
		}

		if normalizeRule(t.RecurrenceRule) == "" {
			occ.RRule = WeeklyRule(days)
			for date := first; date.Before(end); date = date.AddDate(0, 0, 1) {
				if slices.Contains(days, date.Weekday()) {
					occ.At = wallTime(date, h, mi, 0, loc).UTC()
					out = append(out, occ)
				}
			}
			continue
		}

		r, err := parseRule(t.RecurrenceRule, loc)
		if err != nil { // Validate parsed it already; only UNTIL's zone differs
			return nil, fmt.Errorf("plan: proposed_tasks[%d].recurrence_rule %q: %w", i, t.RecurrenceRule, err)
		}
		occ.RRule = r.body
		if r.opt.Freq == rrule.WEEKLY && len(r.opt.Byweekday) == 0 {
			for _, wd := range sortedDays(days) {
				r.opt.Byweekday = append(r.opt.Byweekday, rruleWeekday(wd))
			}
		}
		// DTSTART in loc: rrule-go computes in DTSTART's location, so the
		// local time of day holds across DST.
		dtstart := time.Date(first.Year(), first.Month(), first.Day(), h, mi, 0, 0, loc)
		err = r.expand(dtstart, func(at, date time.Time) bool {
			if !date.Before(end) {
				return false
			}
			occ.At = at.UTC()
			out = append(out, occ)
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("plan: proposed_tasks[%d]: %w", i, err)
		}
	}
	slices.SortStableFunc(out, func(a, b Occurrence) int { return a.At.Compare(b.At) })
	return out, nil
}

func rruleWeekday(d time.Weekday) rrule.Weekday {
	return [7]rrule.Weekday{rrule.SU, rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA}[d]
}
