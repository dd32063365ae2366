package observe

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/flux-companion/flux/agentsvc/slots"
	"github.com/flux-companion/flux/agentsvc/timeparse"
)

const (
	// MinDataPoints is the evidence any reported item needs.
	MinDataPoints = 3
	// ColdStartSpan is how long history must reach back before confidence
	// may reach 0.5.
	ColdStartSpan = 14 * 24 * time.Hour
	// MaxBestTimes bounds Report.BestTimes.
	MaxBestTimes = 5
	// MaxNotes bounds Report.GeneralNotes.
	MaxNotes = 4

	// PatternTimeAvoidance is the one stored pattern type the report reads.
	PatternTimeAvoidance = "time_avoidance"
	// AnyDay is the Day of a best time or avoid slot that holds every day.
	AnyDay = "any"

	bestRate          = 0.75
	avoidRate         = 0.34
	ruleConfidence    = 0.3 // cold-start rules: general advice, not evidence
	mondayFrom        = 6   // the Monday-morning rule, local hours [6, 10)
	mondayTo          = 10
	minutesPerDay     = 24 * 60
	minutesPerWeek    = 7 * minutesPerDay
	mondayRuleReason  = "General rule: Monday mornings are a poor fit for high-effort tasks, until Monday history shows otherwise."
	storedReasonEmpty = "Stored time-avoidance pattern."
)

// Outcome is one settled task of the user's history.
type Outcome struct {
	ScheduledAt time.Time // UTC
	Done        bool      // false = missed
	Tags        []string  // the class_tags of the task's goal; empty for standalone tasks
}

// Pattern is a stored public.patterns row.
type Pattern struct {
	Type        string // time_avoidance | completion_streak | category_performance
	Description string
	// Data of time_avoidance rows carries the day and the range
	// ({"day":"Mon","from":"06:00","to":"08:00"} or {"day":"MO","time_range":"06:00-09:00"});
	// {"user_overridden":true} marks a pattern the user edited.
	Data       json.RawMessage
	Confidence float64
}

// Input is everything Observe looks at.
type Input struct {
	Loc        *time.Location // the user's zone (nil = UTC)
	Now        time.Time
	Chronotype string    // morning | evening | neutral | ""
	History    []Outcome // settled tasks, any order, typically the last 12 weeks
	Patterns   []Pattern
}

// BestTime is a local time the user tends to get things done.
type BestTime struct {
	Day        string  `json:"day"`  // "Mon".."Sun" or "any"
	Time       string  `json:"time"` // HH:MM
	Confidence float64 `json:"confidence"`
	Reason     string  `json:"reason"`
}

// AvoidSlot is a local time range the planner should keep tasks out of.
type AvoidSlot struct {
	Day        string  `json:"day"`        // "Mon".."Sun" or "any"
	TimeRange  string  `json:"time_range"` // "HH:MM-HH:MM", may cross midnight
	Reason     string  `json:"reason"`
	Confidence float64 `json:"confidence"`
}

// CategoryPerformance is the completion rate of one goal tag.
type CategoryPerformance struct {
	Category       string  `json:"category"`
	CompletionRate float64 `json:"completion_rate"`
	DataPoints     int     `json:"data_points"`
}

// Report is the pattern observer's output (docs/product.md).
type Report struct {
	BestTimes           []BestTime            `json:"best_times"`
	AvoidSlots          []AvoidSlot           `json:"avoid_slots"`
	CategoryPerformance []CategoryPerformance `json:"category_performance"`
	GeneralNotes        []string              `json:"general_notes"`
	DataPoints          int                   `json:"data_points"`
	ColdStart           bool                  `json:"cold_start"` // fewer than 14 days of data, or fewer than 3 data points
}

type tally struct{ done, total int }

func (t *tally) add(done bool) {
	t.total++
	if done {
		t.done++
	}
}

func (t tally) plus(u tally) tally { return tally{t.done + u.done, t.total + u.total} }

