package plan

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/teambition/rrule-go"

	"github.com/flux-companion/flux/agentsvc/timeparse"
)

// MaxExpansion bounds ExpandRRule, so a daily rule over a mistaken year-long
// window fails loudly instead of writing thousands of rows.
const MaxExpansion = 1000

// allowedRuleParts are the RRULE parts a plan may use; see the package doc.
var allowedRuleParts = []string{"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYSETPOS", "WKST"}

// rule is a checked RRULE body.
type rule struct {
	body string // normalized: upper case, no "RRULE:" prefix or trailing ';'
	opt  rrule.ROption
}

// normalizeRule forgives what does not change a rule's meaning: case, an
// "RRULE:" prefix, surrounding space and a trailing ';'.
func normalizeRule(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "RRULE:")
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), ";"))
}

// parseRule checks an RRULE body against the plan's subset and parses it.
// UNTIL without a zone is read in loc.
func parseRule(s string, loc *time.Location) (*rule, error) {
	body := normalizeRule(s)
	if body == "" {
		return nil, errors.New("empty RRULE")
	}
	if strings.ContainsAny(body, "\r\n") {
		return nil, errors.New("want one RRULE line without DTSTART, e.g. FREQ=WEEKLY;BYDAY=MO,WE,FR")
	}
	var seen []string
	for part := range strings.SplitSeq(body, ";") {
		key, value, ok := strings.Cut(part, "=")
		switch {
		case !ok || key == "" || value == "":
			return nil, fmt.Errorf("part %q is not NAME=VALUE", part)
		case slices.Contains(seen, key):
			return nil, fmt.Errorf("%s appears twice", key)
		case key == "DTSTART":
			return nil, errors.New("remove DTSTART: the start comes from week_range and suggested_time")
		case key == "BYHOUR" || key == "BYMINUTE" || key == "BYSECOND":
			return nil, fmt.Errorf("remove %s: the time of day comes from suggested_time", key)
		case key == "FREQ" && value != "DAILY" && value != "WEEKLY" && value != "MONTHLY":
			return nil, fmt.Errorf("FREQ=%s is not allowed: use DAILY, WEEKLY or MONTHLY (the time of day comes from suggested_time)", value)
		case (key == "INTERVAL" || key == "COUNT") && !positive(value):
			return nil, fmt.Errorf("%s=%s must be a positive integer", key, value)
		case key == "BYSETPOS" && !strings.Contains(";"+body+";", ";FREQ=MONTHLY;"):
			// Only a monthly set has positions worth picking; elsewhere a
			// BYSETPOS that never matches makes rrule-go search to year 9999.
			return nil, errors.New("BYSETPOS is only supported with FREQ=MONTHLY")
		case !slices.Contains(allowedRuleParts, key):
			return nil, fmt.Errorf("%s is not supported in a 6-week plan; use only %s", key, strings.Join(allowedRuleParts, ", "))
		}
		seen = append(seen, key)
	}
	opt, err := rrule.StrToROptionInLocation(body, loc)
	if err != nil {
		return nil, fmt.Errorf("not a valid RRULE: %v", err)
	}
	if _, err := rrule.NewRRule(*opt); err != nil { // checks BYDAY, BYMONTHDAY, BYSETPOS bounds
		return nil, fmt.Errorf("not a valid RRULE: %v", err)
	}
	return &rule{body: body, opt: *opt}, nil
}

func positive(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0
}

// byDays returns the weekdays of BYDAY, ignoring ordinals like the 1 of 1MO.
func (r *rule) byDays() []time.Weekday {
	var out []time.Weekday
	for i := range r.opt.Byweekday {
		wd := time.Weekday((r.opt.Byweekday[i].Day() + 1) % 7) // rrule-go counts from Monday
		if !slices.Contains(out, wd) {
			out = append(out, wd)
		}
	}
	return out
}

// daysConflict says why the rule and scheduled_days disagree, or "". The
// model states the days twice; if they differ, which one it meant is a guess.
// nDays is the raw number of scheduled_days, days the valid distinct ones.
func (r *rule) daysConflict(days []time.Weekday, nDays int) string {
	by := r.byDays()
	switch {
	case len(by) > 0:
		if nDays > 0 && !sameDays(by, days) {
			return fmt.Sprintf("BYDAY=%s does not match scheduled_days %s; make them the same days", timeparse.ByDay(by), dayNames(days))
		}
	case r.opt.Freq == rrule.DAILY:
		if nDays > 0 && len(days) != 7 {
			return fmt.Sprintf("FREQ=DAILY without BYDAY repeats every day, but scheduled_days is %s; add BYDAY=%s or list all seven days", dayNames(days), timeparse.ByDay(days))
		}
	case r.opt.Freq == rrule.WEEKLY:
		if nDays == 0 {
			return "FREQ=WEEKLY needs BYDAY or scheduled_days to say which days"
		}
	case r.opt.Freq == rrule.MONTHLY:
		if nDays > 0 {
			return fmt.Sprintf("a monthly rule without BYDAY ignores scheduled_days %s; leave scheduled_days empty or add BYDAY", dayNames(days))
		}
	}
	return ""
}

func sameDays(a, b []time.Weekday) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(d time.Weekday) bool { return !slices.Contains(b, d) })
}

// sortedDays returns days Monday first, the order of Weekdays.
func sortedDays(days []time.Weekday) []time.Weekday {
	out := slices.Clone(days)
	slices.SortFunc(out, func(a, b time.Weekday) int { return (int(a)+6)%7 - (int(b)+6)%7 })
	return out
}

func dayNames(days []time.Weekday) string { return "[" + strings.Join(dayNamesList(days), " ") + "]" }

