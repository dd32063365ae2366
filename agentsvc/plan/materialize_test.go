package plan

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

// mustDate is local midnight of a YYYY-MM-DD date in zone.
func mustDate(t *testing.T, date, zone string) time.Time {
	t.Helper()
	d, err := time.ParseInLocation(time.DateOnly, date, mustLoc(t, zone))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// onePlan is a valid plan with the given tasks.
func onePlan(tasks ...ProposedTask) Plan {
	p := goodPlan()
	p.ProposedTasks = tasks
	return p
}

func task(days []string, at string, weeks []int, rule string) ProposedTask {
	return ProposedTask{Title: "t", ScheduledDays: days, SuggestedTime: at, DurationMinutes: 20, RecurrenceRule: rule, WeekRange: weeks}
}

func localStamps(occ []Occurrence, loc *time.Location) []string {
	out := make([]string, len(occ))
	for i, o := range occ {
		out[i] = o.At.In(loc).Format("Mon 2006-01-02 15:04 MST")
	}
	return out
}

func TestMaterializeCounts(t *testing.T) {
	t.Parallel()
	mwf := []string{"Mon", "Wed", "Fri"}
	tests := []struct {
		name      string
		start     string // local date in Asia/Tokyo (no DST)
		task      ProposedTask
		n         int
		first     string // local, Mon 2006-01-02 15:04
		last      string
		wantRRule string
	}{
		{"3x/week weeks 1-6", "2026-03-02", task(mwf, "07:00", []int{1, 6}, ""), 18,
			"Mon 2026-03-02 07:00", "Fri 2026-04-10 07:00", "FREQ=WEEKLY;BYDAY=MO,WE,FR"},
		{"weeks count from start, not Monday", "2026-03-05", task(mwf, "07:00", []int{1, 6}, ""), 18,
			"Fri 2026-03-06 07:00", "Wed 2026-04-15 07:00", "FREQ=WEEKLY;BYDAY=MO,WE,FR"},
		{"week 1 only", "2026-03-02", task(mwf, "18:30", []int{1, 1}, ""), 3,
			"Mon 2026-03-02 18:30", "Fri 2026-03-06 18:30", ""},
		{"weeks 2-3", "2026-03-02", task(mwf, "07:00", []int{2, 3}, ""), 6,
			"Mon 2026-03-09 07:00", "Fri 2026-03-20 07:00", ""},
		{"week 6 only", "2026-03-02", task([]string{"Sun"}, "07:00", []int{6, 6}, ""), 1,
			"Sun 2026-04-12 07:00", "Sun 2026-04-12 07:00", ""},
		{"all days", "2026-03-02", task(Weekdays, "07:00", []int{1, 1}, ""), 7,
			"Mon 2026-03-02 07:00", "Sun 2026-03-08 07:00", "FREQ=DAILY"},
		{"rrule weekly", "2026-03-02", task(nil, "06:45", []int{1, 6}, "FREQ=WEEKLY;BYDAY=TU,TH"), 12,
			"Tue 2026-03-03 06:45", "Thu 2026-04-09 06:45", "FREQ=WEEKLY;BYDAY=TU,TH"},
		{"rrule normalized", "2026-03-02", task(nil, "06:45", []int{1, 1}, " rrule:freq=weekly;byday=tu,th; "), 2,
			"Tue 2026-03-03 06:45", "Thu 2026-03-05 06:45", "FREQ=WEEKLY;BYDAY=TU,TH"},
		{"rrule daily week 1", "2026-03-02", task(nil, "07:00", []int{1, 1}, "FREQ=DAILY"), 7,
			"Mon 2026-03-02 07:00", "Sun 2026-03-08 07:00", ""},
		{"rrule every other day", "2026-03-02", task(nil, "07:00", []int{1, 2}, "FREQ=DAILY;INTERVAL=2"), 7,
			"Mon 2026-03-02 07:00", "Sat 2026-03-14 07:00", ""},
		{"rrule count", "2026-03-02", task([]string{"Mon"}, "07:00", []int{1, 6}, "FREQ=WEEKLY;BYDAY=MO;COUNT=3"), 3,
			"Mon 2026-03-02 07:00", "Mon 2026-03-16 07:00", ""},
		{"rrule weekly takes days", "2026-03-02", task([]string{"Sat", "Tue"}, "09:00", []int{2, 3}, "FREQ=WEEKLY"), 4,
			"Tue 2026-03-10 09:00", "Sat 2026-03-21 09:00", "FREQ=WEEKLY"},
		{"rrule fortnightly from week 3", "2026-03-16", task(nil, "10:00", []int{3, 6}, "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA"), 2,
			"Sat 2026-04-04 10:00", "Sat 2026-04-18 10:00", ""},
		{"rrule monthly", "2026-03-16", task(nil, "10:00", []int{1, 6}, "FREQ=MONTHLY;BYMONTHDAY=1"), 1,
			"Wed 2026-04-01 10:00", "Wed 2026-04-01 10:00", ""},
		{"rrule last weekday of month", "2026-03-16", task(nil, "10:00", []int{1, 6}, "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"), 1,
			"Tue 2026-03-31 10:00", "Tue 2026-03-31 10:00", ""},
		{"rrule until", "2026-03-02", task(nil, "07:00", []int{1, 6}, "FREQ=DAILY;UNTIL=20260305T000000"), 3,
			"Mon 2026-03-02 07:00", "Wed 2026-03-04 07:00", ""},
	}
	tokyo := mustLoc(t, "Asia/Tokyo")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			occ, err := Materialize(onePlan(tt.task), mustDate(t, tt.start, "Asia/Tokyo"), tokyo)
			if err != nil {
				t.Fatal(err)
			}
			got := localStamps(occ, tokyo)
			if len(occ) != tt.n {
				t.Fatalf("got %d occurrences, want %d: %v", len(occ), tt.n, got)
			}
			if !strings.HasPrefix(got[0], tt.first) || !strings.HasPrefix(got[len(got)-1], tt.last) {
				t.Errorf("first %s, last %s; want %s, %s", got[0], got[len(got)-1], tt.first, tt.last)
			}
			for i, o := range occ {
				if o.At.Location() != time.UTC {
					t.Errorf("occurrence %d not in UTC: %v", i, o.At)
				}
				if o.Duration != 20*time.Minute || o.TaskIndex != 0 || o.Title != "t" {
					t.Errorf("occurrence %d: %+v", i, o)
				}
				if tt.wantRRule != "" && o.RRule != tt.wantRRule {
					t.Errorf("occurrence %d RRule %q, want %q", i, o.RRule, tt.wantRRule)
				}
				if i > 0 && !occ[i-1].At.Before(o.At) {
					t.Errorf("not sorted at %d: %v", i, got)
				}
			}
		})
	}
}

