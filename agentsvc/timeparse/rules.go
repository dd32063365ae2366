package timeparse

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

type dayKind int

const (
	dayNone     dayKind = iota
	dayToday            // today, tonight, this morning: may already be over
	dayOffset           // tomorrow (+1), the day after tomorrow (+2), in N days/weeks
	dayWeekday          // Friday, on Friday, next Friday: after today; this Friday: from today
	dayDate             // 3 March, March 3 2027, 2026-12-24, on the 5th
	dayNextWeek         // next week: its Monday; a vague day (Result.Vague)
)

// daySpec is the day part of an expression, still unresolved.
type daySpec struct {
	kind      dayKind
	offset    int  // dayOffset: calendar days from today
	keepClock bool // "in N days": without a time, keep now's clock time
	weekday   time.Weekday
	fromToday bool // "this Friday" said on a Friday is today
	last      bool // "last Friday": the one before today
	year      int  // dayDate: 0 = the next such date
	month     time.Month
	mday      int // dayDate with month 0: "the 5th", the next month that has it
}

// clockSpec is a time of day. hour 24 is midnight at the end of the day.
type clockSpec struct {
	set       bool
	hour, min int
	ambiguous bool // bare 1..12 without am/pm: the 12-hour reading is open
}

const (
	freqDaily   = "DAILY"
	freqWeekly  = "WEEKLY"
	freqMonthly = "MONTHLY"
	freqYearly  = "YEARLY"
)

type recSpec struct {
	freq     string // "" when not recurring
	interval int
	byday    []time.Weekday
}

// expr is everything the rules found; each slot is filled at most once.
type expr struct {
	day     daySpec
	clock   clockSpec
	rel     time.Duration // "in 20 minutes"; 0 when absent
	rec     recSpec
	part    string
	invalid string // why a time-shaped expression cannot be read
	vague   bool   // "later", "soon", "next week"
	asleep  func(hour, min int) bool
}

type parser struct {
	toks []token
	used []bool
	e    expr
	opt  Options
}

// parse runs the rules left to right. At each word the first rule that
// matches consumes its words; a rule whose slot is already filled does not
// match, so a second time expression stays in the title instead of silently
// overriding the first.
func parse(text string, o Options) *parser {
	p := &parser{toks: tokenize(text), opt: o}
	p.used = make([]bool, len(p.toks))
	rules := []func(int) int{p.invalidRule, p.monthlyDay, p.recurrence, p.relative, p.dayRule, p.clockRule, p.partRule, p.vagueRule}
	for i := 0; i < len(p.toks); {
		n := 0
		for _, rule := range rules {
			if n = rule(i); n > 0 {
				break
			}
		}
		if n == 0 {
			i++
			continue
		}
		for k := i; k < i+n; k++ {
			p.used[k] = true
		}
		i += n
	}
	return p
}

func (p *parser) tok(i int) string {
	if i >= 0 && i < len(p.toks) {
		return p.toks[i].text
	}
	return ""
}

// ---- recurrence ----

// recurrence: daily | everyday | nightly | weekly [on DAYS] | monthly | yearly |
// annually | (every|each) BODY | on PLURAL-DAYS | PLURAL-DAYS, optionally
// followed by a part of day after a weekday list ("every Monday morning").
func (p *parser) recurrence(i int) int {
	if p.e.rec.freq != "" || p.e.rel != 0 {
		return 0
	}
	r := recSpec{interval: 1}
	part := ""
	j := i
	switch p.tok(j) {
	case "daily", "everyday":
		r.freq, j = freqDaily, j+1
	case "nightly":
		r.freq, part, j = freqDaily, "evening", j+1
	case "weekly":
		r.freq = freqWeekly
		j++
		j += p.onWeekdays(j, &r)
	case "monthly":
		r.freq, j = freqMonthly, j+1
	case "yearly", "annually":
		r.freq, j = freqYearly, j+1
	case "every", "each":
		n := p.everyBody(j+1, &r, &part)
		if n == 0 {
			return 0
		}
		j += 1 + n
	default: // [on] PLURAL-DAYS
		if p.tok(j) == "on" {
			j++
		}
		n := p.pluralDays(j, &r)
		if n == 0 {
			return 0
		}
		j += n
	}
	p.e.rec = r
	return p.withPart(j, part, len(r.byday) > 0) - i
}

// withPart ends a day or recurrence at j: a part of day it named, or when look, one that
// follows it ("every Monday morning"), is the expression's part unless it has one. It
// returns where the expression ends.
func (p *parser) withPart(j int, part string, look bool) int {
	if look && part == "" {
		if part = partOf(p.tok(j)); part != "" {
			j++
		}
	}
	if part != "" && p.e.part == "" {
		p.e.part = part
	}
	return j
}

