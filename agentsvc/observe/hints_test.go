package observe_test

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/flux-companion/flux/agentsvc/observe"
	"github.com/flux-companion/flux/agentsvc/slots"
)

func TestHints(t *testing.T) {
	t.Parallel()
	r := observe.Report{
		BestTimes: []observe.BestTime{
			{Day: "Tue", Time: "07:30", Confidence: 0.6},
			{Day: "any", Time: "19:00", Confidence: 0.3},
			{Day: "Someday", Time: "07:00"}, // unreadable: left out
			{Day: "Wed", Time: "7am"},       // read as timeparse reads it
		},
		AvoidSlots: []observe.AvoidSlot{
			{Day: "Mon", TimeRange: "06:00-08:00", Confidence: 0.5},
			{Day: "any", TimeRange: "22:00-01:00", Confidence: 1.5}, // clamped, every weekday
			{Day: "Fri", TimeRange: "06:00–07:00", Confidence: 0.2}, // en dash
			{Day: "Sat", TimeRange: "06:00-07:00", Confidence: 0},   // no effect: left out
			{Day: "Sun", TimeRange: "06:00-07:00", Confidence: math.NaN()},
			{Day: "Thu", TimeRange: "late", Confidence: 0.9},
		},
	}
	c := func(h, m int) slots.Clock { return slots.Clock{H: h, M: m} }
	everyDay := func(from, to slots.Clock, conf float64) []slots.AvoidSlot {
		var out []slots.AvoidSlot
		for d := time.Sunday; d <= time.Saturday; d++ {
			out = append(out, slots.AvoidSlot{Day: d, From: from, To: to, Confidence: conf})
		}
		return out
	}
	want := slots.Hints{
		Chronotype: "evening",
		Avoid: append(append([]slots.AvoidSlot{{Day: time.Monday, From: c(6, 0), To: c(8, 0), Confidence: 0.5}},
			everyDay(c(22, 0), c(1, 0), 1)...),
			slots.AvoidSlot{Day: time.Friday, From: c(6, 0), To: c(7, 0), Confidence: 0.2}),
		Best: []slots.BestTime{
			{Day: time.Tuesday, At: c(7, 30)},
			{AnyDay: true, At: c(19, 0)},
			{Day: time.Wednesday, At: c(7, 0)},
		},
	}
	if got := r.Hints(" Evening"); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	for _, ct := range []struct{ in, want string }{{"morning", "morning"}, {"NEUTRAL", "neutral"}, {"", ""}, {"night owl", ""}} {
		if got := r.Hints(ct.in).Chronotype; got != ct.want {
			t.Errorf("chronotype %q → %q, want %q", ct.in, got, ct.want)
		}
	}
}

// TestHintsMoveThePlacement checks the whole path: misses on Monday
// mornings keep a Monday task out of them in the slot finder.
func TestHintsMoveThePlacement(t *testing.T) {
	t.Parallel()
	start := at(utc, 2026, 2, 2, 0, 0) // a Monday
	req := slots.Request{Title: "run", Duration: 30 * time.Minute, Days: []time.Weekday{time.Monday}}
	tests := []struct {
		name    string
		history []Outcome
		check   func(slots.Clock) bool
		want    string
	}{
		{"Monday mornings missed", weekly(utc, 2026, 1, 5, 7, 0, 3, false),
			func(c slots.Clock) bool { m := c.H*60 + c.M; return m+30 <= 6*60 || m >= 10*60 }, "clear of 06:00-10:00"},
		{"Monday mornings done", weekly(utc, 2026, 1, 5, 7, 0, 3, true),
			func(c slots.Clock) bool { return c == slots.Clock{H: 7} }, "07:00, the Monday best time"},
	}
	for _, tt := range tests {
		r := observe.Observe(observe.Input{Loc: utc, Now: start, Chronotype: "morning", History: tt.history})
		cal := slots.Calendar{Loc: utc, Hints: r.Hints("morning")}
		s, err := cal.Place(start, req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !tt.check(s.At) {
			t.Errorf("%s: placed at %v, want %s (hints %+v)", tt.name, s.At, tt.want, cal.Hints)
		}
	}
}