func TestMaterializeSortsTasksTogether(t *testing.T) {
	t.Parallel()
	utc := time.UTC
	p := onePlan(
		task([]string{"Tue"}, "09:00", []int{1, 2}, ""),
		task([]string{"Mon", "Tue"}, "09:00", []int{1, 1}, "FREQ=WEEKLY;BYDAY=MO,TU"),
		task([]string{"Mon"}, "08:00", []int{1, 2}, ""),
	)
	occ, err := Materialize(p, time.Date(2026, 3, 2, 0, 0, 0, 0, utc), utc)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range occ {
		got = append(got, o.At.Format("Jan 2 15:04")+" #"+string(rune('0'+o.TaskIndex)))
	}
	want := []string{"Mar 2 08:00 #2", "Mar 2 09:00 #1", "Mar 3 09:00 #0", "Mar 3 09:00 #1", "Mar 9 08:00 #2", "Mar 10 09:00 #0"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

func TestMaterializeUsesStartsOwnDate(t *testing.T) {
	t.Parallel()
	// 23:00 UTC on the 16th is already the 17th in Tokyo; the 16th is meant.
	start := time.Date(2026, 3, 16, 23, 0, 0, 0, time.UTC)
	tokyo := mustLoc(t, "Asia/Tokyo")
	occ, err := Materialize(onePlan(task([]string{"Mon"}, "07:00", []int{1, 1}, "")), start, tokyo)
	if err != nil {
		t.Fatal(err)
	}
	if got := localStamps(occ, tokyo); len(got) != 1 || got[0] != "Mon 2026-03-16 07:00 JST" {
		t.Errorf("got %v", got)
	}
}

func TestMaterializeErrors(t *testing.T) {
	t.Parallel()
	if _, err := Materialize(goodPlan(), time.Now(), nil); err == nil {
		t.Error("nil location accepted")
	}
	p := goodPlan()
	p.ProposedTasks[0].SuggestedTime = "25:00"
	if _, err := Materialize(p, time.Now(), time.UTC); err == nil || !strings.Contains(err.Error(), "suggested_time") {
		t.Errorf("invalid plan: %v", err)
	}
}

// TestMaterializeDST: a weekly Monday 07:00 stays 07:00 local across both DST
// transitions while its UTC time moves, by days and by RRULE alike.
func TestMaterializeDST(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, zone, start string
		task              ProposedTask
		wantUTC           []string
	}{
		{"Berlin spring forward, days", "Europe/Berlin", "2026-03-16", task([]string{"Mon"}, "07:00", []int{1, 6}, ""),
			[]string{"03-16 06:00", "03-23 06:00", "03-30 05:00", "04-06 05:00", "04-13 05:00", "04-20 05:00"}},
		{"Berlin spring forward, rrule", "Europe/Berlin", "2026-03-16", task(nil, "07:00", []int{1, 6}, "FREQ=WEEKLY;BYDAY=MO"),
			[]string{"03-16 06:00", "03-23 06:00", "03-30 05:00", "04-06 05:00", "04-13 05:00", "04-20 05:00"}},
		{"Berlin fall back, days", "Europe/Berlin", "2026-10-12", task([]string{"Mon"}, "07:00", []int{1, 6}, ""),
			[]string{"10-12 05:00", "10-19 05:00", "10-26 06:00", "11-02 06:00", "11-09 06:00", "11-16 06:00"}},
		{"New York spring forward, days", "America/New_York", "2026-02-23", task([]string{"Mon"}, "07:00", []int{1, 6}, ""),
			[]string{"02-23 12:00", "03-02 12:00", "03-09 11:00", "03-16 11:00", "03-23 11:00", "03-30 11:00"}},
		{"New York fall back, days", "America/New_York", "2026-10-12", task([]string{"Mon"}, "07:00", []int{1, 6}, ""),
			[]string{"10-12 11:00", "10-19 11:00", "10-26 11:00", "11-02 12:00", "11-09 12:00", "11-16 12:00"}},
		{"New York fall back, rrule", "America/New_York", "2026-10-12", task(nil, "07:00", []int{1, 6}, "FREQ=WEEKLY;BYDAY=MO"),
			[]string{"10-12 11:00", "10-19 11:00", "10-26 11:00", "11-02 12:00", "11-09 12:00", "11-16 12:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			loc := mustLoc(t, tt.zone)
			occ, err := Materialize(onePlan(tt.task), mustDate(t, tt.start, tt.zone), loc)
			if err != nil {
				t.Fatal(err)
			}
			var at []time.Time
			for _, o := range occ {
				at = append(at, o.At)
			}
			checkWeekly7(t, at, loc, tt.wantUTC)
		})
	}
}

func TestExpandRRuleDST(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		zone    string
		first   time.Time
		wantUTC []string
	}{
		{"Europe/Berlin", time.Date(2026, 3, 16, 7, 0, 0, 0, mustLoc(t, "Europe/Berlin")),
			[]string{"03-16 06:00", "03-23 06:00", "03-30 05:00", "04-06 05:00", "04-13 05:00", "04-20 05:00"}},
		{"America/New_York", time.Date(2026, 10, 12, 7, 0, 0, 0, mustLoc(t, "America/New_York")),
			[]string{"10-12 11:00", "10-19 11:00", "10-26 11:00", "11-02 12:00", "11-09 12:00", "11-16 12:00"}},
	} {
		t.Run(tt.zone, func(t *testing.T) {
			t.Parallel()
			// "Every Monday at 7" as a standalone task over a 6-week sprint.
			at, err := ExpandRRule("FREQ=WEEKLY;BYDAY=MO", tt.first, tt.first.AddDate(0, 0, 42))
			if err != nil {
				t.Fatal(err)
			}
			checkWeekly7(t, at, tt.first.Location(), tt.wantUTC)
		})
	}
}