// everyBody reads what follows "every": day | morning.. | weekday(s) |
// weekend(s) | week [on DAYS] | month | year | (N|other) UNIT | [other] DAYS.
func (p *parser) everyBody(j int, r *recSpec, part *string) int {
	t := p.tok(j)
	switch {
	case t == "weekday" || t == "weekdays":
		r.freq, r.byday = freqWeekly, weekdaysMF()
		return 1
	case t == "weekend" || t == "weekends":
		r.freq, r.byday = freqWeekly, []time.Weekday{time.Saturday, time.Sunday}
		return 1
	case partOf(t) != "":
		r.freq, *part = freqDaily, partOf(t)
		return 1
	}
	k := j
	if t == "other" {
		r.interval, k = 2, k+1
	} else if n, ok := parseCount(t); ok {
		r.interval, k = n, k+1
	} else if isZero(t) && recUnit(p.tok(j+1)) != "" {
		p.e.invalid = "“every 0 " + p.tok(j+1) + "” never repeats: the count must be 1 or more"
		return 2
	}
	if d, ordinal, ok := monthDay(t); ok && ordinal && p.e.day.kind == dayNone {
		// "every 1st of the month", "every 15th"
		m := k + 1
		if p.tok(m) == "of" && p.tok(m+1) == "the" && p.tok(m+2) == "month" {
			m += 3
		}
		r.freq = freqMonthly
		p.e.day = daySpec{kind: dayDate, mday: d}
		return m - j
	}
	if isAny(p.tok(k), "hour", "hours", "hr", "hrs", "minute", "minutes", "min", "mins") {
		p.e.invalid = "reminders repeat at most daily, not every few hours or minutes"
		return k + 1 - j
	}
	if f := recUnit(p.tok(k)); f != "" {
		r.freq = f
		k++
		if f == freqWeekly {
			k += p.onWeekdays(k, r)
		}
		return k - j
	}
	if days, n := p.weekdayList(k, false); n > 0 {
		r.freq, r.byday = freqWeekly, days
		return k + n - j
	}
	return 0
}

func isZero(s string) bool { return s == "zero" || (s != "" && strings.Trim(s, "0") == "") }

func recUnit(s string) string {
	switch s {
	case "day", "days":
		return freqDaily
	case "week", "weeks":
		return freqWeekly
	case "month", "months":
		return freqMonthly
	case "year", "years":
		return freqYearly
	}
	return ""
}

// onWeekdays reads an optional "on DAYS" after "every week".
func (p *parser) onWeekdays(j int, r *recSpec) int {
	if p.tok(j) != "on" {
		return 0
	}
	days, n := p.weekdayList(j+1, false)
	if n == 0 {
		return 0
	}
	r.byday = days
	return 1 + n
}

// pluralDays reads "weekdays", "weekends" or a list starting with a plural
// ("Mondays and Thursdays"): plurals mean every such day even without "every".
func (p *parser) pluralDays(j int, r *recSpec) int {
	switch p.tok(j) {
	case "weekdays":
		r.freq, r.byday = freqWeekly, weekdaysMF()
		return 1
	case "weekends":
		r.freq, r.byday = freqWeekly, []time.Weekday{time.Saturday, time.Sunday}
		return 1
	}
	days, n := p.weekdayList(j, true)
	if n == 0 {
		return 0
	}
	r.freq, r.byday = freqWeekly, days
	return n
}

func weekdaysMF() []time.Weekday {
	return []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
}

// weekdayList reads DAY ([and|&] DAY | (to|through|-) DAY)*; abbreviations
// are fine here because the list is anchored by every/on or a plural.
func (p *parser) weekdayList(j int, firstPlural bool) ([]time.Weekday, int) {
	var days []time.Weekday
	add := func(from, to time.Weekday) {
		for d := from; ; d = (d + 1) % 7 {
			if !slices.Contains(days, d) {
				days = append(days, d)
			}
			if d == to {
				return
			}
		}
	}
	k := j
	for {
		next := k
		if len(days) > 0 && isAny(p.tok(next), "and", "&") {
			next++
		}
		t := p.tok(next)
		if a, b, ok := strings.Cut(t, "-"); ok && len(days) == 0 && !firstPlural {
			// "mon-fri" written as one word
			wa, _, _, okA := WeekdayWord(a)
			wb, _, _, okB := WeekdayWord(b)
			if okA && okB {
				add(wa, wb)
				k = next + 1
				continue
			}
		}
		wd, plural, _, ok := WeekdayWord(t)
		if !ok || (len(days) == 0 && firstPlural && !plural) {
			break
		}
		next++
		if isAny(p.tok(next), "to", "through", "thru", "-", "–") {
			if wd2, _, _, ok := WeekdayWord(p.tok(next + 1)); ok {
				add(wd, wd2)
				k = next + 2
				continue
			}
		}
		add(wd, wd)
		k = next
	}
	return days, k - j
}

