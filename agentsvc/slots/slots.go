package slots

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

const (
	// Buffer is the free time kept between any two tasks, on both sides.
	Buffer = 15 * time.Minute
	// Step is the candidate grid: slots start on the quarter hour, local time.
	Step = 15 * time.Minute
	// HorizonWeeks is the sprint length a request's weeks count within.
	HorizonWeeks = 6
	// MaxDuration bounds a request, so daily occurrences (23 hours apart on
	// the day clocks go forward) can never clash with each other.
	MaxDuration = 12 * time.Hour

	stepMinutes  = int(Step / time.Minute)
	horizonDays  = 7 * HorizonWeeks
	maxLookahead = 366 // days FirstAvailableStart tries at most
)

// ErrNoSlot is returned (wrapped, with what was asked) when no local time
// fits every occurrence of a request.
var ErrNoSlot = errors.New("slots: no free slot")

// Busy is an existing pending or rescheduled task.
type Busy struct {
	Start    time.Time
	Duration time.Duration
	Title    string
}

// AvoidSlot is a Pattern Observer time_avoidance pattern: From–To local on
// Day (may cross midnight), with the pattern's confidence 0..1.
type AvoidSlot struct {
	Day        time.Weekday
	From, To   Clock
	Confidence float64
}

// BestTime is a Pattern Observer best time: At on Day, or on any day.
type BestTime struct {
	Day    time.Weekday
	AnyDay bool
	At     Clock
}

// Hints rank the free times; they never make a time free or busy.
type Hints struct {
	Chronotype string // "morning", "evening", "neutral" or ""
	Avoid      []AvoidSlot
	Best       []BestTime
}

// Calendar is what a user's time is made of. Methods do not modify it and
// may be called concurrently.
type Calendar struct {
	Loc   *time.Location // the user's zone; nil means UTC
	Sleep *Window        // hard block, every day
	Work  *WorkHours     // soft block
	Busy  []Busy         // existing tasks, blocking with Buffer
	Hints Hints
}

// Request is a recurring need: the same local time on each of Days (none
// means every day) for weeks FirstWeek..LastWeek (1-based, at most
// HorizonWeeks), counted from the start date. Zero weeks mean week 1 only;
// a zero LastWeek means FirstWeek only.
type Request struct {
	Title               string
	Duration            time.Duration
	Days                []time.Weekday
	FirstWeek, LastWeek int
	Preferred           *Clock // the planner's suggested time, honoured when free
}

// Slot is a placed request.
type Slot struct {
	Title       string
	At          Clock       // the local time of every occurrence
	Starts      []time.Time // every occurrence, UTC, in order
	Duration    time.Duration
	InWorkHours bool   // the soft block was used because nothing else fitted
	Conflict    string // why Preferred was not used; "" when it was or none was given
	Moved       Reason // Conflict's reason, for callers that word it themselves
}

// Reason is why a request's preferred time was not used, the first that applies in
// this order.
type Reason int

const (
	Kept    Reason = iota // the preferred time was used, or none was given
	Skipped               // it does not exist on a date (the clocks change)
	Passed                // every occurrence at it has passed
	Asleep                // it meets the sleep window
	Booked                // it meets a task, buffer included
	Working               // it meets work hours and another time is free
)

// Conflict is a proposed occurrence that meets an existing task within the
// buffer.
type Conflict struct {
	ExistingTitle string
	ExistingAt    time.Time // UTC
	ProposedAt    time.Time // UTC
	Message       string
}

// Place chooses one local time for every occurrence of req, from the local
// date of start; occurrences before start itself are left out (they have
// passed). The time is free of sleep, of existing tasks with their buffer,
// and, unless nothing else fits, of work hours. It returns an error wrapping
// ErrNoSlot when no such time exists.
func (c *Calendar) Place(start time.Time, req Request) (Slot, error) {
	slots, _, err := c.PlaceAll(start, []Request{req})
	if err != nil {
		return Slot{}, err
	}
	return slots[0], nil
}

