package timeparse

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Result of parsing one message.
type Result struct {
	At      time.Time // the first occurrence, in UTC; zero when no date/time was found
	RRule   string    // RFC 5545 RRULE body without DTSTART (e.g. "FREQ=WEEKLY;BYDAY=MO", "FREQ=DAILY") when recurring; "" otherwise
	HasDate bool      // a day was given or implied ("tomorrow", "Monday", "every day", "in 20 minutes"); false for a time alone ("at 5pm"), whose day At picks by the roll-over rule
	HasTime bool      // a time of day was given or implied ("at 5pm", "in 20 minutes", "noon"); not by "tonight" alone unless Options.PartTimes gives it one
	Part    string    // part-of-day hint: "morning", "afternoon", "evening" or ""
	Title   string    // the message without the time expression and reminder boilerplate, first letter upper-cased; "" if nothing is left
	Matched string    // the time expression as found in the text (for logs and tests); separate pieces joined by one space

	// Invalid says why a time expression cannot be read ("25:99 is not a time of day");
	// At is zero then. The expression is still consumed, so it never ends up in a title.
	Invalid string
	// Anchored: a recurrence names its start day ("every year on 3 March", "every month on the 5th").
	Anchored bool
	// PartTime: the time of day is Options.PartTimes' time for a part of day ("tonight").
	PartTime bool
	// Vague: a vague time was named ("later", "soon", "next week") that gives no day to
	// remind on; NextWeek when it was "next week" (At is then next Monday, 00:00).
	Vague, NextWeek bool
}

// Options are the user's conventions, for ParseWith.
type Options struct {
	// MonthFirst reads 3/12 as March 12 (the US way); otherwise numeric dates are day first.
	// A date valid in only one order is read in that order either way.
	MonthFirst bool
	// Asleep reports whether a local time of day is in the user's sleep. An open hour
	// ("tomorrow at 5") then takes its other reading.
	Asleep func(hour, min int) bool
	// PartTimes gives a part of day named without a time its time, in minutes after
	// midnight ("tonight" → 19:00); a part missing here gives no time.
	PartTimes map[string]int
	// DaysKeepTime makes "in 2 days" a time too: now's clock time that day.
	DaysKeepTime bool
}

// DefaultPartTimes are the times a reminder gets for a bare part of day.
var DefaultPartTimes = map[string]int{"morning": 9 * 60, "afternoon": 15 * 60, "evening": 19 * 60}

// Parse finds a time expression in text and resolves it in loc relative to now.
// A nil loc means UTC.
func Parse(text string, now time.Time, loc *time.Location) Result {
	return ParseWith(text, now, loc, Options{})
}

// ParseWith is Parse with the user's conventions.
func ParseWith(text string, now time.Time, loc *time.Location, o Options) Result {
	if loc == nil {
		loc = time.UTC
	}
	p := parse(text, o)
	res := p.e.resolve(now, loc, o)
	res.Part = p.e.part
	res.Invalid, res.Vague = p.e.invalid, p.e.vague
	if res.Invalid != "" {
		res.At, res.HasDate, res.HasTime, res.RRule = time.Time{}, false, false, ""
	}
	var matched []string
	var rest strings.Builder
	last := 0
	for _, s := range p.spans() {
		matched = append(matched, text[s[0]:s[1]])
		rest.WriteString(text[last:s[0]])
		rest.WriteByte(' ') // keep the words on either side apart
		last = s[1]
	}
	rest.WriteString(text[last:])
	res.Matched = strings.Join(matched, " ")
	res.Title = cleanTitle(rest.String())
	return res
}

// spans returns the byte ranges of runs of consumed tokens.
func (p *parser) spans() [][2]int {
	var out [][2]int
	for i := 0; i < len(p.toks); i++ {
		if !p.used[i] {
			continue
		}
		j := i
		for j+1 < len(p.toks) && p.used[j+1] {
			j++
		}
		out = append(out, [2]int{p.toks[i].start, p.toks[j].end})
		i = j
	}
	return out
}

// civil is a calendar date without a zone. Calendar arithmetic happens
// here, at noon UTC, so it never sees a DST transition; only the final
// time.Date(..., loc) meets the user's zone.
type civil struct {
	y int
	m time.Month
	d int
}

func civilOf(t time.Time) civil { return civil{t.Year(), t.Month(), t.Day()} }

func (c civil) noonUTC() time.Time { return time.Date(c.y, c.m, c.d, 12, 0, 0, 0, time.UTC) }

func (c civil) addDays(n int) civil {
	return civilOf(time.Date(c.y, c.m, c.d+n, 12, 0, 0, 0, time.UTC))
}

func (c civil) weekday() time.Weekday { return c.noonUTC().Weekday() }

func (c civil) before(o civil) bool { return c.noonUTC().Before(o.noonUTC()) }

