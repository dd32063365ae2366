package observe_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flux-companion/flux/agentsvc/observe"
)

func loadLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

// at is a local wall time (one that exists once) as UTC, as the database stores it.
func at(loc *time.Location, y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, loc).UTC()
}

// weekly is n outcomes a week apart from the local first date.
func weekly(loc *time.Location, y int, m time.Month, d, hh, mm, n int, done bool, tags ...string) []Outcome {
	out := make([]Outcome, n)
	for i := range out {
		out[i] = Outcome{ScheduledAt: at(loc, y, m, d+7*i, hh, mm), Done: done, Tags: tags}
	}
	return out
}

type Outcome = observe.Outcome

func cat(parts ...[]Outcome) []Outcome {
	var out []Outcome
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var mondayRule = observe.AvoidSlot{
	Day: "Mon", TimeRange: "06:00-10:00", Confidence: 0.3,
	Reason: "General rule: Monday mornings are a poor fit for high-effort tasks, until Monday history shows otherwise.",
}

// 2026-01-05 is a Monday; Now is four weeks later, well past cold start.
var (
	utc = time.UTC
	now = at(time.UTC, 2026, 2, 2, 12, 0)
)

func TestColdStartOnlyWithFewerThanThreeOutcomes(t *testing.T) {
	t.Parallel()
	two := weekly(utc, 2026, 1, 6, 7, 0, 2, true, "Fitness") // 2 done Tuesdays: too few to claim
	tests := []struct {
		chronotype string
		best       []observe.BestTime
	}{
		{"morning", []observe.BestTime{{Day: "any", Time: "07:00", Confidence: 0.3, Reason: "Cold start: a morning person, so 06:00-09:00 is preferred."}}},
		{" Evening ", []observe.BestTime{{Day: "any", Time: "19:00", Confidence: 0.3, Reason: "Cold start: an evening person, so 18:00-21:00 is preferred."}}},
		{"neutral", []observe.BestTime{}},
		{"", []observe.BestTime{}},
	}
	for _, tt := range tests {
		t.Run(tt.chronotype, func(t *testing.T) {
			t.Parallel()
			got := observe.Observe(observe.Input{Loc: utc, Now: now, Chronotype: tt.chronotype, History: two})
			want := observe.Report{
				BestTimes:           tt.best,
				AvoidSlots:          []observe.AvoidSlot{mondayRule},
				CategoryPerformance: []observe.CategoryPerformance{},
				GeneralNotes:        []string{"Only 2 settled tasks so far: general defaults apply until there are at least 3."},
				DataPoints:          2,
				ColdStart:           true, // a month of span, but two outcomes are not data
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestHistorySlots(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		history []Outcome
		best    []observe.BestTime
		avoid   []observe.AvoidSlot
		notes   []string
	}{
		{
			name:    "4 done Tuesdays 07:00 give a best time",
			history: weekly(utc, 2026, 1, 6, 7, 0, 4, true),
			best:    []observe.BestTime{{Day: "Tue", Time: "07:00", Confidence: 0.55, Reason: "4 of 4 tasks on Tue between 07:00 and 08:00 were done."}},
			avoid:   []observe.AvoidSlot{mondayRule},
			notes:   []string{"4 of 4 settled tasks were done (100%).", "Completion is strongest on Tue at 07:00 (4 of 4 done)."},
		},
		{
			name:    "3 missed Mondays 07:00 give an avoid slot an hour either side",
			history: weekly(utc, 2026, 1, 5, 7, 0, 3, false),
			best:    []observe.BestTime{},
			avoid: []observe.AvoidSlot{
				{Day: "Mon", TimeRange: "06:00-08:00", Confidence: 0.5, Reason: "3 of 3 tasks missed on Mon between 06:00 and 08:00."},
				mondayRule,
			},
			notes: []string{"0 of 3 settled tasks were done (0%).", "Completion is weakest on Mon 06:00-08:00 (0 of 3 done)."},
		},
		{
			name:    "2 of 3 done is neither best nor avoid",
			history: cat(weekly(utc, 2026, 1, 7, 9, 0, 2, true), weekly(utc, 2026, 1, 21, 9, 0, 1, false)),
			best:    []observe.BestTime{},
			avoid:   []observe.AvoidSlot{mondayRule},
			notes:   []string{"2 of 3 settled tasks were done (67%)."},
		},
		{
			name:    "the reported best time is the habit's usual minute",
			history: cat(weekly(utc, 2026, 1, 8, 7, 30, 3, true), weekly(utc, 2026, 1, 8, 7, 0, 1, true)),
			best:    []observe.BestTime{{Day: "Thu", Time: "07:30", Confidence: 0.55, Reason: "4 of 4 tasks on Thu between 07:00 and 08:00 were done."}},
			avoid:   []observe.AvoidSlot{mondayRule},
			notes:   []string{"4 of 4 settled tasks were done (100%).", "Completion is strongest on Thu at 07:30 (4 of 4 done)."},
		},
		{
			name: "Monday mornings that go well lift the Monday rule",
			history: cat(
				weekly(utc, 2026, 1, 5, 8, 0, 3, true),
				weekly(utc, 2026, 1, 5, 9, 30, 1, false),
			),
			best:  []observe.BestTime{{Day: "Mon", Time: "08:00", Confidence: 0.5, Reason: "3 of 3 tasks on Mon between 08:00 and 09:00 were done."}},
			avoid: []observe.AvoidSlot{},
			notes: []string{"3 of 4 settled tasks were done (75%).", "Completion is strongest on Mon at 08:00 (3 of 3 done)."},
		},
		{
			name: "an avoid window never covers a best hour",
			history: cat(
				weekly(utc, 2026, 1, 7, 6, 0, 3, true),
				weekly(utc, 2026, 1, 7, 7, 0, 3, false),
			),
			best: []observe.BestTime{{Day: "Wed", Time: "06:00", Confidence: 0.5, Reason: "3 of 3 tasks on Wed between 06:00 and 07:00 were done."}},
			avoid: []observe.AvoidSlot{
				{Day: "Wed", TimeRange: "07:00-08:00", Confidence: 0.5, Reason: "3 of 3 tasks missed on Wed between 07:00 and 08:00."},
				mondayRule,
			},
			notes: []string{"3 of 6 settled tasks were done (50%).", "Completion is strongest on Wed at 06:00 (3 of 3 done).", "Completion is weakest on Wed 07:00-08:00 (0 of 3 done)."},
		},
		{
			name: "overlapping windows keep the one with most misses",
			history: cat(
				weekly(utc, 2026, 1, 7, 7, 0, 3, false),
				weekly(utc, 2026, 1, 7, 8, 0, 3, false),
			),
			best: []observe.BestTime{},
			avoid: []observe.AvoidSlot{
				{Day: "Wed", TimeRange: "07:00-09:00", Confidence: 0.65, Reason: "6 of 6 tasks missed on Wed between 07:00 and 09:00."},
				mondayRule,
			},
			notes: []string{"0 of 6 settled tasks were done (0%).", "Completion is weakest on Wed 07:00-09:00 (0 of 6 done)."},
		},
		{
			name: "windows stay within their day at midnight",
			history: cat(
				weekly(utc, 2026, 1, 10, 0, 30, 3, false), // Saturdays 00:30
				weekly(utc, 2026, 1, 11, 23, 0, 3, false), // Sundays 23:00
			),
			best: []observe.BestTime{},
			avoid: []observe.AvoidSlot{
				{Day: "Sat", TimeRange: "00:00-01:00", Confidence: 0.5, Reason: "3 of 3 tasks missed on Sat between 00:00 and 01:00."},
				{Day: "Sun", TimeRange: "22:00-00:00", Confidence: 0.5, Reason: "3 of 3 tasks missed on Sun between 22:00 and 00:00."},
				mondayRule,
			},
			notes: []string{"0 of 6 settled tasks were done (0%).", "Completion is weakest on Sat 00:00-01:00 (0 of 3 done)."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := observe.Observe(observe.Input{Loc: utc, Now: now, History: tt.history})
			if !reflect.DeepEqual(got.BestTimes, tt.best) {
				t.Errorf("best times\ngot  %+v\nwant %+v", got.BestTimes, tt.best)
			}
			if !reflect.DeepEqual(got.AvoidSlots, tt.avoid) {
				t.Errorf("avoid slots\ngot  %+v\nwant %+v", got.AvoidSlots, tt.avoid)
			}
			if !reflect.DeepEqual(got.GeneralNotes, tt.notes) {
				t.Errorf("notes\ngot  %q\nwant %q", got.GeneralNotes, tt.notes)
			}
			if got.ColdStart || got.DataPoints != len(tt.history) {
				t.Errorf("cold start %v, data points %d; want false, %d", got.ColdStart, got.DataPoints, len(tt.history))
			}
		})
	}
}

func TestBestTimesAtMostFive(t *testing.T) {
	t.Parallel()
	var h []Outcome
	for d := range 7 { // a done 07:00 slot every day, with 3..9 outcomes
		h = append(h, weekly(utc, 2026, 1, 5+d, 7, 0, 3, true)...)
		for k := range d {
			h = append(h, Outcome{ScheduledAt: at(utc, 2026, 1, 5+d, 7, 10+k), Done: true})
		}
	}
	got := observe.Observe(observe.Input{Loc: utc, Now: now, History: h}).BestTimes
	var days []string
	for _, b := range got {
		days = append(days, b.Day)
	}
	// Equal rates: most outcomes first, so Sunday (9) down to Wednesday (5).
	if want := []string{"Sun", "Sat", "Fri", "Thu", "Wed"}; !reflect.DeepEqual(days, want) {
		t.Errorf("best days %v, want %v", days, want)
	}
}

func TestDSTGroupsByLocalHour(t *testing.T) {
	t.Parallel()
	tests := []struct {
		zone string
		y    int
		m    time.Month
		d    int // the first Tuesday; the clocks change within the four weeks
	}{
		{"America/New_York", 2026, 2, 24}, // spring forward 8 March
		{"Europe/Berlin", 2026, 10, 13},   // fall back 25 October
	}
	for _, tt := range tests {
		t.Run(tt.zone, func(t *testing.T) {
			t.Parallel()
			loc := loadLoc(t, tt.zone)
			h := weekly(loc, tt.y, tt.m, tt.d, 7, 0, 4, false)
			if h[0].ScheduledAt.Hour() == h[3].ScheduledAt.Hour() {
				t.Fatalf("test data does not cross a clock change: %v, %v", h[0].ScheduledAt, h[3].ScheduledAt)
			}
			r := observe.Observe(observe.Input{Loc: loc, Now: h[3].ScheduledAt.Add(72 * time.Hour), History: h})
			want := observe.AvoidSlot{Day: "Tue", TimeRange: "06:00-08:00", Confidence: 0.55, Reason: "4 of 4 tasks missed on Tue between 06:00 and 08:00."}
			if len(r.AvoidSlots) != 2 || r.AvoidSlots[0] != want {
				t.Errorf("avoid slots %+v, want %+v first of two", r.AvoidSlots, want)
			}
			for i := range h {
				h[i].Done = true
			}
			r = observe.Observe(observe.Input{Loc: loc, Now: h[3].ScheduledAt.Add(72 * time.Hour), History: h})
			wantB := []observe.BestTime{{Day: "Tue", Time: "07:00", Confidence: 0.55, Reason: "4 of 4 tasks on Tue between 07:00 and 08:00 were done."}}
			if !reflect.DeepEqual(r.BestTimes, wantB) {
				t.Errorf("best times %+v, want %+v", r.BestTimes, wantB)
			}
		})
	}
}

func TestConfidenceGrowsAfterColdStart(t *testing.T) {
	t.Parallel()
	// k tasks on Tuesday 6 Jan 07:00.. and k missed on Monday 5 Jan 07:00..,
	// minutes apart, so one day of history already has k per slot.
	hist := func(k int) []Outcome {
		var h []Outcome
		for i := range k {
			h = append(h,
				Outcome{ScheduledAt: at(utc, 2026, 1, 6, 7, i), Done: true},
				Outcome{ScheduledAt: at(utc, 2026, 1, 5, 7, i), Done: false})
		}
		return h
	}
	first := at(utc, 2026, 1, 5, 7, 0)
	tests := []struct {
		k    int
		span time.Duration
		cold bool
		conf float64
	}{
		{3, 10 * 24 * time.Hour, true, 0.25},
		{3, 14*24*time.Hour - time.Second, true, 0.25},
		{5, 13 * 24 * time.Hour, true, 0.35},
		{12, 13 * 24 * time.Hour, true, 0.45}, // capped below 0.5
		{3, 14 * 24 * time.Hour, false, 0.5},
		{5, 20 * 24 * time.Hour, false, 0.6},
		{20, 20 * 24 * time.Hour, false, 0.95}, // capped below certainty
	}
	for _, tt := range tests {
		r := observe.Observe(observe.Input{Loc: utc, Now: first.Add(tt.span), History: hist(tt.k)})
		if r.ColdStart != tt.cold {
			t.Errorf("k=%d span %v: cold start %v, want %v", tt.k, tt.span, r.ColdStart, tt.cold)
		}
		if len(r.BestTimes) != 1 || r.BestTimes[0].Confidence != tt.conf {
			t.Errorf("k=%d span %v: best times %+v, want one at confidence %v", tt.k, tt.span, r.BestTimes, tt.conf)
		}
		wantA := observe.AvoidSlot{Day: "Mon", TimeRange: "06:00-08:00", Confidence: tt.conf, Reason: fmt.Sprintf("%d of %d tasks missed on Mon between 06:00 and 08:00.", tt.k, tt.k)}
		if len(r.AvoidSlots) != 2 || !slices.Contains(r.AvoidSlots, wantA) || !slices.Contains(r.AvoidSlots, mondayRule) {
			t.Errorf("k=%d span %v: avoid slots %+v, want %+v and the Monday rule", tt.k, tt.span, r.AvoidSlots, wantA)
		}
		if tt.cold && !strings.Contains(r.GeneralNotes[0], "less than 14 days") {
			t.Errorf("k=%d span %v: first note %q does not say the history is short", tt.k, tt.span, r.GeneralNotes[0])
		}
	}
}

func pattern(typ, desc, data string, conf float64) observe.Pattern {
	return observe.Pattern{Type: typ, Description: desc, Data: json.RawMessage(data), Confidence: conf}
}

func TestStoredPatterns(t *testing.T) {
	t.Parallel()
	mondayMisses := weekly(utc, 2026, 1, 5, 7, 0, 3, false)
	wedMisses := weekly(utc, 2026, 1, 7, 19, 0, 3, false)
	histMon := observe.AvoidSlot{Day: "Mon", TimeRange: "06:00-08:00", Confidence: 0.5, Reason: "3 of 3 tasks missed on Mon between 06:00 and 08:00."}
	histWed := observe.AvoidSlot{Day: "Wed", TimeRange: "18:00-20:00", Confidence: 0.5, Reason: "3 of 3 tasks missed on Wed between 18:00 and 20:00."}
	tests := []struct {
		name     string
		history  []Outcome
		patterns []observe.Pattern
		want     []observe.AvoidSlot
	}{
		{
			name:    "an overridden pattern is used as the user left it",
			history: wedMisses,
			patterns: []observe.Pattern{pattern("time_avoidance", "Nothing before 9, any day.",
				`{"day":"all","time_range":"06:00-09:00","observer_confidence":0.78,"user_overridden":true}`, 0.95)},
			// The every-day pattern decides Monday mornings too: no general Monday rule.
			want: []observe.AvoidSlot{{Day: "any", TimeRange: "06:00-09:00", Reason: "Nothing before 9, any day.", Confidence: 0.95}, histWed},
		},
		{
			name:    "overridden to confidence 0 means fine: dropped, and history cannot bring it back",
			history: cat(mondayMisses, wedMisses),
			patterns: []observe.Pattern{pattern("time_avoidance", "Wednesday evenings are fine.",
				`{"day":"Wed","from":"18:00","to":"20:00","user_overridden":true}`, 0)},
			want: []observe.AvoidSlot{histMon, mondayRule},
		},
		{
			name:    "a confidence-0 pattern that is not overridden is kept",
			history: wedMisses,
			patterns: []observe.Pattern{pattern("time_avoidance", "Observer: weak.",
				`{"day":"Wed","from":"18:00","to":"20:00"}`, 0)},
			want: []observe.AvoidSlot{mondayRule, {Day: "Wed", TimeRange: "18:00-20:00", Reason: "Observer: weak.", Confidence: 0}},
		},
		{
			name:    "the SQL miss rule's row replaces the same misses from history",
			history: mondayMisses,
			patterns: []observe.Pattern{
				pattern("time_avoidance", "Monday 07:00 missed 3 weeks in a row.", `{"day":"MO","time_range":"06:00-09:00","misses":3}`, 0.72),
				pattern("time_avoidance", "", `{"day":"Friday","from":"21:00","to":"1:00"}`, 0.4),
			},
			want: []observe.AvoidSlot{
				{Day: "Mon", TimeRange: "06:00-09:00", Reason: "Monday 07:00 missed 3 weeks in a row.", Confidence: 0.72},
				{Day: "Fri", TimeRange: "21:00-01:00", Reason: "Stored time-avoidance pattern.", Confidence: 0.4},
			},
		},
		{
			name:    "unreadable and other patterns are skipped",
			history: nil,
			patterns: []observe.Pattern{
				pattern("time_avoidance", "bad day", `{"day":"Funday","from":"06:00","to":"08:00"}`, 0.9),
				pattern("time_avoidance", "no range", `{"day":"Tue"}`, 0.9),
				pattern("time_avoidance", "bad clock", `{"day":"Tue","time_range":"25:00-26:00"}`, 0.9),
				pattern("time_avoidance", "not json", `nope`, 0.9),
				pattern("completion_streak", "streak", `{"streak":5,"best_time":"07:00"}`, 0.9),
				pattern("category_performance", "cats", `{"categories":[]}`, 0.9),
			},
			want: []observe.AvoidSlot{mondayRule},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before, _ := json.Marshal(tt.patterns)
			got := observe.Observe(observe.Input{Loc: utc, Now: now, History: tt.history, Patterns: tt.patterns}).AvoidSlots
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("avoid slots\ngot  %+v\nwant %+v", got, tt.want)
			}
			if after, _ := json.Marshal(tt.patterns); string(after) != string(before) {
				t.Errorf("Observe modified its input patterns:\n%s\n%s", before, after)
			}
		})
	}
}

func TestCategoryPerformance(t *testing.T) {
	t.Parallel()
	var h []Outcome
	add := func(done int, total int, tags ...string) {
		for i := range total {
			// Spread over days and hours so no slot rule interferes.
			h = append(h, Outcome{ScheduledAt: at(utc, 2026, 1, 5+len(h)%20, 8+len(h)%9, 0), Done: i < done, Tags: tags})
		}
	}
	add(2, 5, "Fitness", "Fitness", " ") // a repeated tag counts once; a blank one not at all
	add(2, 3, "Learning")
	add(4, 4, "Productivity", "Learning") // Learning becomes 6 of 7
	add(1, 2, "Health")                   // 2 outcomes: not reported
	add(3, 3)                             // standalone tasks: no category
	r := observe.Observe(observe.Input{Loc: utc, Now: now, History: h})
	want := []observe.CategoryPerformance{
		{Category: "Fitness", CompletionRate: 0.4, DataPoints: 5},
		{Category: "Learning", CompletionRate: 0.86, DataPoints: 7},
		{Category: "Productivity", CompletionRate: 1, DataPoints: 4},
	}
	if !reflect.DeepEqual(r.CategoryPerformance, want) {
		t.Errorf("categories\ngot  %+v\nwant %+v", r.CategoryPerformance, want)
	}
	note := "Fitness has the lowest completion rate: 2 of 5 done (40%)."
	if n := r.GeneralNotes; len(n) == 0 || n[len(n)-1] != note {
		t.Errorf("notes %q, want last %q", n, note)
	}
}

func TestEmptyReportEncodesEmptyLists(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(observe.Observe(observe.Input{Now: now}))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"best_times":[],"avoid_slots":[{"day":"Mon","time_range":"06:00-10:00","reason":"` + mondayRule.Reason +
		`","confidence":0.3}],"category_performance":[],"general_notes":["Only 0 settled tasks so far: general defaults apply until there are at least 3."],"data_points":0,"cold_start":true}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestDeterministicUnderShuffle(t *testing.T) {
	t.Parallel()
	loc := loadLoc(t, "Europe/Berlin")
	rng := rand.New(rand.NewPCG(7, 7))
	in := randomInput(rng, loc, 300, 84)
	in.Patterns = []observe.Pattern{
		pattern("time_avoidance", "b", `{"day":"Tue","time_range":"06:00-09:00"}`, 0.6),
		pattern("time_avoidance", "a", `{"day":"Tue","time_range":"06:00-09:00"}`, 0.6),
		pattern("time_avoidance", "c", `{"day":"all","from":"22:00","to":"23:00","user_overridden":true}`, 0.6),
	}
	want := observe.Observe(in)
	wantJSON, _ := json.Marshal(want)
	if len(want.BestTimes) == 0 || len(want.AvoidSlots) < 4 || len(want.CategoryPerformance) < 2 {
		t.Fatalf("test input too thin to show order: %+v", want)
	}
	for range 50 {
		rng.Shuffle(len(in.History), func(i, j int) { in.History[i], in.History[j] = in.History[j], in.History[i] })
		rng.Shuffle(len(in.Patterns), func(i, j int) { in.Patterns[i], in.Patterns[j] = in.Patterns[j], in.Patterns[i] })
		for i := range in.History {
			tags := in.History[i].Tags
			rng.Shuffle(len(tags), func(a, b int) { tags[a], tags[b] = tags[b], tags[a] })
		}
		got := observe.Observe(in)
		if gotJSON, _ := json.Marshal(got); !reflect.DeepEqual(got, want) || string(gotJSON) != string(wantJSON) {
			t.Fatalf("report changed with input order\ngot  %s\nwant %s", gotJSON, wantJSON)
		}
	}
}