// monthlyDay: [on] the Nth of (every|each) month → a monthly series from the next Nth.
func (p *parser) monthlyDay(i int) int {
	if p.e.rec.freq != "" || p.e.day.kind != dayNone || p.e.rel != 0 {
		return 0
	}
	j := i
	if p.tok(j) == "on" {
		j++
	}
	if p.tok(j) == "the" {
		j++
	}
	d, ordinal, ok := monthDay(p.tok(j))
	if !ok || !ordinal || p.tok(j+1) != "of" || !isAny(p.tok(j+2), "every", "each") || p.tok(j+3) != "month" {
		return 0
	}
	p.e.rec = recSpec{freq: freqMonthly, interval: 1}
	p.e.day = daySpec{kind: dayDate, mday: d}
	return j + 4 - i
}

// vagueRule: later, soon, sometime, next week — a time named without a day to remind on.
func (p *parser) vagueRule(i int) int {
	if p.e.vague || p.e.day.kind != dayNone || p.e.rel != 0 {
		return 0
	}
	switch {
	case p.tok(i) == "next" && p.tok(i+1) == "week":
		p.e.vague, p.e.day = true, daySpec{kind: dayNextWeek}
		return 2
	case isAny(p.tok(i), "later", "soon", "sometime", "someday", "eventually") && i > 0 && !isAny(p.tok(i-1), "an", "a", "hour", "hours", "day", "days"):
		p.e.vague = true
		return 1
	}
	return 0
}

var (
	badClockRe = regexp.MustCompile(`^\d{1,2}(:\d{2})?(am|pm|a\.m|p\.m)?$`)
	colonRe    = regexp.MustCompile(`^\d{1,2}:\d{2}$`)
)

// invalidRule consumes a time-shaped word that is no time ("25:99", "13pm", "at 24:30") or
// a date that does not exist ("30 February", "2026-13-01", "32/12"), and records why.
func (p *parser) invalidRule(i int) int {
	if p.e.invalid != "" {
		return 0
	}
	j := i
	at := isAny(p.tok(j), "at", "@")
	if at || p.tok(j) == "on" {
		j++
	}
	t := p.tok(j)
	n := 1
	if mer := meridiem(p.tok(j + 1)); mer != 0 {
		t, n = t+p.tok(j+1), 2
	} else if isAny(p.tok(j+1), "o'clock", "oclock") {
		at, n = true, 2
	}
	if colonRe.MatchString(t) || (badClockRe.MatchString(t) && (strings.ContainsAny(t, "ap") || at)) {
		if _, ok := clockWord(t, 0, true); !ok {
			p.e.invalid = "“" + t + "” is not a time of day"
			return j + n - i
		}
		return 0
	}
	if k := p.badDate(j); k > 0 {
		return j + k - i
	}
	return 0
}

// badDate records a date that does not exist and returns how many words it has.
func (p *parser) badDate(j int) int {
	t := p.tok(j)
	bad := func(n int) int {
		p.e.invalid = "there is no " + p.rawWords(j, n)
		return n
	}
	if isoDateRe.MatchString(t) || numericDateRe.MatchString(t) {
		if _, n := p.date(j, true); n == 0 {
			return bad(1)
		}
		return 0
	}
	if d, mo, n := p.dayMonth(j); n > 0 && !validDate(0, mo, d) {
		return bad(n)
	}
	return 0
}

// rawWords is the text of n words from j, as lower-cased tokens.
func (p *parser) rawWords(j, n int) string {
	var w []string
	for k := j; k < j+n; k++ {
		w = append(w, p.tok(k))
	}
	return strings.Join(w, " ")
}

// ---- relative ----

var gluedAmountRe = regexp.MustCompile(`^(\d{1,4})(m|min|mins|h|hr|hrs|d|w|wk|wks)$`)