func (t tally) rate() float64 {
	if t.total == 0 {
		return 0
	}
	return float64(t.done) / float64(t.total)
}

// span is a week-minute range [at, at+n), wrapping at the end of Sunday
// (weekday order as time.Weekday).
type span struct{ at, n int }

func (a span) overlaps(b span) bool {
	for _, shift := range [3]int{-minutesPerWeek, 0, minutesPerWeek} {
		if a.at < b.at+shift+b.n && b.at+shift < a.at+a.n {
			return true
		}
	}
	return false
}

// spansOf is the week spans of a daily range on days (all days for nil).
func spansOf(days []time.Weekday, from, n int) []span {
	if days == nil {
		days = allDays
	}
	out := make([]span, len(days))
	for i, d := range days {
		out[i] = span{int(d)*minutesPerDay + from, n}
	}
	return out
}

var allDays = []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}

func anyOverlap(a, b []span) bool {
	for _, x := range a {
		for _, y := range b {
			if x.overlaps(y) {
				return true
			}
		}
	}
	return false
}

// Internal items keep the counts the notes are written from.
type bestItem struct {
	day   time.Weekday
	hour  int
	at    int // minute of day reported
	count tally
}

type avoidItem struct {
	day      time.Weekday
	from, to int // local hours, to exclusive (may be 24)
	count    tally
}

func (a avoidItem) span() span {
	return span{int(a.day)*minutesPerDay + a.from*60, (a.to - a.from) * 60}
}

type catItem struct {
	tag   string
	count tally
}