// at builds the local time on this date. Hour 24 is 00:00 of the next day.
// A time in a spring-forward gap is whatever time.Date makes of it (Berlin
// moves it forward, New York back; see the package doc); a time that
// occurs twice in the autumn is one of the two.
func (c civil) at(loc *time.Location, hour, min int) time.Time {
	return time.Date(c.y, c.m, c.d, hour, min, 0, 0, loc)
}

// passed reports whether t is over. The minute of now still counts as now,
// so "at 9" typed at 09:00:40 means today.
func passed(t, now time.Time) bool { return now.Sub(t) >= time.Minute }

func (e expr) resolve(now time.Time, loc *time.Location, o Options) Result {
	nowLocal := now.In(loc)
	today := civilOf(nowLocal)
	partTime := false
	if !e.clock.set && e.part != "" && e.rel == 0 && !e.day.keepClock {
		if m, ok := o.PartTimes[e.part]; ok {
			e.clock, partTime = clockSpec{set: true, hour: m / 60, min: m % 60}, true
		}
	}
	e.asleep = o.Asleep
	var res Result
	switch {
	case e.rel > 0:
		res.At, res.HasDate, res.HasTime = now.Add(e.rel), true, true
	case e.rec.freq != "":
		res = e.resolveRecurring(now, loc, today)
	case e.day.kind != dayNone || e.clock.set:
		res = e.resolveOnce(now, nowLocal, loc, today)
		res.HasTime = res.HasTime || (e.day.keepClock && o.DaysKeepTime)
		res.NextWeek = e.day.kind == dayNextWeek
	}
	res.PartTime = partTime && res.HasTime
	if !res.At.IsZero() {
		res.At = res.At.UTC()
	}
	return res
}

func (e expr) resolveOnce(now, nowLocal time.Time, loc *time.Location, today civil) Result {
	var res Result
	days := []civil{today, today.addDays(1)} // no day: today, or tomorrow once it has passed
	if e.day.kind != dayNone {
		days = []civil{e.day.date(today)}
		res.HasDate = true
	}
	switch {
	case e.clock.set:
		res.HasTime = true
		res.At = pick(days, e.awake(readings(e.clock, e.part)), e.clock.min, loc, now)
	case e.day.keepClock:
		d := days[0]
		res.At = time.Date(d.y, d.m, d.d, nowLocal.Hour(), nowLocal.Minute(), nowLocal.Second(), nowLocal.Nanosecond(), loc)
	default:
		res.At = days[0].at(loc, 0, 0)
	}
	return res
}

// pick returns the first candidate that has not passed, trying the days in
// order and each day's hour readings in order; if all have passed (an
// explicit "today" or date that is over) it returns the last one rather
// than move a day the user named.
func pick(days []civil, hours []int, min int, loc *time.Location, now time.Time) time.Time {
	var last time.Time
	for _, d := range days {
		for _, h := range hours {
			t := d.at(loc, h, min)
			if !passed(t, now) {
				return t
			}
			last = t
		}
	}
	return last
}

// awake drops the readings of an open hour that fall in the user's sleep, unless all do:
// "tomorrow at 5" is 17:00 for someone asleep at 05:00.
func (e expr) awake(hours []int) []int {
	if e.asleep == nil || !e.clock.ambiguous || len(hours) < 2 {
		return hours
	}
	var out []int
	for _, h := range hours {
		if !e.asleep(h%24, e.clock.min) {
			out = append(out, h)
		}
	}
	if len(out) == 0 {
		return hours
	}
	return out
}

// readings lists the hours a clock may mean, earliest first. A part of day
// settles an open hour ("8 in the evening", "tonight at 9"); otherwise both
// 12-hour readings are candidates, except bare 12, which is noon.
func readings(c clockSpec, part string) []int {
	if !c.ambiguous {
		return []int{c.hour}
	}
	h := c.hour
	switch part {
	case "morning":
		return []int{h % 12}
	case "afternoon":
		return []int{h%12 + 12}
	case "evening":
		if h == 12 {
			return []int{24}
		}
		return []int{h + 12}
	}
	if h == 12 {
		return []int{12}
	}
	return []int{h, h + 12}
}

// date resolves a day spec to a calendar date relative to today.
func (d daySpec) date(today civil) civil {
	switch d.kind {
	case dayOffset:
		return today.addDays(d.offset)
	case dayNextWeek:
		return today.addDays(7 - (int(today.weekday())+6)%7)
	case dayWeekday:
		k := (int(d.weekday) - int(today.weekday()) + 7) % 7
		if d.last {
			if k == 0 {
				k = 7
			}
			return today.addDays(k - 7)
		}
		if k == 0 && !d.fromToday {
			k = 7
		}
		return today.addDays(k)
	case dayDate:
		switch {
		case d.year != 0:
			return civil{d.year, d.month, d.mday}
		case d.month != 0: // the next such date, today included; Feb 29 waits for a leap year
			for y := today.y; y < today.y+9; y++ {
				c := civil{y, d.month, d.mday}
				if d.mday <= daysIn(y, d.month) && !c.before(today) {
					return c
				}
			}
		default: // "the 5th": the next month that has that day
			for k := 0; k < 13; k++ {
				first := civilOf(time.Date(today.y, today.m+time.Month(k), 1, 12, 0, 0, 0, time.UTC))
				c := civil{first.y, first.m, d.mday}
				if d.mday <= daysIn(first.y, first.m) && !c.before(today) {
					return c
				}
			}
		}
	}
	return today
}