// PlaceAll places reqs in order, each placement blocking the ones after it
// the way a plan is built. Conflicts are the existing tasks (or earlier
// placements) that kept a preferred time from being used. It stops at the
// first request that does not fit and returns the slots placed before it.
func (c *Calendar) PlaceAll(start time.Time, reqs []Request) ([]Slot, []Conflict, error) {
	if err := c.validate(); err != nil {
		return nil, nil, err
	}
	ix := c.newIndex(start, horizonDays)
	var (
		out       []Slot
		conflicts []Conflict
	)
	for i, r := range reqs {
		p, err := ix.plan(start, r)
		if err != nil {
			return out, conflicts, fmt.Errorf("slots: request %d (%q): %w", i, r.Title, err)
		}
		s, cs, err := ix.place(p)
		conflicts = append(conflicts, cs...)
		if err != nil {
			return out, conflicts, err
		}
		starts := make([]int64, len(s.Starts))
		for i, t := range s.Starts {
			starts[i] = t.UnixNano()
		}
		ix.addSlot(starts, int64(s.Duration), s.Title)
		out = append(out, s)
	}
	return out, conflicts, nil
}

// Conflicts reports every existing task that proposed occurrences of length
// d would meet, buffer included, ordered by proposal then existing start.
func (c *Calendar) Conflicts(starts []time.Time, d time.Duration) []Conflict {
	if len(starts) == 0 {
		return nil
	}
	ix := c.newIndex(starts[0], 0)
	var out []Conflict
	for _, s := range starts {
		out = append(out, ix.conflicts(s.UnixNano(), d)...)
	}
	return out
}

// Next finds the earliest start at or after after, on the local quarter-hour
// grid, where a task of length d meets no sleep and no task within the
// buffer: on the same local day when sameDay, otherwise within HorizonWeeks.
// Work hours stay a soft block: a time inside them is returned only when
// nothing outside them is free in that range. It reports false when
// nothing is free, and for d ≤ 0 or an invalid calendar.
func (c *Calendar) Next(after time.Time, d time.Duration, sameDay bool) (time.Time, bool) {
	if d <= 0 || c.validate() != nil {
		return time.Time{}, false
	}
	n := horizonDays
	if sameDay {
		n = 1
	}
	ix := c.newIndex(after, n)
	limit := ix.days[n+1].midnight
	local := after.In(ix.loc)
	t := after.UnixNano()
	// Round up on the local wall clock, so odd UTC offsets keep the grid.
	if rem := time.Duration(local.Minute()%stepMinutes)*time.Minute +
		time.Duration(local.Second())*time.Second + time.Duration(local.Nanosecond()); rem > 0 {
		t += int64(Step - rem)
	}
	soft := int64(-1)
	for ; t < limit; t += int64(Step) {
		e := t + int64(d)
		if ix.sleep.overlaps(t, e) || ix.busy.overlaps(t, e) {
			continue
		}
		if !ix.work.overlaps(t, e) {
			return time.Unix(0, t).UTC(), true
		}
		if soft < 0 {
			soft = t
		}
	}
	if soft >= 0 {
		return time.Unix(0, soft).UTC(), true
	}
	return time.Time{}, false
}

// FirstAvailableStart returns the earliest start, from the local date of
// start onwards, at which PlaceAll fits every request: start itself, or
// local midnight of a later date. Once the tasks are all behind the
// candidate date nothing can change any more, so it gives up there (or
// after a year) with an error wrapping ErrNoSlot.
func (c *Calendar) FirstAvailableStart(start time.Time, reqs []Request) (time.Time, error) {
	if err := c.validate(); err != nil {
		return time.Time{}, err
	}
	var lastEnd time.Time
	for _, b := range c.Busy {
		if e := b.Start.Add(max(b.Duration, 0) + Buffer); e.After(lastEnd) {
			lastEnd = e
		}
	}
	loc := c.location()
	y, m, d := start.In(loc).Date()
	var err error
	for k := 0; k <= maxLookahead; k++ {
		from := start
		if k > 0 {
			first, _, _ := resolveWall(loc, y, m, d+k, Clock{})
			from = time.Unix(0, first)
		}
		if _, _, err = c.PlaceAll(from, reqs); err == nil {
			return from.UTC(), nil
		}
		if !errors.Is(err, ErrNoSlot) || from.After(lastEnd) {
			return time.Time{}, err
		}
	}
	return time.Time{}, err
}

func (c *Calendar) location() *time.Location {
	if c.Loc == nil {
		return time.UTC
	}
	return c.Loc
}