// Observe analyses in and returns the report. It never fails: what it
// cannot read it leaves out.
func Observe(in Input) Report {
	loc := in.Loc
	if loc == nil {
		loc = time.UTC
	}
	var (
		slotsT  [7][24]tally
		doneAt  [7][24][]int // done local minutes, for the reported time
		monday  tally
		cats    = map[string]tally{}
		all     tally
		oldest  time.Time
		perTags []string
	)
	for _, o := range in.History {
		if o.ScheduledAt.IsZero() {
			continue // not a real task time; it would fake a long history
		}
		if all.total == 0 || o.ScheduledAt.Before(oldest) {
			oldest = o.ScheduledAt
		}
		lt := o.ScheduledAt.In(loc)
		wd, h := lt.Weekday(), lt.Hour()
		all.add(o.Done)
		slotsT[wd][h].add(o.Done)
		if o.Done {
			doneAt[wd][h] = append(doneAt[wd][h], h*60+lt.Minute())
		}
		if wd == time.Monday && h >= mondayFrom && h < mondayTo {
			monday.add(o.Done)
		}
		// A goal listing a tag twice is still one outcome for it.
		perTags = perTags[:0]
		for _, t := range o.Tags {
			if t = strings.TrimSpace(t); t != "" && !slices.Contains(perTags, t) {
				perTags = append(perTags, t)
			}
		}
		for _, t := range perTags {
			c := cats[t]
			c.add(o.Done)
			cats[t] = c
		}
	}

	n := all.total
	r := Report{
		BestTimes:           []BestTime{},
		AvoidSlots:          []AvoidSlot{},
		CategoryPerformance: []CategoryPerformance{},
		GeneralNotes:        []string{},
		DataPoints:          n,
		ColdStart:           n < MinDataPoints || in.Now.Sub(oldest) < ColdStartSpan,
	}
	conf := func(k int) float64 {
		if r.ColdStart {
			return round2(min(0.45, 0.25+0.05*float64(k-MinDataPoints)))
		}
		return round2(min(0.95, 0.5+0.05*float64(k-MinDataPoints)))
	}

	stored, authority := storedAvoids(in.Patterns)

	var (
		bests  []bestItem
		avoids []avoidItem
		catsV  []catItem
	)
	if n >= MinDataPoints {
		bests = bestTimes(&slotsT, &doneAt)
		avoids = avoidSlots(&slotsT, bests, authority)
		for t, c := range cats {
			if c.total >= MinDataPoints {
				catsV = append(catsV, catItem{t, c})
			}
		}
		slices.SortFunc(catsV, func(a, b catItem) int {
			return cmp.Or(cmp.Compare(a.count.rate(), b.count.rate()), cmp.Compare(a.tag, b.tag))
		})
	}

	for i, b := range bests {
		if i == MaxBestTimes {
			break
		}
		r.BestTimes = append(r.BestTimes, BestTime{
			Day:        dayName(b.day),
			Time:       clock(b.at),
			Confidence: conf(b.count.total),
			Reason:     fmt.Sprintf("%d of %d tasks on %s between %s and %s were done.", b.count.done, b.count.total, dayName(b.day), clock(b.hour*60), clock(b.hour*60+60)),
		})
	}
	if r.ColdStart && len(r.BestTimes) < MaxBestTimes {
		switch strings.ToLower(strings.TrimSpace(in.Chronotype)) {
		case "morning":
			r.BestTimes = append(r.BestTimes, BestTime{AnyDay, "07:00", ruleConfidence, "Cold start: a morning person, so 06:00-09:00 is preferred."})
		case "evening":
			r.BestTimes = append(r.BestTimes, BestTime{AnyDay, "19:00", ruleConfidence, "Cold start: an evening person, so 18:00-21:00 is preferred."})
		}
	}

	for _, a := range avoids {
		r.AvoidSlots = append(r.AvoidSlots, AvoidSlot{
			Day:        dayName(a.day),
			TimeRange:  clock(a.from*60) + "-" + clock(a.to*60),
			Reason:     fmt.Sprintf("%d of %d tasks missed on %s between %s and %s.", a.count.total-a.count.done, a.count.total, dayName(a.day), clock(a.from*60), clock(a.to*60)),
			Confidence: conf(a.count.total),
		})
	}
	r.AvoidSlots = append(r.AvoidSlots, stored...)
	mondaySpan := spansOf([]time.Weekday{time.Monday}, mondayFrom*60, (mondayTo-mondayFrom)*60)
	if !(monday.total >= MinDataPoints && monday.rate() >= bestRate) && !anyOverlap(mondaySpan, authority) {
		r.AvoidSlots = append(r.AvoidSlots, AvoidSlot{"Mon", clock(mondayFrom*60) + "-" + clock(mondayTo*60), mondayRuleReason, ruleConfidence})
	}
	slices.SortFunc(r.AvoidSlots, func(a, b AvoidSlot) int {
		return cmp.Or(
			cmp.Compare(b.Confidence, a.Confidence),
			cmp.Compare(dayOrder(a.Day), dayOrder(b.Day)),
			cmp.Compare(a.Day, b.Day),
			cmp.Compare(a.TimeRange, b.TimeRange),
			cmp.Compare(a.Reason, b.Reason),
		)
	})

	for _, c := range catsV {
		r.CategoryPerformance = append(r.CategoryPerformance, CategoryPerformance{c.tag, round2(c.count.rate()), c.count.total})
	}

	r.GeneralNotes = notes(r, all, bests, avoids, catsV)
	return r
}

// bestTimes lists every qualifying (weekday, hour), best first.
func bestTimes(t *[7][24]tally, doneAt *[7][24][]int) []bestItem {
	var out []bestItem
	for d := range 7 {
		for h := range 24 {
			c := t[d][h]
			if c.total >= MinDataPoints && c.rate() >= bestRate {
				out = append(out, bestItem{time.Weekday(d), h, mode(doneAt[d][h]), c})
			}
		}
	}
	slices.SortFunc(out, func(a, b bestItem) int {
		return cmp.Or(byEvidence(a.count, b.count, true), cmp.Compare(isoDay(a.day), isoDay(b.day)), cmp.Compare(a.hour, b.hour))
	})
	return out
}