// WeeklyRule is the RRULE equivalent of a task scheduled on days every week.
func WeeklyRule(days []time.Weekday) string {
	if len(days) == 7 {
		return "FREQ=DAILY"
	}
	return "FREQ=WEEKLY;BYDAY=" + timeparse.ByDay(days)
}

// WeeklyDays reads a rule that repeats every week on fixed days: FREQ=DAILY (all seven days)
// or FREQ=WEEKLY with at most BYDAY and WKST. A weekly rule without BYDAY gives no days: they
// come from elsewhere (scheduled_days). ok is false for every other rule (monthly, intervals,
// counts, UNTIL) and for invalid ones.
func WeeklyDays(body string) (days []time.Weekday, ok bool) {
	r, err := parseRule(body, time.UTC)
	if err != nil || r.opt.Interval > 1 || r.opt.Count > 0 || !r.opt.Until.IsZero() ||
		len(r.opt.Bymonthday) > 0 || len(r.opt.Bysetpos) > 0 {
		return nil, false
	}
	switch r.opt.Freq {
	case rrule.DAILY:
		if d := r.byDays(); len(d) > 0 {
			return d, true
		}
		return []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}, true
	case rrule.WEEKLY:
		return r.byDays(), true
	}
	return nil, false
}

// ExpandRRule returns the occurrences of the RRULE body from first (included)
// until until (excluded), in UTC. first is DTSTART: its location is the zone
// the rule is computed in and its wall clock is every occurrence's time of
// day, so a local 07:00 stays 07:00 across DST changes. A weekly rule without
// BYDAY repeats on first's weekday. The rule must fit the plan's subset (see
// the package doc); more than MaxExpansion occurrences is an error.
//
// Example, a standalone "every Monday at 7" over a 6-week sprint:
//
//	first := time.Date(2026, 3, 16, 7, 0, 0, 0, berlin)
//	at, err := ExpandRRule("FREQ=WEEKLY;BYDAY=MO", first, first.AddDate(0, 0, 42))
func ExpandRRule(body string, first, until time.Time) ([]time.Time, error) {
	r, err := parseRule(body, first.Location())
	if err != nil {
		return nil, fmt.Errorf("plan: recurrence rule %q: %w", body, err)
	}
	var out []time.Time
	err = r.expand(first, func(at time.Time, _ time.Time) bool {
		if !at.Before(until) {
			return false
		}
		out = append(out, at.UTC())
		return true
	})
	if err != nil {
		return nil, err
	}
	if len(out) > MaxExpansion {
		return nil, fmt.Errorf("plan: recurrence rule %q has more than %d occurrences before %s", body, MaxExpansion, until.Format(time.RFC3339))
	}
	return out, nil
}

// expand calls yield with each occurrence (in dtstart's location) and its
// local calendar date (midnight UTC), in order, until yield returns false, the
// rule ends, or MaxExpansion+1 occurrences were yielded.
//
// rrule-go builds each occurrence with time.Date, which resolves DST gaps and
// overlaps differently east and west of UTC, so each one is rebuilt from its
// intended date and dtstart's clock with RFC 5545's rule (wallTime).
func (r *rule) expand(dtstart time.Time, yield func(at, date time.Time) bool) error {
	opt := r.opt
	h, m, s := dtstart.Clock()
	// Explicit, so a DTSTART that falls in a DST gap cannot move the time of day.
	opt.Byhour, opt.Byminute, opt.Bysecond = []int{h}, []int{m}, []int{s}
	opt.Dtstart = dtstart
	rr, err := rrule.NewRRule(opt)
	if err != nil {
		return fmt.Errorf("plan: recurrence rule %q: %w", r.body, err)
	}
	loc := dtstart.Location()
	next := rr.Iterator()
	for range MaxExpansion + 1 {
		t, ok := next()
		if !ok {
			return nil
		}
		date := intendedDate(t, h, m, s, loc)
		if !yield(wallTime(date, h, m, s, loc), date) {
			return nil
		}
	}
	return nil
}

// intendedDate recovers the calendar date rrule-go meant for t, which it built
// as time.Date(date, h, m, s, loc); in a DST gap near midnight that can land
// on a neighbouring date.
func intendedDate(t time.Time, h, m, s int, loc *time.Location) time.Time {
	y, mo, d := t.Date()
	for _, delta := range []int{0, -1, 1} {
		if time.Date(y, mo, d+delta, h, m, s, 0, loc).Equal(t) {
			return time.Date(y, mo, d+delta, 0, 0, 0, 0, time.UTC)
		}
	}
	return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
}

// wallTime is the instant the local wall clock reads date at h:m:s in loc,
// per RFC 5545 §3.3.5: of two such instants (fall back) the first; when there
// is none (spring forward), the time read with the offset before the gap,
// which lands after it. date is a calendar date at midnight UTC.
func wallTime(date time.Time, h, m, s int, loc *time.Location) time.Time {
	naive := time.Date(date.Year(), date.Month(), date.Day(), h, m, s, 0, time.UTC)
	_, before := naive.Add(-48 * time.Hour).In(loc).Zone()
	_, after := naive.Add(48 * time.Hour).In(loc).Zone()
	_, guess := time.Date(date.Year(), date.Month(), date.Day(), h, m, s, 0, loc).Zone()

	var best time.Time
	for _, off := range []int{before, after, guess} {
		t := naive.Add(-time.Duration(off) * time.Second).In(loc)
		y, mo, d := t.Date()
		th, tm, ts := t.Clock()
		if y == date.Year() && mo == date.Month() && d == date.Day() && th == h && tm == m && ts == s {
			if best.IsZero() || t.Before(best) {
				best = t
			}
		}
	}
	if best.IsZero() {
		best = naive.Add(-time.Duration(before) * time.Second).In(loc)
	}
	return best
}