// relative: in AMOUNT [and (a half | AMOUNT)]. Minutes and hours are a
// moment (elapsed time from now); days and weeks are a day (calendar days).
func (p *parser) relative(i int) int {
	if p.tok(i) != "in" {
		return 0
	}
	j := i + 1
	halves, unit, n := p.amount(j)
	if n == 0 {
		return 0
	}
	j += n
	secs, days := 0, 0
	accumulate := func(halves int, unit string) bool {
		switch unit {
		case "minute":
			secs += halves * 30
		case "hour":
			secs += halves * 1800
		case "day", "week":
			d := halves
			if unit == "week" {
				d *= 7
			}
			if d%2 != 0 { // "in a day and a half" names no calendar day
				return false
			}
			days += d / 2
		}
		return true
	}
	if !accumulate(halves, unit) {
		return 0
	}
	if p.tok(j) == "and" {
		if isAny(p.tok(j+1), "a", "an") && p.tok(j+2) == "half" && halves%2 == 0 {
			if accumulate(1, unit) {
				j += 3
			}
		} else if h2, u2, n2 := p.amount(j + 1); n2 > 0 && isDayUnit(u2) == isDayUnit(unit) {
			if accumulate(h2, u2) {
				j += 1 + n2
			}
		}
	}
	if isDayUnit(unit) {
		if p.e.day.kind != dayNone || p.e.rel != 0 {
			return 0
		}
		p.e.day = daySpec{kind: dayOffset, offset: days, keepClock: true}
		return j - i
	}
	if p.e.rel != 0 || p.e.day.kind != dayNone || p.e.clock.set || p.e.rec.freq != "" {
		return 0
	}
	p.e.rel = time.Duration(secs) * time.Second
	return j - i
}

func isDayUnit(u string) bool { return u == "day" || u == "week" }

// amount reads "20 minutes", "twenty minutes", "an hour", "half an hour",
// "20min", "2h" and returns the count in halves of unit.
func (p *parser) amount(j int) (halves int, unit string, n int) {
	t := p.tok(j)
	if m := gluedAmountRe.FindStringSubmatch(t); m != nil {
		c, ok := parseCount(m[1])
		if !ok {
			return 0, "", 0
		}
		u := map[byte]string{'m': "minute", 'h': "hour", 'd': "day", 'w': "week"}[m[2][0]]
		return 2 * c, u, 1
	}
	k := j
	switch {
	case t == "half" && isAny(p.tok(j+1), "a", "an"):
		halves, k = 1, j+2
	case t == "a" || t == "an":
		halves, k = 2, j+1
	default:
		c, ok := parseCount(t)
		if !ok {
			return 0, "", 0
		}
		halves, k = 2*c, j+1
	}
	switch p.tok(k) {
	case "minute", "minutes", "min", "mins":
		unit = "minute"
	case "hour", "hours", "hr", "hrs", "h":
		unit = "hour"
	case "day", "days":
		unit = "day"
	case "week", "weeks", "wk", "wks":
		unit = "week"
	default:
		return 0, "", 0
	}
	return halves, unit, k + 1 - j
}

// ---- day ----

// dayRule: [starting|beginning|from] [on] DAY [PART].
func (p *parser) dayRule(i int) int {
	if p.e.day.kind != dayNone || p.e.rel != 0 {
		return 0
	}
	j := i
	if isAny(p.tok(j), "starting", "beginning", "from") {
		j++
	}
	if p.tok(j) == "on" {
		j++
	}
	d, part, n := p.dayBody(j, j > i)
	if n == 0 {
		return 0
	}
	p.e.day = d
	return p.withPart(j+n, part, d.kind != dayDate) - i
}

func (p *parser) dayBody(j int, prefixed bool) (daySpec, string, int) {
	t := p.tok(j)
	switch t {
	case "today":
		return daySpec{kind: dayToday}, "", 1
	case "tonight":
		return daySpec{kind: dayToday}, "evening", 1
	case "tomorrow", "tmrw", "tmr", "tomorow", "tommorow", "tommorrow":
		return daySpec{kind: dayOffset, offset: 1}, "", 1
	case "yesterday":
		return daySpec{kind: dayOffset, offset: -1}, "", 1
	case "last", "this", "next":
		if part := partOf(p.tok(j + 1)); t == "this" && part != "" && !strings.HasSuffix(p.tok(j+1), "s") {
			return daySpec{kind: dayToday}, part, 2 // "this morning"
		}
		if wd, plural, _, ok := WeekdayWord(p.tok(j + 1)); ok && !plural {
			return daySpec{kind: dayWeekday, weekday: wd, last: t == "last", fromToday: t == "this"}, "", 2
		}
		return daySpec{}, "", 0
	}
	k := j
	if t == "the" {
		k++
	}
	if p.tok(k) == "day" && p.tok(k+1) == "after" && p.tok(k+2) == "tomorrow" {
		return daySpec{kind: dayOffset, offset: 2}, "", k + 3 - j
	}
	if wd, plural, abbrev, ok := WeekdayWord(t); ok && !plural && (!abbrev || prefixed || p.clockFollows(j+1)) {
		return daySpec{kind: dayWeekday, weekday: wd}, "", 1
	}
	if d, n := p.date(j, prefixed); n > 0 {
		return d, "", n
	}
	return daySpec{}, "", 0
}

