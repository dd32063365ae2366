package slots_test

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/flux-companion/flux/agentsvc/slots"
)

var seedFlag = flag.Uint64("slots.seed", 0, "run the property test on this one calendar seed")

const (
	propIterations = 300
	buffer         = 15 * time.Minute // restated, not slots.Buffer: the check must not trust the code
)

var propZones = []string{
	"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu",
	"Australia/Lord_Howe", // 30-minute clock change
	"America/Santiago",    // changes at midnight
}

// TestPropertyNeverDoubleBooks places random requests on random calendars
// and checks the result with independent, naive code: occurrences at the
// slot's local time on the requested dates, nothing within 15 minutes of
// another task or placement, no minute in the sleep window, no minute in
// work hours unless flagged. When PlaceAll gives up or uses work hours, a
// brute force over the quarter hours confirms nothing better was free.
func TestPropertyNeverDoubleBooks(t *testing.T) {
	t.Parallel()
	seeds := []uint64{*seedFlag}
	if *seedFlag == 0 {
		master := rand.Uint64()
		t.Logf("master seed %d; rerun one failing calendar with -slots.seed=N", master)
		mr := rand.New(rand.NewPCG(master, 0))
		seeds = make([]uint64, propIterations)
		for i := range seeds {
			seeds[i] = mr.Uint64()
		}
	}
	var placed, soft, none int
	for _, seed := range seeds {
		c := randomCase(t, seed)
		got, _, err := c.cal.PlaceAll(c.start, c.reqs)
		if err != nil && !errors.Is(err, slots.ErrNoSlot) {
			t.Fatalf("seed %d: PlaceAll: %v", seed, err)
		}
		if err := c.verify(got, err); err != nil {
			t.Fatalf("seed %d (%s, start %v, %d busy): %v", seed, c.cal.Loc, c.start, len(c.cal.Busy), err)
		}
		if err := c.verifyNext(seed); err != nil {
			t.Fatalf("seed %d (%s, %d busy): %v", seed, c.cal.Loc, len(c.cal.Busy), err)
		}
		placed += len(got)
		for _, s := range got {
			if s.InWorkHours {
				soft++
			}
		}
		if err != nil {
			none++
		}
	}
	t.Logf("%d calendars: %d slots placed (%d in work hours), %d plans ran out of room", len(seeds), placed, soft, none)
}

type propCase struct {
	cal   slots.Calendar
	start time.Time
	reqs  []slots.Request
}

func randomCase(t *testing.T, seed uint64) propCase {
	r := rand.New(rand.NewPCG(seed, seed^0x5105))
	loc := loadLoc(t, propZones[r.IntN(len(propZones))])
	hm := [][2]int{{0, 0}, {0, 0}, {0, 0}, {12, 0}, {18, 30}}[r.IntN(5)]
	c := propCase{start: time.Date(2026, 1, 1+r.IntN(365), hm[0], hm[1], 0, 0, loc)}
	c.cal.Loc = loc

	anyClock := func(from, span int) slots.Clock { // a minute in [from, from+span), round the clock
		m := (from + r.IntN(span)) % (24 * 60)
		if r.IntN(2) == 0 {
			m -= m % 15
		}
		return slots.Clock{H: m / 60, M: m % 60}
	}
	addMinutes := func(c slots.Clock, n int) slots.Clock {
		m := (c.H*60 + c.M + n) % (24 * 60)
		return slots.Clock{H: m / 60, M: m % 60}
	}
	someDays := func(p float64) []time.Weekday {
		if r.Float64() < p {
			return nil
		}
		var days []time.Weekday
		for d := range 7 {
			if r.IntN(2) == 0 {
				days = append(days, time.Weekday(d))
			}
		}
		if len(days) == 0 {
			days = append(days, time.Weekday(r.IntN(7)))
		}
		return days
	}

	if r.Float64() < 0.85 {
		s := anyClock(20*60, 8*60)
		c.cal.Sleep = &slots.Window{Start: s, End: addMinutes(s, 4*60+r.IntN(6*60))}
	}
	if r.Float64() < 0.6 {
		s := anyClock(5*60, 8*60)
		if r.Float64() < 0.15 {
			s = anyClock(20*60, 3*60) // a night shift, crossing midnight
		}
		c.cal.Work = &slots.WorkHours{Window: slots.Window{Start: s, End: addMinutes(s, 3*60+r.IntN(7*60))}, Days: someDays(0.3)}
	}
	n := []int{0, 5, 40, 150, 300}[r.IntN(5)]
	from := c.start.Add(-24 * time.Hour)
	for i := range n {
		d := time.Duration(r.IntN(181)) * time.Minute
		if r.IntN(20) == 0 {
			d = 0
		}
		c.cal.Busy = append(c.cal.Busy, slots.Busy{
			Start:    from.Add(time.Duration(r.Int64N(int64(44 * 24 * time.Hour)))).Truncate(time.Minute),
			Duration: d,
			Title:    fmt.Sprintf("existing %d", i),
		})
	}
	c.cal.Hints.Chronotype = []string{"", "neutral", "morning", "evening"}[r.IntN(4)]
	for range r.IntN(4) {
		f := anyClock(0, 24*60)
		c.cal.Hints.Avoid = append(c.cal.Hints.Avoid, slots.AvoidSlot{
			Day: time.Weekday(r.IntN(7)), From: f, To: addMinutes(f, 30+r.IntN(180)), Confidence: r.Float64(),
		})
	}
	for range r.IntN(3) {
		c.cal.Hints.Best = append(c.cal.Hints.Best, slots.BestTime{Day: time.Weekday(r.IntN(7)), AnyDay: r.IntN(2) == 0, At: anyClock(0, 24*60)})
	}
	for i := range 1 + r.IntN(5) {
		req := slots.Request{
			Title:    fmt.Sprintf("request %d", i),
			Duration: time.Duration(5+r.IntN(176)) * time.Minute,
			Days:     someDays(0.4),
		}
		if r.IntN(5) > 0 {
			req.FirstWeek = 1 + r.IntN(6)
			req.LastWeek = req.FirstWeek + r.IntN(7-req.FirstWeek)
		}
		if r.IntN(2) == 0 {
			req.Preferred = new(anyClock(0, 24*60))
		}
		c.reqs = append(c.reqs, req)
	}
	return c
}