// byEvidence orders two tallies by their rate, the higher first when best and the lower
// first otherwise, then the one with more tasks first.
func byEvidence(a, b tally, best bool) int {
	r := cmp.Compare(a.rate(), b.rate())
	if best {
		r = -r
	}
	return cmp.Or(r, cmp.Compare(b.total, a.total))
}

// mode is the most common minute, the earliest on a tie.
func mode(ms []int) int {
	s := slices.Clone(ms)
	slices.Sort(s)
	best, bestN := s[0], 0
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] == s[i] {
			j++
		}
		if j-i > bestN {
			best, bestN = s[i], j-i
		}
		i = j
	}
	return best
}

// avoidSlots picks non-overlapping low-completion windows per weekday,
// leaving out any that a stored pattern already decides.
func avoidSlots(t *[7][24]tally, bests []bestItem, authority []span) []avoidItem {
	var isBest [7][24]bool
	for _, b := range bests {
		isBest[b.day][b.hour] = true
	}
	var cands []avoidItem
	for d := range 7 {
		for h := range 24 {
			if t[d][h].total == 0 || isBest[d][h] {
				// Centre windows on hours a task started in, never on a best hour: misses in
				// the hour before could outweigh it and make a window that covers it.
				continue
			}
			a := avoidItem{time.Weekday(d), h, h + 1, t[d][h]}
			// One hour either side of h:00, within the day so Day stays
			// the day the window is on.
			if h > 0 && !isBest[d][h-1] {
				a.from, a.count = h-1, t[d][h-1].plus(t[d][h])
			}
			if a.count.total >= MinDataPoints && a.count.rate() <= avoidRate && !anyOverlap([]span{a.span()}, authority) {
				cands = append(cands, a)
			}
		}
	}
	slices.SortFunc(cands, func(a, b avoidItem) int {
		return cmp.Or(byEvidence(a.count, b.count, false), cmp.Compare(isoDay(a.day), isoDay(b.day)), cmp.Compare(a.from, b.from))
	})
	var out []avoidItem
	for _, c := range cands {
		if !slices.ContainsFunc(out, func(o avoidItem) bool { return o.span().overlaps(c.span()) }) {
			out = append(out, c)
		}
	}
	return out
}

// storedAvoids reads the time_avoidance patterns: the avoid slots they give,
// and the week spans every readable one decides, dropped ones included.
func storedAvoids(ps []Pattern) ([]AvoidSlot, []span) {
	var (
		out       []AvoidSlot
		authority []span
	)
	for _, p := range ps {
		if p.Type != PatternTimeAvoidance {
			continue
		}
		sp, ok := parseStored(p.Data)
		if !ok {
			continue
		}
		authority = append(authority, spansOf(sp.days, sp.from, (sp.to-sp.from+minutesPerDay)%minutesPerDay)...)
		if sp.overridden && p.Confidence == 0 {
			continue // the user said this time is fine
		}
		reason := strings.TrimSpace(p.Description)
		if reason == "" {
			reason = storedReasonEmpty
		}
		out = append(out, AvoidSlot{Day: sp.day, TimeRange: clock(sp.from) + "-" + clock(sp.to), Reason: reason, Confidence: p.Confidence})
	}
	return out, authority
}

type storedSpan struct {
	day        string         // "Mon" or "any"
	days       []time.Weekday // nil for every day
	from, to   int            // minutes of day
	overridden bool
}