func (c *Calendar) validate() error {
	if c.Sleep != nil {
		if err := c.Sleep.valid(); err != nil {
			return fmt.Errorf("slots: sleep window: %w", err)
		}
	}
	if c.Work != nil {
		if err := c.Work.valid(); err != nil {
			return fmt.Errorf("slots: work hours: %w", err)
		}
		for _, d := range c.Work.Days {
			if d < time.Sunday || d > time.Saturday {
				return fmt.Errorf("slots: work hours: weekday %d is out of range", d)
			}
		}
	}
	h := &c.Hints
	switch h.Chronotype {
	case "", "neutral", "morning", "evening":
	default:
		return fmt.Errorf("slots: chronotype %q is not morning, evening or neutral", h.Chronotype)
	}
	for i, a := range h.Avoid {
		if err := (Window{a.From, a.To}).valid(); err != nil || a.Day < time.Sunday || a.Day > time.Saturday ||
			math.IsNaN(a.Confidence) || a.Confidence < 0 || a.Confidence > 1 {
			return fmt.Errorf("slots: avoid slot %d (%v %v–%v, confidence %v) is invalid", i, a.Day, a.From, a.To, a.Confidence)
		}
	}
	for i, b := range h.Best {
		if err := b.At.valid(); err != nil || b.Day < time.Sunday || b.Day > time.Saturday {
			return fmt.Errorf("slots: best time %d (%v %v) is invalid", i, b.Day, b.At)
		}
	}
	return nil
}

// plan is a validated request against an index.
type plan struct {
	req    Request
	d      int64 // nanoseconds
	dmin   int   // wall minutes, rounded up, for ranking
	dates  []int // indexes into index.days
	counts [7]int
	pref   *Clock
	from   int64 // occurrences before this instant have passed
	weeks  [2]int
}

func (ix *index) plan(start time.Time, r Request) (*plan, error) {
	if r.Duration <= 0 || r.Duration > MaxDuration {
		return nil, fmt.Errorf("duration %v is not between 0 and %v", r.Duration, MaxDuration)
	}
	fw, lw := max(r.FirstWeek, 1), r.LastWeek
	if lw == 0 {
		lw = fw
	}
	if fw > lw || lw > HorizonWeeks {
		return nil, fmt.Errorf("weeks %d–%d are not within 1–%d", r.FirstWeek, r.LastWeek, HorizonWeeks)
	}
	on := [7]bool{true, true, true, true, true, true, true}
	if len(r.Days) > 0 {
		on = [7]bool{}
		for _, d := range r.Days {
			if d < time.Sunday || d > time.Saturday {
				return nil, fmt.Errorf("weekday %d is out of range", d)
			}
			on[d] = true
		}
	}
	if r.Preferred != nil {
		if err := r.Preferred.valid(); err != nil {
			return nil, fmt.Errorf("preferred time: %w", err)
		}
	}
	p := &plan{
		req:   r,
		d:     int64(r.Duration),
		dmin:  int((r.Duration + time.Minute - 1) / time.Minute),
		pref:  r.Preferred,
		from:  start.UnixNano(),
		weeks: [2]int{fw, lw},
	}
	for k := 7 * (fw - 1); k < 7*lw; k++ {
		if dy := ix.days[k+1]; on[dy.wd] {
			p.dates = append(p.dates, k+1)
			p.counts[dy.wd]++
		}
	}
	return p, nil
}

type verdict int

const (
	free    verdict = iota
	soft            // free but for work hours
	blocked         // sleep, a task, a skipped time, or nothing left in the future
)

// check tests every occurrence of p at c. With wantSoft false it gives up at
// the first occurrence in work hours, since a soft fallback is already known.
func (ix *index) check(p *plan, c Clock, wantSoft bool) verdict {
	v, n := free, 0
	for _, i := range p.dates {
		s, ok := ix.at(i, c)
		if !ok {
			return blocked
		}
		if s < p.from {
			continue
		}
		n++
		e := s + p.d
		if ix.sleep.overlaps(s, e) || ix.busy.overlaps(s, e) {
			return blocked
		}
		if v == free && ix.work.overlaps(s, e) {
			if !wantSoft {
				return blocked
			}
			v = soft
		}
	}
	if n == 0 {
		return blocked
	}
	return v
}