type span struct {
	s, e  time.Time
	title string
}

// verify checks PlaceAll's answer. placeErr is its error, if any.
func (c *propCase) verify(got []slots.Slot, placeErr error) error {
	loc := c.cal.Loc
	if placeErr == nil && len(got) != len(c.reqs) || placeErr != nil && len(got) >= len(c.reqs) {
		return fmt.Errorf("%d slots for %d requests (error %v)", len(got), len(c.reqs), placeErr)
	}
	var taken []span
	for _, b := range c.cal.Busy {
		taken = append(taken, span{b.Start, b.Start.Add(b.Duration), b.Title})
	}
	for k, s := range got {
		req := c.reqs[k]
		if s.Title != req.Title || s.Duration != req.Duration {
			return fmt.Errorf("slot %d is %q/%v, want %q/%v", k, s.Title, s.Duration, req.Title, req.Duration)
		}
		dates := c.dates(req)
		seen := map[int]bool{}
		var mine []span
		for _, st := range s.Starts {
			l := st.In(loc)
			day := c.dayIndex(l)
			if l.Hour() != s.At.H || l.Minute() != s.At.M || l.Second() != 0 {
				return fmt.Errorf("%s: occurrence %v is not at %v local", s.Title, l, s.At)
			}
			if !slices.Contains(dates, day) || seen[day] {
				return fmt.Errorf("%s: occurrence %v is not on a requested date (or twice)", s.Title, l)
			}
			if st.Before(c.start) {
				return fmt.Errorf("%s: occurrence %v is before the start %v", s.Title, l, c.start)
			}
			seen[day] = true
			e := st.Add(s.Duration)
			for _, o := range taken {
				if st.Before(o.e.Add(buffer)) && o.s.Before(e.Add(buffer)) {
					return fmt.Errorf("%s at %v–%v is within %v of %s at %v–%v", s.Title, l, e.In(loc), buffer, o.title, o.s.In(loc), o.e.In(loc))
				}
			}
			for _, o := range mine {
				if st.Before(o.e.Add(buffer)) && o.s.Before(e.Add(buffer)) {
					return fmt.Errorf("%s: two occurrences too close: %v and %v", s.Title, o.s.In(loc), l)
				}
			}
			if m, ok := c.firstMinuteIn(st, e, c.inSleep); ok {
				return fmt.Errorf("%s at %v: %v is in the sleep window %v", s.Title, l, m.In(loc), *c.cal.Sleep)
			}
			if m, ok := c.firstMinuteIn(st, e, c.inWork); ok && !s.InWorkHours {
				return fmt.Errorf("%s at %v: %v is in work hours %v %v but the slot is not flagged", s.Title, l, m.In(loc), c.cal.Work.Window, c.cal.Work.Days)
			}
			mine = append(mine, span{st, e, s.Title})
		}
		for _, d := range dates {
			if d > 0 && !seen[d] {
				return fmt.Errorf("%s: no occurrence on requested day %d", s.Title, d)
			}
		}
		if len(s.Starts) == 0 {
			return fmt.Errorf("%s: no occurrences", s.Title)
		}
		if s.InWorkHours {
			if clock, ok := c.bruteForce(req, taken, false); ok {
				return fmt.Errorf("%s put in work hours at %v, but %v was free of them", s.Title, s.At, clock)
			}
		}
		taken = append(taken, mine...)
	}
	if placeErr != nil {
		req := c.reqs[len(got)]
		if clock, ok := c.bruteForce(req, taken, true); ok {
			return fmt.Errorf("%s: %v, but %v was free", req.Title, placeErr, clock)
		}
	}
	return nil
}

