package slots_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flux-companion/flux/agentsvc/slots"
)

func loadLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func clk(s string) slots.Clock {
	c, err := slots.ParseClock(s)
	if err != nil {
		panic(err)
	}
	return c
}

func win(from, to string) *slots.Window { return &slots.Window{Start: clk(from), End: clk(to)} }

// at is a local wall time; the tests only use times that exist once.
func at(loc *time.Location, y int, m time.Month, d int, hhmm string) time.Time {
	c := clk(hhmm)
	return time.Date(y, m, d, c.H, c.M, 0, 0, loc)
}

func TestParseClock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    slots.Clock
		wantErr bool
	}{
		{"07:30", slots.Clock{H: 7, M: 30}, false},
		{"7:05", slots.Clock{H: 7, M: 5}, false},
		{"23:59", slots.Clock{H: 23, M: 59}, false},
		{"00:00", slots.Clock{}, false},
		{"18:00:00", slots.Clock{H: 18}, false},
		{" 06:15 ", slots.Clock{H: 6, M: 15}, false},
		{"7:30 pm", slots.Clock{H: 19, M: 30}, false},
		{"24:00", slots.Clock{}, true},
		{"12:60", slots.Clock{}, true},
		{"7", slots.Clock{}, true},
		{"7:5", slots.Clock{}, true},
		{"07:30:15", slots.Clock{}, true},
		{"ab:cd", slots.Clock{}, true},
		{"-1:30", slots.Clock{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := slots.ParseClock(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseClock(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
			if err == nil && tt.in == "07:30" && got.String() != "07:30" {
				t.Fatalf("String() = %q", got.String())
			}
		})
	}
}

func TestParseWeekday(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    time.Weekday
		wantErr bool
	}{
		{"Mon", time.Monday, false},
		{"monday", time.Monday, false},
		{"THU", time.Thursday, false},
		{"Tues", time.Tuesday, false},
		{"0", time.Sunday, false},
		{"7", time.Sunday, false},
		{"1", time.Monday, false},
		{"6", time.Saturday, false},
		{"8", 0, true},
		{"someday", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := slots.ParseWeekday(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseWeekday(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestPlace(t *testing.T) {
	t.Parallel()
	berlin := loadLoc(t, "Europe/Berlin")
	monday := at(berlin, 2026, time.June, 1, "00:00") // Mon 1 Jun 2026
	mondays := []time.Weekday{time.Monday}
	weekdays := &slots.WorkHours{Window: *win("09:00", "17:00")} // no days: Monday to Friday
	// hinted is a night's sleep, 23:00–07:00, and ranking hints.
	hinted := func(h slots.Hints) slots.Calendar { return slots.Calendar{Sleep: win("23:00", "07:00"), Hints: h} }
	// booked is a calendar's one task, on Monday 1 June.
	booked := func(hhmm string, d time.Duration, title string) []slots.Busy {
		return []slots.Busy{{Start: at(berlin, 2026, time.June, 1, hhmm), Duration: d, Title: title}}
	}

	// A "Shift" from 07:00 for 16 hours every day of the horizon: with
	// sleep 23:00–07:00 nothing is left.
	var full []slots.Busy
	for d := range 7 * slots.HorizonWeeks {
		full = append(full, slots.Busy{Start: at(berlin, 2026, time.June, 1+d, "07:00"), Duration: 16 * time.Hour, Title: "Shift"})
	}

	tests := []struct {
		name         string
		cal          slots.Calendar
		start        time.Time
		req          slots.Request
		want         string // local HH:MM of the slot
		wantWork     bool
		wantConflict string // substring of Slot.Conflict; "" means none
		wantStarts   int    // 0: do not check
		wantErr      error  // errors.Is target; errAny for a non-ErrNoSlot error
	}{
		{
			name: "without hints the day fills from waking",
			cal:  slots.Calendar{Sleep: win("23:00", "07:00")},
			req:  slots.Request{Title: "Read", Duration: 30 * time.Minute, FirstWeek: 1, LastWeek: 6},
			want: "07:00", wantStarts: 42,
		},
		{
			name: "sleep window crossing midnight is never used",
			cal:  slots.Calendar{Sleep: win("23:00", "07:00")},
			req:  slots.Request{Title: "Stretch", Duration: 30 * time.Minute, Preferred: new(clk("23:30"))},
			// 23:00, 00:00 and 22:45 (ends 23:15) are in or run into sleep.
			want: "22:30", wantConflict: "preferred 23:30 falls in the sleep window 23:00–07:00",
		},
		{
			name: "a task may not run into the sleep window",
			cal:  slots.Calendar{Sleep: win("22:00", "06:00")},
			req:  slots.Request{Title: "Walk", Duration: time.Hour, Preferred: new(clk("21:30"))},
			want: "21:00", wantConflict: "sleep window",
		},
		{
			name: "sleep window entirely after midnight",
			cal:  slots.Calendar{Sleep: win("01:00", "09:00")},
			req:  slots.Request{Title: "Read", Duration: 30 * time.Minute},
			want: "09:00",
		},
		{
			name: "preferred time honoured when free",
			cal:  slots.Calendar{Sleep: win("23:00", "07:00"), Hints: slots.Hints{Chronotype: "morning"}},
			req:  slots.Request{Title: "Run", Duration: 45 * time.Minute, Days: mondays, Preferred: new(clk("18:30"))},
			want: "18:30",
		},
		{
			name: "preferred time off the grid honoured when free",
			cal:  slots.Calendar{Sleep: win("23:00", "07:00")},
			req:  slots.Request{Title: "Pills", Duration: 5 * time.Minute, Preferred: new(clk("08:10"))},
			want: "08:10",
		},
		{
			name: "preferred time taken: conflict names the task and the nearest free time wins",
			cal:  slots.Calendar{Sleep: win("23:00", "07:00"), Busy: booked("18:00", time.Hour, "Gym")},
			req:  slots.Request{Title: "Run", Duration: 30 * time.Minute, Days: mondays, Preferred: new(clk("18:30"))},
			// 17:15 ends 45 min before the gym (75 min away), 19:15 starts 15 after it (45 min away).
			want: "19:15", wantConflict: `preferred 18:30 clashes with "Gym" at Mon 1 Jun 18:00 CEST (15 min buffer included)`,
		},
		{
			name: "buffer after a task: 15 minutes apart is allowed, less is not",
			cal:  slots.Calendar{Sleep: win("23:00", "07:00"), Busy: booked("07:00", time.Hour, "Standup")},
			req:  slots.Request{Title: "Journal", Duration: 30 * time.Minute, Days: mondays},
			want: "08:15",
		},
		{
			name: "buffer before a task",
			cal:  slots.Calendar{Sleep: win("23:00", "07:00"), Busy: booked("10:00", time.Hour, "Dentist")},
			req:  slots.Request{Title: "Journal", Duration: 30 * time.Minute, Days: mondays, Preferred: new(clk("09:30"))},
			want: "09:15", wantConflict: `"Dentist"`,
		},
		{
			name: "a clash in a later week moves every occurrence",
			cal: slots.Calendar{Sleep: win("23:00", "07:00"), Busy: []slots.Busy{
				{Start: at(berlin, 2026, time.June, 29, "07:30"), Duration: 15 * time.Minute, Title: "Call"},
			}},
			req:  slots.Request{Title: "Yoga", Duration: 30 * time.Minute, Days: mondays, FirstWeek: 1, LastWeek: 6},
			want: "08:00", wantStarts: 6,
		},
		{
			name: "work hours avoided while anything else fits",
			cal:  slots.Calendar{Sleep: win("23:00", "07:00"), Work: weekdays},
			req:  slots.Request{Title: "Study", Duration: time.Hour, Preferred: new(clk("10:00"))},
			want: "08:00", wantConflict: "preferred 10:00 falls in work hours 09:00–17:00",
		},
		{
			name: "work hours on other days do not block",
			cal:  slots.Calendar{Sleep: win("23:00", "07:00"), Work: weekdays},
			req:  slots.Request{Title: "Hike", Duration: 3 * time.Hour, Days: []time.Weekday{time.Saturday}, Preferred: new(clk("10:00"))},
			want: "10:00",
		},
		{
			name: "work hours used only when nothing else fits, and flagged",
			cal:  slots.Calendar{Sleep: win("17:00", "09:00"), Work: weekdays},
			req:  slots.Request{Title: "Stretch", Duration: 15 * time.Minute},
			want: "09:00", wantWork: true,
		},
		{
			name: "preferred time in work hours kept when everything is in work hours",
			cal:  slots.Calendar{Sleep: win("17:00", "09:00"), Work: weekdays},
			req:  slots.Request{Title: "Stretch", Duration: 15 * time.Minute, Preferred: new(clk("12:00"))},
			want: "12:00", wantWork: true,
		},
		{
			name: "chronotype neutral adds nothing",
			cal:  slots.Calendar{Sleep: win("23:00", "05:00"), Hints: slots.Hints{Chronotype: "neutral"}},
			req:  slots.Request{Title: "Run", Duration: 30 * time.Minute},
			want: "05:00",
		},
		{
			name: "chronotype morning prefers 06:00–09:00",
			cal:  slots.Calendar{Sleep: win("23:00", "05:00"), Hints: slots.Hints{Chronotype: "morning"}},
			req:  slots.Request{Title: "Run", Duration: 30 * time.Minute},
			want: "06:00",
		},
		{
			name: "chronotype evening prefers 18:00–21:00",
			cal:  slots.Calendar{Sleep: win("23:00", "05:00"), Hints: slots.Hints{Chronotype: "evening"}},
			req:  slots.Request{Title: "Run", Duration: 30 * time.Minute},
			want: "18:00",
		},
		{
			name: "chronotype band full: the nearest time outside it",
			cal:  slots.Calendar{Sleep: win("23:00", "07:00"), Hints: slots.Hints{Chronotype: "evening"}, Busy: booked("17:00", 5*time.Hour, "Concert")},
			req:  slots.Request{Title: "Run", Duration: 30 * time.Minute, Days: mondays},
			want: "22:15",
		},
		{
			name: "chronotype yields to the preferred time",
			cal:  slots.Calendar{Sleep: win("23:00", "07:00"), Hints: slots.Hints{Chronotype: "morning"}, Busy: booked("12:00", time.Hour, "Lunch")},
			req:  slots.Request{Title: "Call", Duration: 30 * time.Minute, Days: mondays, Preferred: new(clk("12:00"))},
			// 11:15 (45 min away, nearer the morning) beats 13:15 (75 min away).
			want: "11:15", wantConflict: `"Lunch"`,
		},
		{
			name: "confident avoid slot moves a weekly task out",
			cal: hinted(slots.Hints{Chronotype: "morning", Avoid: []slots.AvoidSlot{
				{Day: time.Monday, From: clk("06:00"), To: clk("09:00"), Confidence: 0.9},
			}}),
			req: slots.Request{Title: "Run", Duration: 30 * time.Minute, Days: mondays},
			// 240 × 0.9 = 216 points inside the band; 09:00 costs 15 outside it.
			want: "09:00",
		},
		{
			name: "weak avoid slot is outweighed",
			cal: hinted(slots.Hints{Chronotype: "morning", Avoid: []slots.AvoidSlot{
				{Day: time.Monday, From: clk("06:00"), To: clk("09:00"), Confidence: 0.05},
			}}),
			req:  slots.Request{Title: "Run", Duration: 30 * time.Minute, Days: mondays},
			want: "07:00", // 12 points inside beat 15 outside
		},
		{
			name: "avoid slot on another weekday does not apply",
			cal: hinted(slots.Hints{Avoid: []slots.AvoidSlot{
				{Day: time.Tuesday, From: clk("07:00"), To: clk("10:00"), Confidence: 1},
			}}),
			req:  slots.Request{Title: "Run", Duration: 30 * time.Minute, Days: mondays},
			want: "07:00",
		},
		{
			name: "avoid slot blocks by overlap, not just by start",
			cal: hinted(slots.Hints{Avoid: []slots.AvoidSlot{
				{Day: time.Monday, From: clk("08:00"), To: clk("09:00"), Confidence: 1},
			}}),
			req: slots.Request{Title: "Run", Duration: time.Hour, Days: mondays},
			// 07:00–08:00 touches but does not overlap; 07:15 would.
			want: "07:00",
		},
		{
			name: "best time bonus",
			cal:  hinted(slots.Hints{Best: []slots.BestTime{{AnyDay: true, At: clk("19:00")}}}),
			req:  slots.Request{Title: "Guitar", Duration: 30 * time.Minute},
			want: "19:00",
		},
		{
			name: "best time on one weekday still ranks a daily task",
			cal:  hinted(slots.Hints{Best: []slots.BestTime{{Day: time.Wednesday, At: clk("19:00")}}}),
			req:  slots.Request{Title: "Guitar", Duration: 30 * time.Minute},
			want: "19:00",
		},
		{
			name: "best time on another weekday gives nothing",
			cal:  hinted(slots.Hints{Best: []slots.BestTime{{Day: time.Wednesday, At: clk("19:00")}}}),
			req:  slots.Request{Title: "Guitar", Duration: 30 * time.Minute, Days: mondays},
			want: "07:00",
		},
		{
			name: "best time off the grid: the nearest grid time",
			cal:  hinted(slots.Hints{Best: []slots.BestTime{{AnyDay: true, At: clk("19:20")}}}),
			req:  slots.Request{Title: "Guitar", Duration: 30 * time.Minute},
			want: "19:15",
		},
		{
			name:  "occurrences already past on the first day are left out",
			cal:   slots.Calendar{Sleep: win("23:00", "07:00")},
			start: at(berlin, 2026, time.June, 1, "12:00"),
			req:   slots.Request{Title: "Run", Duration: 30 * time.Minute, Days: mondays, LastWeek: 2, Preferred: new(clk("07:00"))},
			want:  "07:00", wantStarts: 1,
		},
		{
			name:    "calendar full",
			cal:     slots.Calendar{Sleep: win("23:00", "07:00"), Busy: full},
			req:     slots.Request{Title: "Meditate", Duration: 10 * time.Minute},
			wantErr: slots.ErrNoSlot,
		},
		{
			name:    "longer than the waking day",
			cal:     slots.Calendar{Sleep: win("09:00", "08:00")},
			req:     slots.Request{Title: "Hike", Duration: 2 * time.Hour, Days: mondays},
			wantErr: slots.ErrNoSlot,
		},
		{
			name: "work hours every day still beat nothing",
			cal:  slots.Calendar{Sleep: win("20:00", "07:00"), Work: &slots.WorkHours{Window: *win("07:00", "20:00"), Days: []time.Weekday{0, 1, 2, 3, 4, 5, 6}}},
			req:  slots.Request{Title: "Hike", Duration: 2 * time.Hour, Days: mondays},
			want: "07:00", wantWork: true,
		},
		{name: "zero duration", req: slots.Request{Title: "x"}, wantErr: errAny},
		{name: "weeks beyond the sprint", req: slots.Request{Title: "x", Duration: time.Hour, FirstWeek: 2, LastWeek: 7}, wantErr: errAny},
		{name: "weeks reversed", req: slots.Request{Title: "x", Duration: time.Hour, FirstWeek: 3, LastWeek: 2}, wantErr: errAny},
		{name: "unknown chronotype", cal: slots.Calendar{Hints: slots.Hints{Chronotype: "owl"}}, req: slots.Request{Title: "x", Duration: time.Hour}, wantErr: errAny},
		{
			name:    "avoid confidence above 1",
			cal:     slots.Calendar{Hints: slots.Hints{Avoid: []slots.AvoidSlot{{Day: time.Monday, From: clk("07:00"), To: clk("08:00"), Confidence: 2}}}},
			req:     slots.Request{Title: "x", Duration: time.Hour},
			wantErr: errAny,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cal := tt.cal
			cal.Loc = berlin
			start := tt.start
			if start.IsZero() {
				start = monday
			}
			got, err := cal.Place(start, tt.req)
			switch {
			case tt.wantErr == errAny:
				if err == nil || errors.Is(err, slots.ErrNoSlot) {
					t.Fatalf("Place: error %v, want a validation error", err)
				}
				return
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Place: error %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.req.Title) {
					t.Errorf("error %q does not name the request", err)
				}
				return
			case err != nil:
				t.Fatalf("Place: %v", err)
			}
			if got.At.String() != tt.want || got.InWorkHours != tt.wantWork {
				t.Errorf("slot at %v (work hours %v), want %s (work hours %v); conflict %q", got.At, got.InWorkHours, tt.want, tt.wantWork, got.Conflict)
			}
			if tt.wantConflict == "" && got.Conflict != "" || !strings.Contains(got.Conflict, tt.wantConflict) {
				t.Errorf("conflict %q, want it to contain %q", got.Conflict, tt.wantConflict)
			}
			if tt.wantStarts != 0 && len(got.Starts) != tt.wantStarts {
				t.Errorf("%d occurrences, want %d", len(got.Starts), tt.wantStarts)
			}
			if len(got.Starts) == 0 {
				t.Fatal("no occurrences")
			}
			for _, s := range got.Starts {
				if s.Location() != time.UTC {
					t.Errorf("start %v is not UTC", s)
				}
				if l := s.In(berlin); l.Hour() != got.At.H || l.Minute() != got.At.M || s.Before(start) {
					t.Errorf("occurrence %v is not at %v local on or after %v", l, got.At, start)
				}
			}
		})
	}
}

// errAny marks a test case that expects a validation error.
var errAny = errors.New("any validation error")

func TestPlaceAllBlocksLaterRequests(t *testing.T) {
	t.Parallel()
	loc := loadLoc(t, "America/New_York")
	cal := slots.Calendar{Loc: loc, Sleep: win("22:30", "06:30"), Hints: slots.Hints{Chronotype: "morning"}}
	start := at(loc, 2026, time.September, 7, "00:00")
	reqs := []slots.Request{
		{Title: "Run", Duration: 45 * time.Minute, Days: []time.Weekday{time.Monday, time.Wednesday, time.Friday}, FirstWeek: 1, LastWeek: 6, Preferred: new(clk("07:00"))},
		{Title: "Stretch", Duration: 15 * time.Minute, FirstWeek: 1, LastWeek: 6, Preferred: new(clk("07:30"))},
		{Title: "Plan the week", Duration: 30 * time.Minute, Days: []time.Weekday{time.Sunday}, LastWeek: 6},
	}
	got, conflicts, err := cal.PlaceAll(start, reqs)
	if err != nil {
		t.Fatalf("PlaceAll: %v", err)
	}
	want := []string{"07:00", "08:00", "06:30"}
	for i, s := range got {
		if s.At.String() != want[i] {
			t.Errorf("%s at %v, want %s", s.Title, s.At, want[i])
		}
	}
	// Stretch at 07:30 meets each run (07:00–07:45): 18 runs in 6 weeks.
	if len(conflicts) != 18 {
		t.Fatalf("%d conflicts, want 18: %v", len(conflicts), conflicts)
	}
	for _, c := range conflicts {
		if c.ExistingTitle != "Run" || c.ProposedAt.Sub(c.ExistingAt) != 30*time.Minute || !strings.Contains(c.Message, `"Run"`) {
			t.Errorf("conflict %+v", c)
		}
	}
	if !strings.Contains(got[1].Conflict, `preferred 07:30 clashes with "Run" at Mon 7 Sep 07:00 EDT and 17 more`) {
		t.Errorf("Stretch conflict %q", got[1].Conflict)
	}
	// Placing the same plan again must move everything: the first plan is busy now.
	var busy []slots.Busy
	for _, s := range got {
		for _, st := range s.Starts {
			busy = append(busy, slots.Busy{Start: st, Duration: s.Duration, Title: s.Title})
		}
	}
	cal.Busy = busy
	again, _, err := cal.PlaceAll(start, reqs)
	if err != nil {
		t.Fatalf("PlaceAll again: %v", err)
	}
	for i := range again {
		if c := cal.Conflicts(again[i].Starts, again[i].Duration); len(c) != 0 {
			t.Errorf("%s at %v double-books: %v", again[i].Title, again[i].At, c[0].Message)
		}
	}
}

func TestPlaceAllStopsAtFirstMisfit(t *testing.T) {
	t.Parallel()
	cal := slots.Calendar{Loc: time.UTC, Sleep: win("20:00", "08:00")}
	reqs := []slots.Request{
		{Title: "A", Duration: 6 * time.Hour},
		{Title: "B", Duration: 6 * time.Hour},
		{Title: "C", Duration: time.Hour},
	}
	got, _, err := cal.PlaceAll(time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC), reqs)
	if !errors.Is(err, slots.ErrNoSlot) || !strings.Contains(err.Error(), `"B"`) {
		t.Fatalf("error %v, want ErrNoSlot naming B", err)
	}
	if len(got) != 1 || got[0].Title != "A" {
		t.Fatalf("placed %v, want A only", got)
	}
}

func TestConflicts(t *testing.T) {
	t.Parallel()
	loc := loadLoc(t, "Europe/Berlin")
	cal := slots.Calendar{Loc: loc, Busy: []slots.Busy{
		{Start: at(loc, 2026, time.May, 4, "10:00"), Duration: time.Hour, Title: "Dentist"},
		{Start: at(loc, 2026, time.May, 4, "11:30"), Duration: 30 * time.Minute, Title: "Lunch"},
		{Start: at(loc, 2026, time.May, 4, "15:00"), Title: "Pills"}, // zero length still needs the buffer
	}}
	tests := []struct {
		at   string
		d    time.Duration
		want []string
	}{
		{"09:15", 30 * time.Minute, nil},
		{"09:30", 30 * time.Minute, []string{"Dentist"}},
		{"10:30", 15 * time.Minute, []string{"Dentist"}},
		{"11:00", 15 * time.Minute, []string{"Dentist"}}, // ends exactly 15 min before lunch
		{"11:15", 15 * time.Minute, []string{"Lunch"}},
		{"09:00", 4 * time.Hour, []string{"Dentist", "Lunch"}},
		{"12:15", 30 * time.Minute, nil},
		{"14:30", 15 * time.Minute, nil},
		{"14:35", 15 * time.Minute, []string{"Pills"}},
		{"15:10", 15 * time.Minute, []string{"Pills"}},
		{"15:15", 15 * time.Minute, nil},
	}
	for _, tt := range tests {
		t.Run(tt.at, func(t *testing.T) {
			t.Parallel()
			proposed := at(loc, 2026, time.May, 4, tt.at)
			got := cal.Conflicts([]time.Time{proposed}, tt.d)
			var titles []string
			for _, c := range got {
				titles = append(titles, c.ExistingTitle)
				if !c.ProposedAt.Equal(proposed) || c.Message == "" {
					t.Errorf("conflict %+v", c)
				}
			}
			if strings.Join(titles, ",") != strings.Join(tt.want, ",") {
				t.Errorf("clashes %v, want %v", titles, tt.want)
			}
		})
	}
}

func TestNext(t *testing.T) {
	t.Parallel()
	loc := loadLoc(t, "Europe/Berlin")
	mon := func(hhmm string) time.Time { return at(loc, 2026, time.May, 4, hhmm) }
	busy := []slots.Busy{
		{Start: mon("10:00"), Duration: time.Hour, Title: "Dentist"},
		{Start: mon("17:30"), Duration: 5 * time.Hour, Title: "Party"},
	}
	work := &slots.WorkHours{Window: *win("09:00", "17:00")}
	tests := []struct {
		name    string
		cal     slots.Calendar
		after   time.Time
		d       time.Duration
		sameDay bool
		want    time.Time // zero: none
	}{
		{"rounds up to the grid", slots.Calendar{Sleep: win("23:00", "07:00")}, mon("08:07"), 30 * time.Minute, true, mon("08:15")},
		{"on the grid stays", slots.Calendar{Sleep: win("23:00", "07:00")}, mon("08:15"), 30 * time.Minute, true, mon("08:15")},
		{"skips a task and its buffer", slots.Calendar{Sleep: win("23:00", "07:00"), Busy: busy}, mon("09:40"), 30 * time.Minute, true, mon("11:15")},
		{"nothing left today", slots.Calendar{Sleep: win("23:00", "07:00"), Busy: busy}, mon("16:50"), time.Hour, true, time.Time{}},
		{"tomorrow when not the same day", slots.Calendar{Sleep: win("23:00", "07:00"), Busy: busy}, mon("16:50"), time.Hour, false, at(loc, 2026, time.May, 5, "07:00")},
		{"work hours avoided", slots.Calendar{Sleep: win("23:00", "07:00"), Work: work}, mon("09:05"), 30 * time.Minute, true, mon("17:00")},
		{"work hours used when nothing else is left today", slots.Calendar{Sleep: win("23:00", "07:00"), Work: work, Busy: busy}, mon("11:05"), 30 * time.Minute, true, mon("11:15")},
		{"sleep respected", slots.Calendar{Sleep: win("23:00", "07:00")}, mon("22:40"), 30 * time.Minute, false, at(loc, 2026, time.May, 5, "07:00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cal := tt.cal
			cal.Loc = loc
			got, ok := cal.Next(tt.after, tt.d, tt.sameDay)
			if ok != !tt.want.IsZero() || !got.Equal(tt.want) {
				t.Fatalf("Next = %v, %v; want %v", got.In(loc), ok, tt.want)
			}
			if ok && got.Location() != time.UTC {
				t.Errorf("%v is not UTC", got)
			}
		})
	}
}

func TestFirstAvailableStart(t *testing.T) {
	t.Parallel()
	loc := loadLoc(t, "Europe/Berlin")
	start := at(loc, 2026, time.June, 1, "00:00") // a Monday
	// The first two weeks are fully booked from waking to sleep.
	var busy []slots.Busy
	for d := range 14 {
		busy = append(busy, slots.Busy{Start: at(loc, 2026, time.June, 1+d, "07:00"), Duration: 16 * time.Hour, Title: "Conference"})
	}
	cal := slots.Calendar{Loc: loc, Sleep: win("23:00", "07:00"), Busy: busy}
	reqs := []slots.Request{{Title: "Run", Duration: 30 * time.Minute, Days: []time.Weekday{time.Monday}}}

	if _, err := cal.Place(start, reqs[0]); !errors.Is(err, slots.ErrNoSlot) {
		t.Fatalf("Place from the start: %v, want ErrNoSlot", err)
	}
	got, err := cal.FirstAvailableStart(start, reqs)
	if err != nil {
		t.Fatalf("FirstAvailableStart: %v", err)
	}
	// From Tuesday 9 June, week 1 reaches Monday 15 June, the first free Monday.
	if want := at(loc, 2026, time.June, 9, "00:00"); !got.Equal(want) {
		t.Fatalf("first start %v, want %v", got.In(loc), want)
	}
	if _, err := cal.Place(got, reqs[0]); err != nil {
		t.Fatalf("Place from the first start: %v", err)
	}

	never := slots.Calendar{Loc: loc, Sleep: win("08:00", "07:00"), Busy: busy}
	long := []slots.Request{{Title: "Hike", Duration: 2 * time.Hour}}
	if _, err := never.FirstAvailableStart(start, long); !errors.Is(err, slots.ErrNoSlot) {
		t.Fatalf("a 23-hour sleep: %v, want ErrNoSlot", err)
	}
}

// Slot.Moved names why the preferred time was left, so callers can word it.
func TestPlaceMovedReason(t *testing.T) {
	t.Parallel()
	loc := loadLoc(t, "Europe/Berlin")
	start := time.Date(2026, 3, 16, 0, 0, 0, 0, loc) // a Monday
	cal := &slots.Calendar{Loc: loc, Sleep: &slots.Window{Start: slots.Clock{H: 23}, End: slots.Clock{H: 6, M: 30}},
		Work: &slots.WorkHours{Window: slots.Window{Start: slots.Clock{H: 9}, End: slots.Clock{H: 17}}},
		Busy: []slots.Busy{{Start: time.Date(2026, 3, 16, 7, 0, 0, 0, loc), Duration: 30 * time.Minute, Title: "Swim"}}}
	for _, c := range []struct {
		at   slots.Clock
		want slots.Reason
	}{{slots.Clock{H: 19}, slots.Kept}, {slots.Clock{H: 5}, slots.Asleep}, {slots.Clock{H: 7}, slots.Booked}, {slots.Clock{H: 10}, slots.Working}} {
		s, err := cal.Place(start, slots.Request{Title: "Run", Duration: 20 * time.Minute, Days: []time.Weekday{time.Monday}, Preferred: &c.at})
		if err != nil {
			t.Fatal(err)
		}
		if s.Moved != c.want || (s.Moved == slots.Kept) != (s.Conflict == "") {
			t.Errorf("preferred %v: moved %v (%q), want %v", c.at, s.Moved, s.Conflict, c.want)
		}
	}
}