// place ranks the grid and takes the first free time, falling back to the
// best time that is free but for work hours.
func (ix *index) place(p *plan) (Slot, []Conflict, error) {
	var (
		why       string
		reason    Reason
		conflicts []Conflict
		fallback  *Clock
	)
	if p.pref != nil {
		switch ix.check(p, *p.pref, true) {
		case free:
			return ix.slot(p, *p.pref, false, "", Kept), nil, nil
		case soft:
			// Honoured after all if every other time is in work hours too.
			fallback = p.pref
		}
		why, reason, conflicts = ix.explain(p, *p.pref)
	}
	for _, cand := range ix.cal.rank(p) {
		if p.pref != nil && cand.c == *p.pref {
			continue
		}
		switch ix.check(p, cand.c, fallback == nil) {
		case free:
			return ix.slot(p, cand.c, false, why, reason), conflicts, nil
		case soft:
			c := cand.c
			fallback = &c
		}
	}
	if fallback != nil {
		if p.pref != nil && *fallback == *p.pref {
			why, reason = "", Kept // every free time is in work hours, the preferred one included
		}
		return ix.slot(p, *fallback, true, why, reason), conflicts, nil
	}
	days := "every day"
	if len(p.req.Days) > 0 {
		names := make([]string, len(p.req.Days))
		for i, d := range p.req.Days {
			names[i] = d.String()[:3]
		}
		days = strings.Join(names, ", ")
	}
	weeks := fmt.Sprintf("weeks %d–%d", p.weeks[0], p.weeks[1])
	if p.weeks[0] == p.weeks[1] {
		weeks = fmt.Sprintf("week %d", p.weeks[0])
	}
	first := ix.days[1]
	return Slot{}, conflicts, fmt.Errorf("%w for %q (%s on %s, %s from %04d-%02d-%02d, %s)",
		ErrNoSlot, p.req.Title, minutes(p.req.Duration), days, weeks, first.y, first.m, first.d, ix.loc)
}

func (ix *index) slot(p *plan, c Clock, inWork bool, why string, reason Reason) Slot {
	s := Slot{Title: p.req.Title, At: c, Duration: p.req.Duration, InWorkHours: inWork, Conflict: why, Moved: reason}
	for _, i := range p.dates {
		if t, ok := ix.at(i, c); ok && t >= p.from {
			s.Starts = append(s.Starts, time.Unix(0, t).UTC())
		}
	}
	return s
}

// explain says why the preferred time c cannot be used for p, naming the
// first reason in this order: a skipped time, sleep, tasks, work hours.
// The task clashes are returned as conflicts.
func (ix *index) explain(p *plan, c Clock) (string, Reason, []Conflict) {
	var (
		gap, sleep, work bool
		gapDay           day
		conflicts        []Conflict
		n                int
	)
	for _, i := range p.dates {
		s, ok := ix.at(i, c)
		if !ok {
			if !gap {
				gap, gapDay = true, ix.days[i]
			}
			continue
		}
		if s < p.from {
			continue
		}
		n++
		e := s + p.d
		sleep = sleep || ix.sleep.overlaps(s, e)
		work = work || ix.work.overlaps(s, e)
		conflicts = append(conflicts, ix.conflicts(s, p.req.Duration)...)
	}
	pre := "preferred " + c.String()
	switch {
	case gap:
		return fmt.Sprintf("%s does not exist on %s %d %s (the clocks change)", pre, gapDay.wd.String()[:3], gapDay.d, gapDay.m.String()[:3]), Skipped, conflicts
	case n == 0:
		return pre + " has already passed", Passed, conflicts
	case sleep:
		return fmt.Sprintf("%s falls in the sleep window %v", pre, *ix.cal.Sleep), Asleep, conflicts
	case len(conflicts) > 0:
		msg := fmt.Sprintf("%s clashes with %q at %s", pre, conflicts[0].ExistingTitle, ix.local(conflicts[0].ExistingAt))
		if len(conflicts) > 1 {
			msg += fmt.Sprintf(" and %d more", len(conflicts)-1)
		}
		return msg + " (" + minutes(Buffer) + " buffer included)", Booked, conflicts
	case work:
		return fmt.Sprintf("%s falls in work hours %v", pre, ix.cal.Work.Window), Working, conflicts
	}
	return "", Kept, conflicts
}

func (ix *index) conflicts(s int64, d time.Duration) []Conflict {
	var out []Conflict
	for _, t := range ix.clashes(s, s+int64(d)) {
		proposed, existing := time.Unix(0, s).UTC(), time.Unix(0, t.s).UTC()
		out = append(out, Conflict{
			ExistingTitle: ix.titles[t.title],
			ExistingAt:    existing,
			ProposedAt:    proposed,
			Message: fmt.Sprintf("%s (%s) is within %s of %q at %s (%s)",
				ix.local(proposed), minutes(d), minutes(Buffer), ix.titles[t.title], ix.local(existing), minutes(time.Duration(t.e-t.s))),
		})
	}
	return out
}

func minutes(d time.Duration) string {
	return fmt.Sprintf("%d min", int(d.Round(time.Minute)/time.Minute))
}

func (ix *index) local(t time.Time) string { return t.In(ix.loc).Format("Mon 2 Jan 15:04 MST") }