// bruteForce looks for a quarter hour at which every occurrence of req is
// free of sleep and taken (and of work hours unless allowWork). Times that
// a clock change skips or repeats on one of the dates are left out: the
// expectation for them is in the DST tests.
func (c *propCase) bruteForce(req slots.Request, taken []span, allowWork bool) (slots.Clock, bool) {
	loc := c.cal.Loc
	sy, sm, sd := c.start.In(loc).Date()
next:
	for m := 0; m < 24*60; m += 15 {
		clock := slots.Clock{H: m / 60, M: m % 60}
		n := 0
		for _, day := range c.dates(req) {
			st := time.Date(sy, sm, sd+day, clock.H, clock.M, 0, 0, loc)
			if !c.uniqueWall(st, clock) || c.nearClockChange(st, st.Add(req.Duration)) {
				continue next
			}
			if st.Before(c.start) {
				continue
			}
			n++
			e := st.Add(req.Duration)
			for _, o := range taken {
				if st.Before(o.e.Add(buffer)) && o.s.Before(e.Add(buffer)) {
					continue next
				}
			}
			if _, in := c.firstMinuteIn(st, e, c.inSleep); in {
				continue next
			}
			if _, in := c.firstMinuteIn(st, e, c.inWork); in && !allowWork {
				continue next
			}
		}
		if n > 0 {
			return clock, true
		}
	}
	return slots.Clock{}, false
}

// nearClockChange: the UTC offset changes within three hours of [s, e).
// There slots blocks more than the wall-clock windows (a repeated hour
// is blocked whole), so the brute force has no say.
func (c *propCase) nearClockChange(s, e time.Time) bool {
	_, a := s.Add(-3 * time.Hour).In(c.cal.Loc).Zone()
	_, b := e.Add(3 * time.Hour).In(c.cal.Loc).Zone()
	return a != b
}

// uniqueWall: t shows clock, and no instant within two hours shows the same
// date and clock.
func (c *propCase) uniqueWall(t time.Time, clock slots.Clock) bool {
	l := t.In(c.cal.Loc)
	if l.Hour() != clock.H || l.Minute() != clock.M {
		return false
	}
	for d := -120; d <= 120; d += 15 {
		if d == 0 {
			continue
		}
		o := t.Add(time.Duration(d) * time.Minute).In(c.cal.Loc)
		if o.Hour() == clock.H && o.Minute() == clock.M && o.Day() == l.Day() {
			return false
		}
	}
	return true
}

// dates lists the requested days as offsets from the start date.
func (c *propCase) dates(req slots.Request) []int {
	fw, lw := max(req.FirstWeek, 1), req.LastWeek
	if lw == 0 {
		lw = fw
	}
	sy, sm, sd := c.start.In(c.cal.Loc).Date()
	var out []int
	for d := 7 * (fw - 1); d < 7*lw; d++ {
		wd := time.Date(sy, sm, sd+d, 12, 0, 0, 0, time.UTC).Weekday()
		if len(req.Days) == 0 || slices.Contains(req.Days, wd) {
			out = append(out, d)
		}
	}
	return out
}

func (c *propCase) dayIndex(l time.Time) int {
	sy, sm, sd := c.start.In(c.cal.Loc).Date()
	y, m, d := l.Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Sub(time.Date(sy, sm, sd, 0, 0, 0, 0, time.UTC)) / (24 * time.Hour))
}