func checkWeekly7(t *testing.T, at []time.Time, loc *time.Location, wantUTC []string) {
	t.Helper()
	var got []string
	offsets := map[int]bool{}
	for _, a := range at {
		got = append(got, a.UTC().Format("01-02 15:04"))
		l := a.In(loc)
		if l.Hour() != 7 || l.Minute() != 0 || l.Weekday() != time.Monday {
			t.Errorf("%v is not Monday 07:00 local", l)
		}
		_, off := l.Zone()
		offsets[off] = true
	}
	if strings.Join(got, " ") != strings.Join(wantUTC, " ") {
		t.Errorf("UTC times %v, want %v", got, wantUTC)
	}
	if len(offsets) != 2 {
		t.Errorf("want the UTC offset to change once, got offsets %v", offsets)
	}
}

// TestMaterializeDSTEdges pins the documented RFC 5545 behaviour: a skipped
// local time moves forward by the gap, a repeated one is its first instant,
// the same east and west of UTC (time.Date differs there).
func TestMaterializeDSTEdges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, zone, start, at string
		weeks                 []int
		day                   string // the transition day, YYYY-MM-DD
		want                  string // that day's occurrence, local
	}{
		{"Berlin gap", "Europe/Berlin", "2026-03-23", "02:30", []int{1, 1}, "2026-03-29", "2026-03-29 03:30 CEST"},
		{"New York gap", "America/New_York", "2026-03-02", "02:30", []int{2, 2}, "2026-03-08", "2026-03-08 03:30 EDT"},
		{"Berlin overlap", "Europe/Berlin", "2026-10-19", "02:30", []int{1, 1}, "2026-10-25", "2026-10-25 02:30 CEST"},
		{"New York overlap", "America/New_York", "2026-10-26", "01:30", []int{1, 1}, "2026-11-01", "2026-11-01 01:30 EDT"},
		{"Santiago midnight gap", "America/Santiago", "2026-09-01", "00:30", []int{1, 1}, "2026-09-06", "2026-09-06 01:30 -03"},
	}
	for _, tt := range tests {
		for _, rule := range []string{"", "FREQ=DAILY"} {
			t.Run(tt.name+" "+rule, func(t *testing.T) {
				t.Parallel()
				loc := mustLoc(t, tt.zone)
				occ, err := Materialize(onePlan(task(Weekdays, tt.at, tt.weeks, rule)), mustDate(t, tt.start, tt.zone), loc)
				if err != nil {
					t.Fatal(err)
				}
				if len(occ) != 7 {
					t.Fatalf("got %d occurrences: %v", len(occ), localStamps(occ, loc))
				}
				for _, o := range occ {
					l := o.At.In(loc)
					if l.Format(time.DateOnly) == tt.day {
						if got := l.Format("2006-01-02 15:04 MST"); got != tt.want {
							t.Errorf("transition day: got %s, want %s", got, tt.want)
						}
					} else if l.Format("15:04") != tt.at {
						t.Errorf("other day moved: %v", l)
					}
				}
			})
		}
	}
}

