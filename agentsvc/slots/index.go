package slots

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// intervals is a sorted set of disjoint half-open intervals [s[i], e[i]) in
// Unix nanoseconds. Because they are disjoint, the ends are sorted too, so
// an overlap test is one binary search.
type intervals struct{ s, e []int64 }

// fromSorted merges intervals given in order of start. It reuses the
// slices: the merged set is never longer than its input.
func fromSorted(s, e []int64) intervals {
	n := 0
	for i := range s {
		if s[i] >= e[i] {
			continue
		}
		if n > 0 && s[i] <= e[n-1] {
			e[n-1] = max(e[n-1], e[i])
			continue
		}
		s[n], e[n] = s[i], e[i]
		n++
	}
	return intervals{s[:n], e[:n]}
}

// first returns the index of the first interval ending after a.
func (v *intervals) first(a int64) int {
	lo, hi := 0, len(v.e)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if v.e[m] > a {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// overlaps reports whether [a, b) meets any interval.
func (v *intervals) overlaps(a, b int64) bool {
	i := v.first(a)
	return i < len(v.s) && v.s[i] < b
}

// task is a busy entry; its name (for conflict reports) is kept aside in
// index.titles, so tasks hold no pointers and move as plain memory.
type task struct {
	s, e  int64
	title int
}

// day is one local calendar date of the search range.
type day struct {
	y        int
	m        time.Month
	d        int
	wd       time.Weekday
	midnight int64
	// uniform: the date starts at 00:00 and keeps one UTC offset all day,
	// so a wall time is midnight plus the clock. Other dates (clock changes)
	// go through resolveWall.
	uniform bool
}

// index is a calendar prepared for one search: dates from the start date,
// and the blocks as interval sets.
type index struct {
	loc    *time.Location
	days   []day // days[0] is the day before the first date, for windows crossing into it
	sleep  intervals
	work   intervals
	busy   intervals // tasks widened by Buffer on both sides
	tasks  []task    // sorted by start
	titles []string  // task.title indexes this
	span   int64     // longest task, bounds the backward scan in clashes
	cal    *Calendar
}

// newIndex prepares the calendar for dates from the local date of from
// onwards, for n dates (plus one each side for spill-over).
func (c *Calendar) newIndex(from time.Time, n int) *index {
	loc := c.location()
	ix := &index{loc: loc, cal: c}
	y, m, d := from.In(loc).Date()
	ix.days = make([]day, n+2)
	// Most dates lie well inside one zone period (the months between clock
	// changes): their midnight is the previous one plus a day. Only dates
	// near a change pay for resolveWall.
	zs, ze, off := int64(math.MaxInt64), int64(math.MinInt64), int64(0)
	for i := range ix.days {
		wall := time.Date(y, m, d+i-1, 0, 0, 0, 0, time.UTC)
		if u := wall.UnixNano() - off; u-dayNs >= zs && u+2*dayNs <= ze { // margins as in makeDay
			wy, wm, wd := wall.Date()
			ix.days[i] = day{y: wy, m: wm, d: wd, wd: wall.Weekday(), midnight: u, uniform: true}
			continue
		}
		ix.days[i] = makeDay(loc, y, m, d+i-1)
		t := time.Unix(0, ix.days[i].midnight).In(loc)
		a, b := t.ZoneBounds()
		zs, ze, off = math.MinInt64, math.MaxInt64, int64(offsetAt(t))*int64(time.Second)
		if !a.IsZero() {
			zs = a.UnixNano()
		}
		if !b.IsZero() {
			ze = b.UnixNano()
		}
	}

	if c.Sleep != nil && !c.Sleep.empty() {
		ix.sleep = windowIntervals(ix, *c.Sleep, nil)
	}
	if c.Work != nil && !c.Work.empty() {
		on := workDays(c.Work.Days)
		ix.work = windowIntervals(ix, c.Work.Window, &on)
	}

	ix.tasks = make([]task, 0, len(c.Busy))
	ix.titles = make([]string, 0, len(c.Busy))
	for i, b := range c.Busy {
		s := b.Start.UnixNano()
		ix.tasks = append(ix.tasks, task{s: s, e: s + max(b.Duration, 0).Nanoseconds(), title: i})
		ix.titles = append(ix.titles, b.Title)
	}
	slices.SortFunc(ix.tasks, func(a, b task) int { return cmp.Or(cmp.Compare(a.s, b.s), cmp.Compare(a.e, b.e)) })
	s := make([]int64, len(ix.tasks))
	e := make([]int64, len(ix.tasks))
	for i, t := range ix.tasks {
		s[i], e[i] = t.s-int64(Buffer), t.e+int64(Buffer)
		ix.span = max(ix.span, t.e-t.s)
	}
	ix.busy = fromSorted(s, e)
	return ix
}

func makeDay(loc *time.Location, y int, m time.Month, d int) day {
	first, last, ok := resolveWall(loc, y, m, d, Clock{})
	t := time.Unix(0, first).In(loc)
	y, m, d = time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Date()
	dy := day{y: y, m: m, d: d, wd: time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday(), midnight: first}
	// Uniform: midnight is unique, and the zone lasts a day past the next
	// midnight, so no clock change (a backward one repeats the hours
	// before it) can touch this date's wall times.
	if ok && first == last {
		next, _, _ := resolveWall(loc, y, m, d+1, Clock{})
		_, end := t.ZoneBounds()
		dy.uniform = end.IsZero() || end.UnixNano() >= next+dayNs
	}
	return dy
}

const dayNs = int64(24 * time.Hour)

// at returns the first instant of clock c on days[i], false when the clock
// change skips that time.
func (ix *index) at(i int, c Clock) (int64, bool) {
	first, _, ok := ix.wall(i, c)
	return first, ok
}

// wall is resolveWall for days[i]; i may be one past the table.
func (ix *index) wall(i int, c Clock) (first, last int64, exists bool) {
	if i < len(ix.days) && ix.days[i].uniform {
		t := ix.days[i].midnight + int64(c.Minutes())*int64(time.Minute)
		return t, t, true
	}
	dy := ix.days[min(i, len(ix.days)-1)]
	return resolveWall(ix.loc, dy.y, dy.m, dy.d+i-min(i, len(ix.days)-1), c)
}

// windowIntervals lays a daily window over the index's dates. Each instance
// runs from the first instant of its start to the last instant of its end,
// so a repeated hour is covered entirely and a skipped start begins at the
// jump: the blocks are never narrower than the wall-clock window.
func windowIntervals(ix *index, w Window, on *[7]bool) intervals {
	s := make([]int64, 0, len(ix.days))
	e := make([]int64, 0, len(ix.days))
	for i, dy := range ix.days {
		if on != nil && !on[dy.wd] {
			continue
		}
		a, _, _ := ix.wall(i, w.Start)
		ei := i
		if w.crosses() {
			ei++
		}
		_, b, _ := ix.wall(ei, w.End)
		s, e = append(s, a), append(e, b)
	}
	return fromSorted(s, e)
}

func workDays(days []time.Weekday) [7]bool {
	var on [7]bool
	if len(days) == 0 {
		for d := time.Monday; d <= time.Friday; d++ {
			on[d] = true
		}
	}
	for _, d := range days {
		on[d] = true
	}
	return on
}

// addSlot blocks the occurrences of a placed slot (sorted starts, each
// lasting d) for later placements. Both lists are merged from the back in
// place: one pass per slot, no copy of the calendar.
func (ix *index) addSlot(starts []int64, d int64, title string) {
	ix.titles = append(ix.titles, title)
	id := len(ix.titles) - 1
	ix.span = max(ix.span, d)
	k := len(starts)

	n := len(ix.tasks)
	ix.tasks = slices.Grow(ix.tasks, k)[:n+k]
	for i, j, w := n-1, k-1, n+k-1; j >= 0; w-- {
		if i >= 0 && ix.tasks[i].s > starts[j] {
			ix.tasks[w] = ix.tasks[i]
			i--
		} else {
			ix.tasks[w] = task{s: starts[j], e: starts[j] + d, title: id}
			j--
		}
	}

	v := &ix.busy
	n = len(v.s)
	v.s, v.e = slices.Grow(v.s, k)[:n+k], slices.Grow(v.e, k)[:n+k]
	for i, j, w := n-1, k-1, n+k-1; j >= 0; w-- {
		if a := starts[j] - int64(Buffer); i >= 0 && v.s[i] > a {
			v.s[w], v.e[w] = v.s[i], v.e[i]
			i--
		} else {
			v.s[w], v.e[w] = a, starts[j]+d+int64(Buffer)
			j--
		}
	}
	*v = fromSorted(v.s, v.e)
}

// clashes lists the tasks within Buffer of [s, e), in order of start.
func (ix *index) clashes(s, e int64) []task {
	lo, hi := s-int64(Buffer), e+int64(Buffer)
	// Tasks starting at or after hi cannot clash; tasks starting before
	// lo-span end before lo.
	j, _ := slices.BinarySearchFunc(ix.tasks, hi, func(t task, v int64) int { return cmp.Compare(t.s, v) })
	i, _ := slices.BinarySearchFunc(ix.tasks, lo-ix.span, func(t task, v int64) int { return cmp.Compare(t.s, v) })
	var out []task
	for _, t := range ix.tasks[i:j] {
		if t.e > lo {
			out = append(out, t)
		}
	}
	return out
}