// firstMinuteIn walks [s, e) a minute at a time and returns the first
// instant whose local wall clock satisfies in.
func (c *propCase) firstMinuteIn(s, e time.Time, in func(time.Time) bool) (time.Time, bool) {
	for x := s; x.Before(e); x = x.Add(time.Minute) {
		if in(x.In(c.cal.Loc)) {
			return x, true
		}
	}
	return time.Time{}, false
}

func minuteOf(l time.Time) int           { return l.Hour()*60 + l.Minute() }
func yesterday(l time.Time) time.Weekday { return (l.Weekday() + 6) % 7 }

// inWindow: the wall clock of l is in w, and the instance it belongs to
// started on a day on allows.
func inWindow(l time.Time, w slots.Window, on func(time.Weekday) bool) bool {
	m, a, b := minuteOf(l), w.Start.Minutes(), w.End.Minutes()
	switch {
	case a == b:
		return false
	case a < b:
		return a <= m && m < b && on(l.Weekday())
	default:
		return m >= a && on(l.Weekday()) || m < b && on(yesterday(l))
	}
}

func (c *propCase) inSleep(l time.Time) bool {
	return c.cal.Sleep != nil && inWindow(l, *c.cal.Sleep, func(time.Weekday) bool { return true })
}

func (c *propCase) inWork(l time.Time) bool {
	w := c.cal.Work
	if w == nil {
		return false
	}
	return inWindow(l, w.Window, func(d time.Weekday) bool {
		if len(w.Days) == 0 {
			return d >= time.Monday && d <= time.Friday
		}
		return slices.Contains(w.Days, d)
	})
}

// verifyNext asks for a reschedule at a random moment of the horizon and
// checks the answer the same way; on the same day it also walks every
// earlier quarter hour to confirm none was free.
func (c *propCase) verifyNext(seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 7))
	loc := c.cal.Loc
	after := c.start.Add(time.Duration(r.Int64N(int64(40 * 24 * time.Hour))))
	d := time.Duration(5+r.IntN(176)) * time.Minute
	sameDay := r.IntN(3) > 0
	got, ok := c.cal.Next(after, d, sameDay)

	var taken []span
	for _, b := range c.cal.Busy {
		taken = append(taken, span{b.Start, b.Start.Add(b.Duration), b.Title})
	}
	free := func(st time.Time, allowWork bool) bool {
		e := st.Add(d)
		for _, o := range taken {
			if st.Before(o.e.Add(buffer)) && o.s.Before(e.Add(buffer)) {
				return false
			}
		}
		if _, in := c.firstMinuteIn(st, e, c.inSleep); in {
			return false
		}
		_, in := c.firstMinuteIn(st, e, c.inWork)
		return allowWork || !in
	}
	if ok {
		l := got.In(loc)
		if got.Before(after) || l.Minute()%15 != 0 || l.Second() != 0 || l.Nanosecond() != 0 {
			return fmt.Errorf("Next(%v, %v) = %v: before the request or off the grid", after.In(loc), d, l)
		}
		if sameDay && l.YearDay() != after.In(loc).YearDay() {
			return fmt.Errorf("Next(%v, %v, same day) = %v: another day", after.In(loc), d, l)
		}
		if !free(got, true) {
			return fmt.Errorf("Next(%v, %v) = %v: not free", after.In(loc), d, l)
		}
	}
	if !sameDay {
		return nil
	}
	// Every quarter hour from after to the end of its local day.
	x := after.Truncate(time.Minute)
	if x.Before(after) {
		x = x.Add(time.Minute)
	}
	for x.In(loc).Minute()%15 != 0 {
		x = x.Add(time.Minute)
	}
	if c.nearClockChange(after, after.Add(24*time.Hour)) {
		return nil // the wall-clock walk and slots' conservative blocks may differ
	}
	day := after.In(loc).YearDay()
	soft := ok && !free(got, false)
	for ; x.In(loc).YearDay() == day; x = x.Add(15 * time.Minute) {
		if ok && !x.Before(got) {
			break
		}
		if free(x, false) || (!ok || soft) && free(x, true) {
			return fmt.Errorf("Next(%v, %v, same day) = %v, %v; but %v was free", after.In(loc), d, got.In(loc), ok, x.In(loc))
		}
	}
	if soft {
		// In work hours: nothing outside them may be free later that day either.
		for ; x.In(loc).YearDay() == day; x = x.Add(15 * time.Minute) {
			if free(x, false) {
				return fmt.Errorf("Next(%v, %v) = %v in work hours, but %v was free of them", after.In(loc), d, got.In(loc), x.In(loc))
			}
		}
	}
	return nil
}
