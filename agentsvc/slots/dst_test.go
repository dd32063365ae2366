package slots_test

import (
	"strings"
	"testing"
	"time"

	"github.com/flux-companion/flux/agentsvc/slots"
)

// TestDST places a 07:00 slot across the 2026 clock changes: every
// occurrence must stay 07:00 local, so its UTC time must change once.
func TestDST(t *testing.T) {
	t.Parallel()
	tests := []struct {
		zone   string
		start  [3]int // a Monday two weeks before the change
		change [3]int
		days   []time.Weekday
		n      int
	}{
		{"Europe/Berlin", [3]int{2026, 3, 16}, [3]int{2026, 3, 29}, []time.Weekday{time.Sunday}, 6},
		{"Europe/Berlin", [3]int{2026, 10, 12}, [3]int{2026, 10, 25}, []time.Weekday{time.Sunday}, 6},
		{"America/New_York", [3]int{2026, 2, 23}, [3]int{2026, 3, 8}, []time.Weekday{time.Sunday}, 6},
		{"America/New_York", [3]int{2026, 10, 19}, [3]int{2026, 11, 1}, []time.Weekday{time.Sunday}, 6},
		{"Europe/Berlin", [3]int{2026, 3, 16}, [3]int{2026, 3, 29}, nil, 42},
		{"America/New_York", [3]int{2026, 10, 19}, [3]int{2026, 11, 1}, []time.Weekday{time.Monday, time.Thursday}, 12},
	}
	for _, tt := range tests {
		t.Run(tt.zone+"/"+time.Month(tt.change[1]).String()+"/"+strings.Repeat("d", len(tt.days)), func(t *testing.T) {
			t.Parallel()
			loc := loadLoc(t, tt.zone)
			cal := slots.Calendar{Loc: loc, Sleep: win("23:00", "07:00")}
			start := time.Date(tt.start[0], time.Month(tt.start[1]), tt.start[2], 0, 0, 0, 0, loc)
			change := time.Date(tt.change[0], time.Month(tt.change[1]), tt.change[2], 0, 0, 0, 0, loc) // before the change, which is at night
			got, err := cal.Place(start, slots.Request{
				Title: "Run", Duration: 45 * time.Minute, Days: tt.days, FirstWeek: 1, LastWeek: 6, Preferred: new(clk("07:00")),
			})
			if err != nil {
				t.Fatalf("Place: %v", err)
			}
			if got.At.String() != "07:00" || got.Conflict != "" || len(got.Starts) != tt.n {
				t.Fatalf("slot at %v with %d occurrences (conflict %q), want 07:00 with %d", got.At, len(got.Starts), got.Conflict, tt.n)
			}
			utcHours := map[bool]int{}
			for i, s := range got.Starts {
				l := s.In(loc)
				if l.Hour() != 7 || l.Minute() != 0 {
					t.Errorf("occurrence %d is %v local, want 07:00", i, l)
				}
				if i > 0 && !s.After(got.Starts[i-1]) {
					t.Errorf("occurrences out of order at %d", i)
				}
				utcHours[s.After(change)] = s.UTC().Hour()
			}
			if utcHours[false] == utcHours[true] {
				t.Errorf("UTC hour %d on both sides of the change: the clock change was not applied", utcHours[true])
			}
		})
	}
}

// TestDSTSkippedTime: a preferred time that does not exist on one of the
// dates is not used, and the slot still stays on one local time.
func TestDSTSkippedTime(t *testing.T) {
	t.Parallel()
	loc := loadLoc(t, "Europe/Berlin")
	cal := slots.Calendar{Loc: loc}
	start := time.Date(2026, 3, 23, 0, 0, 0, 0, loc)
	got, err := cal.Place(start, slots.Request{
		Title: "Telescope", Duration: 30 * time.Minute, Days: []time.Weekday{time.Sunday}, LastWeek: 2, Preferred: new(clk("02:30")),
	})
	if err != nil {
		t.Fatalf("Place: %v", err)
	}
	// 02:00–02:45 do not exist on 29 March; 03:00 is nearer than 01:45.
	if got.At.String() != "03:00" || !strings.Contains(got.Conflict, "preferred 02:30 does not exist on Sun 29 Mar") {
		t.Fatalf("slot at %v, conflict %q", got.At, got.Conflict)
	}
	for _, s := range got.Starts {
		if l := s.In(loc); l.Hour() != 3 || l.Minute() != 0 {
			t.Errorf("occurrence at %v local", l)
		}
	}
}

// TestDSTSleepWindow: on the nights the clocks change, the sleep window
// still covers every instant whose local time is inside it.
func TestDSTSleepWindow(t *testing.T) {
	t.Parallel()
	loc := loadLoc(t, "Europe/Berlin")
	tests := []struct {
		name  string
		sleep *slots.Window
		after time.Time
		want  time.Time
	}{
		// Sleep from 02:30, a time 29 March skips: it starts at the jump (03:00 CEST).
		// From 01:50 CET the first grid time is 02:00, which is the jump itself (03:00 CEST).
		{"skipped start", win("02:30", "06:00"), time.Date(2026, 3, 29, 1, 50, 0, 0, loc), time.Date(2026, 3, 29, 6, 0, 0, 0, loc)},
		// Sleep until 02:30, a time 25 October repeats: the second 02:30 ends it.
		// From the first 02:30 (00:30 UTC) the window still holds until the second (01:30 UTC).
		{"repeated end", win("23:00", "02:30"), time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cal := slots.Calendar{Loc: loc, Sleep: tt.sleep}
			got, ok := cal.Next(tt.after, 15*time.Minute, false)
			if !ok || !got.Equal(tt.want) {
				t.Fatalf("Next(%v) = %v (%v local), want %v", tt.after.UTC(), got, got.In(loc), tt.want.UTC())
			}
		})
	}
}
