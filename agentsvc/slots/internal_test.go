package slots

import (
	"testing"
	"time"
)

// TestResolveWall pins the choices time.Date leaves open (and makes
// differently per zone): skipped times resolve to the jump, repeated times
// to their first and last instant.
func TestResolveWall(t *testing.T) {
	t.Parallel()
	utc := func(mo time.Month, d, h, m int) int64 { return time.Date(2026, mo, d, h, m, 0, 0, time.UTC).UnixNano() }
	tests := []struct {
		zone        string
		mo          time.Month
		d           int
		c           Clock
		first, last int64
		exists      bool
	}{
		{"Europe/Berlin", time.March, 29, Clock{2, 30}, utc(time.March, 29, 1, 0), utc(time.March, 29, 1, 0), false},
		{"Europe/Berlin", time.March, 29, Clock{3, 0}, utc(time.March, 29, 1, 0), utc(time.March, 29, 1, 0), true},
		{"Europe/Berlin", time.October, 25, Clock{2, 30}, utc(time.October, 25, 0, 30), utc(time.October, 25, 1, 30), true},
		{"America/New_York", time.March, 8, Clock{2, 15}, utc(time.March, 8, 7, 0), utc(time.March, 8, 7, 0), false},
		{"America/New_York", time.November, 1, Clock{1, 30}, utc(time.November, 1, 5, 30), utc(time.November, 1, 6, 30), true},
		{"America/New_York", time.November, 1, Clock{7, 0}, utc(time.November, 1, 12, 0), utc(time.November, 1, 12, 0), true},
		// Santiago skips midnight; time.Date answers 23:00 the day before.
		{"America/Santiago", time.September, 6, Clock{0, 0}, utc(time.September, 6, 4, 0), utc(time.September, 6, 4, 0), false},
		{"Australia/Lord_Howe", time.October, 4, Clock{2, 15}, utc(time.October, 3, 15, 30), utc(time.October, 3, 15, 30), false},
	}
	for _, tt := range tests {
		t.Run(tt.zone+"/"+tt.c.String(), func(t *testing.T) {
			t.Parallel()
			loc, err := time.LoadLocation(tt.zone)
			if err != nil {
				t.Fatal(err)
			}
			first, last, exists := resolveWall(loc, 2026, tt.mo, tt.d, tt.c)
			if first != tt.first || last != tt.last || exists != tt.exists {
				t.Fatalf("resolveWall = %v, %v, %v; want %v, %v, %v",
					time.Unix(0, first).UTC(), time.Unix(0, last).UTC(), exists,
					time.Unix(0, tt.first).UTC(), time.Unix(0, tt.last).UTC(), tt.exists)
			}
		})
	}
}

func TestIntervals(t *testing.T) {
	t.Parallel()
	v := fromSorted([]int64{10, 20, 30, 45, 50, 70}, []int64{20, 30, 40, 46, 60, 80})
	want := [][2]int64{{10, 40}, {45, 46}, {50, 60}, {70, 80}}
	if len(v.s) != len(want) {
		t.Fatalf("intervals %v %v, want %v", v.s, v.e, want)
	}
	for i, w := range want {
		if v.s[i] != w[0] || v.e[i] != w[1] {
			t.Fatalf("intervals %v %v, want %v", v.s, v.e, want)
		}
	}
	for _, q := range []struct {
		a, b int64
		want bool
	}{{5, 10, false}, {4, 11, true}, {40, 45, false}, {39, 41, true}, {60, 70, false}, {79, 200, true}, {-5, 0, false}, {46, 50, false}} {
		if got := v.overlaps(q.a, q.b); got != q.want {
			t.Errorf("overlaps(%d, %d) = %v", q.a, q.b, got)
		}
	}
}

// TestNewIndexDays compares the fast date table with resolveWall on every
// date of 2026 in zones with unusual clock changes.
func TestNewIndexDays(t *testing.T) {
	t.Parallel()
	for _, zone := range []string{"UTC", "Europe/Berlin", "America/New_York", "America/Santiago", "Australia/Lord_Howe", "Asia/Kathmandu"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		cal := &Calendar{Loc: loc}
		ix := cal.newIndex(time.Date(2026, 1, 1, 12, 0, 0, 0, loc), 365)
		for i, dy := range ix.days {
			want := makeDay(loc, 2025, time.December, 31+i)
			if dy.midnight != want.midnight || dy.y != want.y || dy.m != want.m || dy.d != want.d || dy.wd != want.wd || dy.uniform && !want.uniform {
				t.Fatalf("%s day %d: %+v, want %+v", zone, i, dy, want)
			}
			for _, c := range []Clock{{0, 0}, {1, 30}, {2, 30}, {7, 0}, {23, 45}} {
				f, l, ok := ix.wall(i, c)
				wf, wl, wok := resolveWall(loc, dy.y, dy.m, dy.d, c)
				if f != wf || l != wl || ok != wok {
					t.Fatalf("%s %v %v: %v %v %v, want %v %v %v", zone, dy, c, f, l, ok, wf, wl, wok)
				}
			}
		}
	}
}