// resolveRecurring finds the first occurrence at or after now.
//
// An open hour takes its earliest reading ("every day at 7" is 07:00):
// picking by the time of typing would make the whole series depend on it.
// A named start day ("starting Friday", "every month on the 5th") anchors
// the series and it advances by its own step when that day's time has
// passed; without one the series starts today, or tomorrow once today's
// time has passed, and "every week"/"monthly" take their day from that
// start. A start day in the past counts as today.
func (e expr) resolveRecurring(now time.Time, loc *time.Location, today civil) Result {
	r := e.rec
	r.byday = slices.Clone(r.byday)
	anchor, named := today, false
	switch {
	case e.day.kind == dayWeekday && r.freq == freqWeekly && len(r.byday) == 0:
		r.byday = []time.Weekday{e.day.weekday} // "every week on Friday"
	case e.day.kind != dayNone:
		anchor, named = e.day.date(today), true
		if anchor.before(today) {
			anchor, named = today, false
		}
	}
	hour := -1
	if e.clock.set {
		hour = e.awake(readings(e.clock, e.part))[0]
	}
	occurs := func(d civil) bool {
		return hour < 0 || !passed(d.at(loc, hour, e.clock.min), now)
	}
	day := anchor
	switch {
	case len(r.byday) > 0:
		for k := 0; k < 8; k++ {
			if d := anchor.addDays(k); slices.Contains(r.byday, d.weekday()) && occurs(d) {
				day = d
				break
			}
		}
	case named:
		for k := 0; k < 100; k++ {
			if d, ok := step(anchor, r, k); ok && occurs(d) {
				day = d
				break
			}
		}
	default:
		if !occurs(anchor) {
			day = anchor.addDays(1)
		}
	}
	if r.freq == freqWeekly && len(r.byday) == 0 {
		r.byday = []time.Weekday{day.weekday()}
	}
	// Without a time the series starts at midnight (an unset clock's minutes are 0).
	return Result{At: day.at(loc, max(hour, 0), e.clock.min), HasDate: true, HasTime: hour >= 0, RRule: r.String(), Anchored: named}
}

// step is the k-th occurrence of an anchored series without BYDAY. Months
// and years that lack the anchor's day are skipped, as RFC 5545 does.
func step(anchor civil, r recSpec, k int) (civil, bool) {
	n := k * r.interval
	switch r.freq {
	case freqDaily:
		return anchor.addDays(n), true
	case freqWeekly:
		return anchor.addDays(7 * n), true
	case freqMonthly:
		first := civilOf(time.Date(anchor.y, anchor.m+time.Month(n), 1, 12, 0, 0, 0, time.UTC))
		return civil{first.y, first.m, anchor.d}, anchor.d <= daysIn(first.y, first.m)
	default: // yearly
		return civil{anchor.y + n, anchor.m, anchor.d}, anchor.d <= daysIn(anchor.y+n, anchor.m)
	}
}

// String renders the RRULE body; BYDAY lists days Monday first.
func (r recSpec) String() string {
	if r.freq == "" {
		return ""
	}
	s := "FREQ=" + r.freq
	if r.interval > 1 {
		s += ";INTERVAL=" + strconv.Itoa(r.interval)
	}
	if len(r.byday) > 0 {
		s += ";BYDAY=" + ByDay(r.byday)
	}
	return s
}

// byDayCodes are the RRULE codes of the weekdays, indexed by time.Weekday.
var byDayCodes = [7]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}

// ByDay writes days as an RRULE BYDAY list, Monday first: "MO,WE,FR".
func ByDay(days []time.Weekday) string {
	days = slices.Clone(days)
	slices.SortFunc(days, func(a, b time.Weekday) int { return (int(a)+6)%7 - (int(b)+6)%7 })
	codes := make([]string, len(days))
	for i, d := range days {
		codes[i] = byDayCodes[d]
	}
	return strings.Join(codes, ",")
}

// ByDayWeekday reads one RRULE weekday code ("MO"), in any case.
func ByDayWeekday(code string) (time.Weekday, bool) {
	i := slices.Index(byDayCodes[:], strings.ToUpper(code))
	return time.Weekday(i), i >= 0
}