var (
	isoDateRe     = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})$`)
	mdayRe        = regexp.MustCompile(`^(\d{1,2})(st|nd|rd|th)?$`)
	numericDateRe = regexp.MustCompile(`^(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?$`)
	dottedDateRe  = regexp.MustCompile(`^(\d{1,2})\.(\d{1,2})(?:\.(\d{2}|\d{4}))?\.?$`)
)

// numericDate reads 3/12, 3/12/2027 and, after "on", 24.12. Day first unless the user's
// convention is month first; a date valid in one order only is read in that order.
func (p *parser) numericDate(t string, prefixed bool) (daySpec, bool) {
	m := numericDateRe.FindStringSubmatch(t)
	monthFirst := p.opt.MonthFirst
	if m == nil && prefixed {
		m, monthFirst = dottedDateRe.FindStringSubmatch(t), false
	}
	if m == nil {
		return daySpec{}, false
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	y := 0
	if m[3] != "" {
		y, _ = strconv.Atoi(m[3])
		if y < 100 {
			y += 2000
		}
	}
	orders := [][2]int{{a, b}, {b, a}} // day, month
	if monthFirst {
		orders[0], orders[1] = orders[1], orders[0]
	}
	for _, o := range orders {
		if o[1] >= 1 && o[1] <= 12 && o[0] >= 1 && validDate(y, time.Month(o[1]), o[0]) {
			return daySpec{kind: dayDate, year: y, month: time.Month(o[1]), mday: o[0]}, true
		}
	}
	return daySpec{}, false
}

// clockFollows: an unmistakable time starts at j ("at 9", "10am"), which makes an
// abbreviation before it a weekday ("sat 10am").
func (p *parser) clockFollows(j int) bool {
	if isAny(p.tok(j), "at", "@") {
		return true
	}
	_, n := p.clockAt(j, false)
	return n > 0
}

// date: YYYY-MM-DD | [the] D [of] MONTH [YYYY] | MONTH [the] D [YYYY] |
// on [the] Dth. Numeric dates like 3/12 are not read: the order of day and
// month depends on the user's locale and this parser does not guess it.
func (p *parser) date(j int, prefixed bool) (daySpec, int) {
	t := p.tok(j)
	if m := isoDateRe.FindStringSubmatch(t); m != nil {
		y, _ := strconv.Atoi(m[1])
		mo, _ := strconv.Atoi(m[2])
		d, _ := strconv.Atoi(m[3])
		if mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(y, time.Month(mo)) {
			return daySpec{kind: dayDate, year: y, month: time.Month(mo), mday: d}, 1
		}
		return daySpec{}, 0
	}
	if d, ok := p.numericDate(t, prefixed); ok {
		return d, 1
	}
	if d, mo, n := p.dayMonth(j); n > 0 {
		y, yn := p.year(j + n)
		if validDate(y, mo, d) {
			return daySpec{kind: dayDate, year: y, month: mo, mday: d}, n + yn
		}
		return daySpec{}, 0
	}
	// A day of the month alone only after "on" and as an ordinal, so
	// "my 5th attempt" stays text.
	k := j
	if t == "the" {
		k++
	}
	if d, ordinal, ok := monthDay(p.tok(k)); ok && prefixed && ordinal {
		return daySpec{kind: dayDate, mday: d}, k + 1 - j
	}
	return daySpec{}, 0
}

// dayMonth reads [the] D [of] MONTH or MONTH [the] D at j, without a year: the day, the month
// and the number of words, 0 when they are no such date.
func (p *parser) dayMonth(j int) (int, time.Month, int) {
	k := j
	if p.tok(k) == "the" {
		k++
	}
	if d, _, ok := monthDay(p.tok(k)); ok {
		m := k + 1
		if p.tok(m) == "of" {
			m++
		}
		if mo, ok := monthNames[p.tok(m)]; ok {
			return d, mo, m + 1 - j
		}
		return 0, 0, 0
	}
	if mo, ok := monthNames[p.tok(j)]; ok {
		m := j + 1
		if p.tok(m) == "the" {
			m++
		}
		if d, _, ok := monthDay(p.tok(m)); ok {
			return d, mo, m + 1 - j
		}
	}
	return 0, 0, 0
}

func monthDay(s string) (d int, ordinal, ok bool) {
	m := mdayRe.FindStringSubmatch(s)
	if m == nil {
		return 0, false, false
	}
	d, _ = strconv.Atoi(m[1])
	return d, m[2] != "", d >= 1 && d <= 31
}

func (p *parser) year(j int) (int, int) {
	t := p.tok(j)
	if len(t) != 4 {
		return 0, 0
	}
	y, err := strconv.Atoi(t)
	if err != nil || y < 1900 || y > 2999 {
		return 0, 0
	}
	return y, 1
}

// validDate checks d against the month; without a year February 29 is fine
// (resolution looks for a leap year).
func validDate(y int, m time.Month, d int) bool {
	if y == 0 {
		return d <= daysIn(2000, m)
	}
	return d <= daysIn(y, m)
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 12, 0, 0, 0, time.UTC).Day()
}

// ---- clock ----

var clockRe = regexp.MustCompile(`^(\d{1,2})(?:([:.])(\d{2}))?(am|pm|a\.m|p\.m|a|p)?$`)

// clockRule: [at|@|around|by|from] CLOCK [(to|until|-) CLOCK]. A bare hour
// ("8", "eight") needs "at", "@" or "around", or "from" with a range ("from
// 9 to 5"); "by" and "from" alone are too common before plain numbers ("by
// 5 people", "from 2 friends"). "5pm", "5 pm", "17:00" stand alone. A range
// keeps its start: Result has no end or duration.
func (p *parser) clockRule(i int) int {
	if p.e.clock.set || p.e.rel != 0 {
		return 0
	}
	j := i
	prefix := p.tok(j)
	bareOK := false
	switch prefix {
	case "at", "@", "around", "from":
		j, bareOK = j+1, true
	case "by":
		j++
	}
	if a, b, ok := cutDash(p.tok(j)); ok {
		// "9am-5pm", "9-5" written as one word
		start, okA := clockWord(a, 0, bareOK)
		end, okB := clockWord(b, 0, true)
		if !okA || !okB {
			return 0
		}
		p.e.clock = rangeStart(start, end)
		return j + 1 - i
	}
	c, n := p.clockAt(j, bareOK)
	if n == 0 {
		return 0
	}
	k := j + n
	if isAny(p.tok(k), "to", "until", "till", "til", "-", "–", "—") {
		if end, n := p.clockAt(k+1, true); n > 0 {
			c, k = rangeStart(c, end), k+1+n
		}
	}
	if prefix == "from" && k == j+n {
		if _, n := p.clockAt(j, false); n == 0 { // bare hour, no range
			return 0
		}
	}
	p.e.clock = c
	return k - i
}

func cutDash(s string) (string, string, bool) {
	for _, d := range []string{"-", "–"} {
		if a, b, ok := strings.Cut(s, d); ok && a != "" && b != "" {
			return a, b, true
		}
	}
	return "", "", false
}

var (
	// 17h30, 20h: the French and German way of writing a 24-hour time.
	hClockRe = regexp.MustCompile(`^([01]?\d|2[0-3])h([0-5]\d)?$`)
	// 0930, 1745: military time, only after "at".
	milClockRe = regexp.MustCompile(`^([01]\d|2[0-3])([0-5]\d)$`)
)

// clockAt reads a clock at token j, with an am/pm or o'clock word after it.
func (p *parser) clockAt(j int, bareOK bool) (clockSpec, int) {
	t := p.tok(j)
	switch t {
	case "noon", "midday":
		return clockSpec{set: true, hour: 12}, 1
	case "midnight":
		return clockSpec{set: true, hour: 24}, 1
	}
	if c, n := p.spokenClock(j); n > 0 {
		return c, n
	}
	if m := hClockRe.FindStringSubmatch(t); m != nil && (m[2] != "" || len(m[1]) == 2) {
		h, _ := strconv.Atoi(m[1])
		mins, _ := strconv.Atoi(m[2])
		return clockSpec{set: true, hour: h, min: mins}, 1
	}
	if m := milClockRe.FindStringSubmatch(t); m != nil && bareOK {
		h, _ := strconv.Atoi(m[1])
		mins, _ := strconv.Atoi(m[2])
		return clockSpec{set: true, hour: h, min: mins}, 1
	}
	mins, n := p.minuteWords(j)
	mer := meridiem(p.tok(j + n))
	if mer != 0 {
		n++
	} else if isAny(p.tok(j+n), "o'clock", "oclock") {
		n++
		bareOK = true // "five o'clock" is unmistakably a time
	}
	c, ok := clockWord(t, mer, bareOK)
	if !ok {
		if mer != 0 { // "5pm pm": read the clock alone
			if c, ok = clockWord(t, 0, bareOK); ok {
				return c, 1
			}
		}
		return clockSpec{}, 0
	}
	c.min += mins
	return c, n
}

var minuteNames = map[string]int{"fifteen": 15, "thirty": 30, "forty-five": 45, "fortyfive": 45}

// minuteWords reads the minutes said after a bare hour at j ("six thirty", "7 fifteen",
// "six - thirty", "seven forty five"); n counts the hour's word too.
func (p *parser) minuteWords(j int) (mins, n int) {
	if !bareHour(p.tok(j)) {
		return 0, 1
	}
	k := j + 1
	if p.tok(k) == "-" {
		k++
	}
	if p.tok(k) == "forty" && p.tok(k+1) == "five" {
		return 45, k + 2 - j
	}
	if m, ok := minuteNames[p.tok(k)]; ok {
		return m, k + 1 - j
	}
	return 0, 1
}

// bareHour: an hour written alone, as a number word or one or two digits ("seven", "7", "07").
func bareHour(s string) bool {
	if _, ok := numberWords[s]; ok {
		return true
	}
	return len(s) > 0 && len(s) <= 2 && strings.Trim(s, "0123456789") == ""
}

// spokenClock reads "half past six", "quarter to 8", "a quarter past 3", "ten past 5",
// "20 to 9" and the British "half 7" (7:30). The hour stays open to both 12-hour readings
// unless am/pm follows.
func (p *parser) spokenClock(j int) (clockSpec, int) {
	k := j
	if p.tok(k) == "a" && p.tok(k+1) == "quarter" {
		k++
	}
	mins := 0
	switch t := p.tok(k); {
	case t == "half":
		mins = 30
	case t == "quarter":
		mins = 15
	default:
		// "ten to 5", "20 past 9"; digits before "to" are a range ("9 to 5"), not a time.
		n, ok := parseCount(t)
		_, word := numberWords[t]
		if !ok || n >= 60 || n%5 != 0 {
			return clockSpec{}, 0
		}
		if isAny(p.tok(k+1), "minutes", "mins") {
			k++
		}
		if !isAny(p.tok(k+1), "past", "after") && !(word && isAny(p.tok(k+1), "to", "before")) {
			return clockSpec{}, 0
		}
		mins = n
	}
	k++
	dir := p.tok(k)
	switch {
	case isAny(dir, "past", "after"):
		k++
	case isAny(dir, "to", "before"):
		mins = -mins
		k++
	case p.tok(k-1) == "half": // "half 7"
	default:
		return clockSpec{}, 0
	}
	h, n := p.clockAt(k, true)
	if n == 0 || h.min != 0 || h.hour == 24 || (h.hour == 12 && h.ambiguous == false && mins < 0 && p.tok(k) == "noon") {
		return clockSpec{}, 0
	}
	total := h.hour*60 + mins
	if total < 0 {
		total += 24 * 60
	}
	c := clockSpec{set: true, hour: total / 60, min: total % 60, ambiguous: h.ambiguous}
	if c.ambiguous && c.hour == 0 { // "quarter to 1" is 12:45, open like 12
		c.hour = 12
	}
	return c, k + n - j
}

func meridiem(s string) byte {
	switch s {
	case "am", "a.m":
		return 'a'
	case "pm", "p.m":
		return 'p'
	}
	return 0
}

// clockWord reads "5", "five", "5pm", "7:30am", "17:00", "5.30". mer is an
// am/pm from the next word. Without bareOK only unmistakable shapes pass:
// an am/pm or an h:mm with a colon ("5.30" could be a price).
func clockWord(s string, mer byte, bareOK bool) (clockSpec, bool) {
	h, m := 0, 0
	colon, lead0 := false, false
	if n, ok := numberWords[s]; ok && n <= 12 {
		h = n
	} else {
		g := clockRe.FindStringSubmatch(s)
		if g == nil {
			return clockSpec{}, false
		}
		h, _ = strconv.Atoi(g[1])
		lead0 = len(g[1]) == 2 && g[1][0] == '0'
		if g[3] != "" {
			m, _ = strconv.Atoi(g[3])
			colon = g[2] == ":"
		}
		if g[4] != "" {
			if mer != 0 {
				return clockSpec{}, false
			}
			mer = g[4][0]
		}
	}
	if mer == 0 && !colon && !bareOK {
		return clockSpec{}, false
	}
	if m > 59 {
		return clockSpec{}, false
	}
	if mer != 0 {
		if h < 1 || h > 12 {
			return clockSpec{}, false
		}
		h %= 12
		if mer == 'p' {
			h += 12
		}
		return clockSpec{set: true, hour: h, min: m}, true
	}
	if h > 24 || (h == 24 && m != 0) {
		return clockSpec{}, false
	}
	// "08:00" is written the 24-hour way; "8" and "8:00" are open.
	return clockSpec{set: true, hour: h, min: m, ambiguous: h >= 1 && h <= 12 && !lead0}, true
}

// rangeStart settles an open start hour from the end of its range: the
// latest reading before an unmistakable end ("3 to 5pm" → 15:00, "9 to
// 5pm" → 09:00), and the morning reading when two bare hours cross noon
// ("from 9 to 5", "10 to 12"). Otherwise the start stays open.
func rangeStart(start, end clockSpec) clockSpec {
	if !start.ambiguous || start.hour == 12 {
		return start
	}
	s := start.hour*60 + start.min
	if !end.ambiguous {
		e := end.hour*60 + end.min
		switch {
		case s+12*60 < e:
			start.hour += 12
			start.ambiguous = false
		case s < e:
			start.ambiguous = false
		}
		return start
	}
	if start.hour%12 > end.hour%12 {
		start.ambiguous = false
	}
	return start
}

// Clock is a time of day read on its own (ReadClock). Open marks a bare hour 1..12 without
// am/pm ("7", "half past six"), which Hour gives as written: its morning reading, 12 for twelve.
type Clock struct {
	Hour, Min int
	Open      bool
}

// String renders the clock as "HH:MM".
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", c.Hour, c.Min) }

// amountUnits after a bare number make it an amount, not a time ("8 hours", "5 days a week").
var amountUnits = map[string]bool{
	"hour": true, "hours": true, "hr": true, "hrs": true, "h": true, "minute": true, "minutes": true,
	"min": true, "mins": true, "day": true, "days": true, "week": true, "weeks": true, "times": true,
	"people": true, "km": true, "miles": true, "k": true,
}

// ReadClock reads a time of day at the start of words (lower-cased, one word each), a bare
// hour included, as an answer to "what time?" is written: "7", "seven", "7pm", "7 a.m", "6:30",
// "6.30", "0630", "half past six", "quarter to 7", "six thirty", "five o'clock", "noon",
// "midnight" (00:00), optionally followed by "in the morning|afternoon|evening|night" or "at
// night", which settles an open hour. A number before a unit ("8 hours", "2.50 miles") is an
// amount, and one before an am/pm it cannot take ("16 pm") no time. n is the number of words
// read, 0 when they start with no time.
func ReadClock(words []string) (c Clock, n int) {
	p := &parser{toks: make([]token, len(words))}
	for i, w := range words {
		p.toks[i].text = w
	}
	spec, n := p.clockAt(0, true)
	g := clockRe.FindStringSubmatch(p.tok(0))
	number := bareHour(p.tok(0)) || g != nil && g[4] == ""
	if n == 0 || n == 1 && (number && amountUnits[p.tok(1)] || meridiem(p.tok(1)) != 0) {
		return Clock{}, 0
	}
	n += p.partRule(n)
	hour := readings(spec, p.e.part)[0] % 24
	return Clock{Hour: hour, Min: spec.min, Open: spec.ambiguous && p.e.part == ""}, n
}

// ParseClock reads s as one time of day written unmistakably: "07:30", "7:30", "19:00", "7am",
// "7:30 pm", "17h30", "noon". An hour without am/pm is taken as written (24-hour). A bare
// number ("7") is not read, nor the end of a day ("24:00", "midnight").
func ParseClock(s string) (hour, min int, ok bool) {
	p := &parser{toks: tokenize(s)}
	c, n := p.clockAt(0, false)
	if n == 0 || n != len(p.toks) || c.hour > 23 {
		return 0, 0, false
	}
	return c.hour, c.min, true
}

// HHMM reads exactly "HH:MM", 00:00 to 23:59: the form times of day are stored in.
func HHMM(s string) (hour, min int, ok bool) {
	hour, min, ok = ParseClock(s)
	return hour, min, ok && Clock{Hour: hour, Min: min}.String() == s
}

// ---- part of day ----

// partRule: in the morning|afternoon|evening | at night.
func (p *parser) partRule(i int) int {
	if p.e.part != "" {
		return 0
	}
	switch {
	case p.tok(i) == "in" && p.tok(i+1) == "the" && isAny(p.tok(i+2), "morning", "afternoon", "evening", "night"):
		p.e.part = partOf(p.tok(i + 2))
		return 3
	case p.tok(i) == "at" && p.tok(i+1) == "night":
		p.e.part = "evening"
		return 2
	}
	return 0
}