func parseStored(raw json.RawMessage) (storedSpan, bool) {
	var d struct {
		Day        json.RawMessage `json:"day"`
		From       string          `json:"from"`
		To         string          `json:"to"`
		TimeRange  string          `json:"time_range"`
		Overridden json.RawMessage `json:"user_overridden"`
	}
	if json.Unmarshal(raw, &d) != nil {
		return storedSpan{}, false
	}
	var s storedSpan
	day, ok := jsonScalar(d.Day)
	if !ok {
		return s, false
	}
	wd, anyDay, ok := parseDay(day)
	if !ok {
		return s, false
	}
	if anyDay {
		s.day = AnyDay
	} else {
		s.day, s.days = dayName(wd), []time.Weekday{wd}
	}
	from, to := d.From, d.To
	if from == "" && to == "" {
		from, to, ok = cutRange(d.TimeRange)
		if !ok {
			return s, false
		}
	}
	f, e1 := slots.ParseClock(from)
	t, e2 := slots.ParseClock(to)
	s.from, s.to = f.Minutes(), t.Minutes()
	if e1 != nil || e2 != nil {
		return s, false
	}
	ov, _ := jsonScalar(d.Overridden)
	s.overridden = strings.EqualFold(ov, "true")
	return s, true
}

// jsonScalar reads a JSON string, number or bool as text.
func jsonScalar(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return "", false
	}
	switch v.(type) {
	case float64, bool:
		return string(raw), true
	}
	return "", false
}

// cutRange splits "06:00-09:00" (hyphen or en dash).
func cutRange(s string) (string, string, bool) {
	for _, sep := range []string{"–", "-"} {
		if a, b, ok := strings.Cut(s, sep); ok {
			return strings.TrimSpace(a), strings.TrimSpace(b), true
		}
	}
	return "", "", false
}

// parseDay reads a stored or reported day: a weekday, or every day.
func parseDay(s string) (time.Weekday, bool, bool) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch t {
	case "any", "all", "daily", "every day", "everyday", "*":
		return 0, true, true
	}
	if d, ok := timeparse.ByDayWeekday(t); ok { // RRULE's codes, as the SQL rows use them
		return d, false, true
	}
	d, err := slots.ParseWeekday(t)
	return d, false, err == nil
}

func dayName(d time.Weekday) string { return d.String()[:3] }

// isoDay orders Monday first, as people read a week.
func isoDay(d time.Weekday) int { return (int(d) + 6) % 7 }

// dayOrder puts every-day entries before single days.
func dayOrder(day string) int {
	if day == AnyDay {
		return -1
	}
	d, _, ok := parseDay(day)
	if !ok {
		return 7
	}
	return isoDay(d)
}

func clock(min int) string { return slots.ClockOf(min).String() }

func round2(f float64) float64 { return math.Round(f*100) / 100 }

func pct(t tally) int { return int(math.Round(t.rate() * 100)) }

// notes writes at most MaxNotes sentences from counts, days, times and
// tags only: overall, the strongest slot, the weakest slot, the weakest tag.
func notes(r Report, all tally, bests []bestItem, avoids []avoidItem, cats []catItem) []string {
	out := []string{}
	if all.total < MinDataPoints {
		noun := "tasks"
		if all.total == 1 {
			noun = "task"
		}
		return append(out, fmt.Sprintf("Only %d settled %s so far: general defaults apply until there are at least %d.", all.total, noun, MinDataPoints))
	}
	s := fmt.Sprintf("%d of %d settled tasks were done (%d%%).", all.done, all.total, pct(all))
	if r.ColdStart {
		s += " History covers less than 14 days, so confidence stays below 0.5."
	}
	out = append(out, s)
	if len(bests) > 0 {
		b := bests[0]
		out = append(out, fmt.Sprintf("Completion is strongest on %s at %s (%d of %d done).", dayName(b.day), clock(b.at), b.count.done, b.count.total))
	}
	if len(avoids) > 0 {
		a := avoids[0]
		out = append(out, fmt.Sprintf("Completion is weakest on %s %s-%s (%d of %d done).", dayName(a.day), clock(a.from*60), clock(a.to*60), a.count.done, a.count.total))
	}
	if len(cats) >= 2 && cats[0].count.rate() < cats[len(cats)-1].count.rate() {
		c := cats[0]
		out = append(out, fmt.Sprintf("%s has the lowest completion rate: %d of %d done (%d%%).", c.tag, c.count.done, c.count.total, pct(c.count)))
	}
	return out[:min(len(out), MaxNotes)]
}