func TestExpandRRule(t *testing.T) {
	t.Parallel()
	first := time.Date(2026, 3, 16, 7, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		rule    string
		until   time.Time
		n       int
		wantErr string
	}{
		{"until is exclusive", "FREQ=DAILY", first.AddDate(0, 0, 7), 7, ""},
		{"until before first", "FREQ=DAILY", first.Add(-time.Hour), 0, ""},
		{"weekly defaults to first's weekday", "FREQ=WEEKLY", first.AddDate(0, 0, 42), 6, ""},
		{"hourly rejected", "FREQ=HOURLY", first.AddDate(0, 0, 1), 0, "FREQ=HOURLY"},
		{"garbage rejected", "every day", first.AddDate(0, 0, 1), 0, "every day"},
		{"too many", "FREQ=DAILY", first.AddDate(5, 0, 0), 0, "more than 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			at, err := ExpandRRule(tt.rule, first, tt.until)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(at) != tt.n {
				t.Fatalf("got %d, want %d: %v", len(at), tt.n, at)
			}
			for _, a := range at {
				if a.Location() != time.UTC || a.Hour() != 7 {
					t.Errorf("occurrence %v", a)
				}
			}
		})
	}
}

func TestWeeklyDays(t *testing.T) {
	t.Parallel()
	all := []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}
	for _, tc := range []struct {
		rule string
		days []time.Weekday
		ok   bool
	}{
		{"FREQ=WEEKLY;BYDAY=MO,WE", []time.Weekday{time.Monday, time.Wednesday}, true},
		{"rrule:freq=weekly", nil, true},
		{"FREQ=DAILY", all, true},
		{"FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", nil, false},
		{"FREQ=WEEKLY;COUNT=3", nil, false},
		{"FREQ=MONTHLY;BYMONTHDAY=1", nil, false},
		{"FREQ=FORTNIGHTLY", nil, false},
	} {
		days, ok := WeeklyDays(tc.rule)
		if ok != tc.ok || !slices.Equal(days, tc.days) {
			t.Errorf("WeeklyDays(%q) = %v, %v; want %v, %v", tc.rule, days, ok, tc.days, tc.ok)
		}
	}
}
