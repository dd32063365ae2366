package slots_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/flux-companion/flux/agentsvc/slots"
)

// benchCalendar is a busy but realistic user: routines every weekday or
// day, a handful of one-off tasks a day, work hours and pattern hints;
// about three hundred tasks over the six weeks.
func benchCalendar(b *testing.B) (slots.Calendar, time.Time, []slots.Request) {
	loc := loadLoc(b, "Europe/Berlin")
	start := time.Date(2026, 3, 16, 0, 0, 0, 0, loc) // across the March clock change
	cal := slots.Calendar{
		Loc:   loc,
		Sleep: win("23:00", "07:00"),
		Work:  &slots.WorkHours{Window: *win("09:00", "17:00")},
		Hints: slots.Hints{
			Chronotype: "morning",
			Avoid:      []slots.AvoidSlot{{Day: time.Monday, From: clk("07:00"), To: clk("09:00"), Confidence: 0.6}},
			Best:       []slots.BestTime{{AnyDay: true, At: clk("07:30")}, {Day: time.Saturday, At: clk("10:00")}},
		},
	}
	routine := []struct {
		title    string
		at       string
		d        time.Duration
		weekdays bool
	}{
		{"Commute", "08:15", 30 * time.Minute, true},
		{"Lunch", "12:30", 45 * time.Minute, false},
		{"Pick up kids", "16:30", 30 * time.Minute, true},
		{"Dinner", "19:30", time.Hour, false},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for day := range 42 {
		date := start.AddDate(0, 0, day)
		for _, rt := range routine {
			if rt.weekdays && (date.Weekday() == time.Saturday || date.Weekday() == time.Sunday) {
				continue
			}
			c := clk(rt.at)
			cal.Busy = append(cal.Busy, slots.Busy{Start: time.Date(2026, 3, 16+day, c.H, c.M, 0, 0, loc), Duration: rt.d, Title: rt.title})
		}
		// Meetings in work hours on weekdays, errands at weekends, and an
		// evening appointment one day in five.
		n, from, hours, title := 4, 9, 8, "Meeting"
		if date.Weekday() == time.Saturday || date.Weekday() == time.Sunday {
			n, from, hours, title = 2, 9, 12, "Errand"
		}
		if r.IntN(5) == 0 {
			n++
		}
		for i := range n {
			h, m := from+r.IntN(hours), 15*r.IntN(4)
			if i == 4 || (i == 2 && title == "Errand") {
				h, title = 17+r.IntN(3), "Appointment"
			}
			cal.Busy = append(cal.Busy, slots.Busy{
				Start:    time.Date(2026, 3, 16+day, h, m, 0, 0, loc),
				Duration: time.Duration(15+15*r.IntN(6)) * time.Minute,
				Title:    fmt.Sprintf("%s %d/%d", title, day, i),
			})
		}
	}
	reqs := []slots.Request{
		{Title: "Run", Duration: 45 * time.Minute, Days: []time.Weekday{time.Monday, time.Wednesday, time.Friday}, FirstWeek: 1, LastWeek: 6, Preferred: new(clk("07:00"))},
		{Title: "Meditate", Duration: 15 * time.Minute, FirstWeek: 1, LastWeek: 6, Preferred: new(clk("22:15"))},
		{Title: "Study", Duration: time.Hour, Days: []time.Weekday{time.Tuesday, time.Thursday}, FirstWeek: 2, LastWeek: 6, Preferred: new(clk("19:00"))},
		{Title: "Weekly review", Duration: 30 * time.Minute, Days: []time.Weekday{time.Sunday}, FirstWeek: 1, LastWeek: 6},
		{Title: "Stretch", Duration: 10 * time.Minute, FirstWeek: 1, LastWeek: 3},
	}
	return cal, start, reqs
}

func BenchmarkPlaceAll(b *testing.B) {
	cal, start, reqs := benchCalendar(b)
	got, _, err := cal.PlaceAll(start, reqs)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, s := range got {
		n += len(s.Starts)
	}
	b.Logf("%d busy tasks; %d requests placed as %d occurrences", len(cal.Busy), len(got), n)
	for _, s := range got {
		b.Logf("  %s at %v (work hours %v) %s", s.Title, s.At, s.InWorkHours, s.Conflict)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := cal.PlaceAll(start, reqs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNext(b *testing.B) {
	cal, start, _ := benchCalendar(b)
	after := start.Add(3*24*time.Hour + 18*time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := cal.Next(after, time.Hour, false); !ok {
			b.Fatal("no slot")
		}
	}
}
