package slots

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/flux-companion/flux/agentsvc/timeparse"
)

// Clock is a local time of day, as users and the planner write it ("07:30").
type Clock struct{ H, M int }

// ParseClock reads a time of day as timeparse.ParseClock does: "HH:MM" or "H:MM" (24-hour),
// or with am/pm ("7:30 pm"). A trailing ":SS" of zero is accepted because Postgres renders
// time columns that way.
func ParseClock(s string) (Clock, error) {
	t := strings.TrimSpace(s)
	if rest, ok := strings.CutSuffix(t, ":00"); ok && strings.Count(t, ":") == 2 {
		t = rest
	}
	h, m, ok := timeparse.ParseClock(t)
	if !ok {
		return Clock{}, fmt.Errorf("slots: clock %q is not a time of day between 00:00 and 23:59", s)
	}
	return Clock{h, m}, nil
}

// String renders the clock as HH:MM.
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", c.H, c.M) }

func (c Clock) valid() error {
	if c.H < 0 || c.H > 23 || c.M < 0 || c.M > 59 {
		return fmt.Errorf("slots: clock %d:%d is out of range", c.H, c.M)
	}
	return nil
}

// Minutes is the clock as minutes after midnight.
func (c Clock) Minutes() int { return c.H*60 + c.M }

// ClockOf is the clock min minutes after midnight, any number of days before or after.
func ClockOf(min int) Clock {
	min = ((min % minutesPerDay) + minutesPerDay) % minutesPerDay
	return Clock{min / 60, min % 60}
}

// Window is a span of local time of day. End before Start means the window
// crosses midnight (a sleep window 23:00–07:00); Start equal to End is empty.
type Window struct{ Start, End Clock }

// String renders the window as "23:00–07:00".
func (w Window) String() string { return w.Start.String() + "–" + w.End.String() }

func (w Window) crosses() bool { return w.End.Minutes() < w.Start.Minutes() }
func (w Window) empty() bool   { return w.End == w.Start }

// length in wall-clock minutes.
func (w Window) length() int {
	return ((w.End.Minutes()-w.Start.Minutes())%minutesPerDay + minutesPerDay) % minutesPerDay
}

func (w Window) valid() error {
	if err := w.Start.valid(); err != nil {
		return err
	}
	return w.End.valid()
}

// WorkHours is the soft block. Days are the days the window starts on; none
// means Monday to Friday, the usual profile when the user named no days.
type WorkHours struct {
	Window
	Days []time.Weekday
}

// ParseWeekday reads a weekday name ("Mon", "monday", as timeparse.WeekdayWord) or number.
// Numbers follow both conventions the profile may carry: 0 and 7 are Sunday (Go and ISO 8601),
// 1–6 are Monday to Saturday in both.
func ParseWeekday(s string) (time.Weekday, error) {
	t := strings.TrimSpace(s)
	if d, _, _, ok := timeparse.WeekdayWord(t); ok {
		return d, nil
	}
	if n, err := strconv.Atoi(t); err == nil && n >= 0 && n <= 7 {
		return time.Weekday(n % 7), nil
	}
	return 0, fmt.Errorf("slots: %q is not a weekday name or number 0–7", s)
}

const minutesPerDay = 24 * 60

// resolveWall maps a local wall time to instants (Unix nanoseconds). Go's
// time.Date leaves the choice unspecified for times a clock change skips or
// repeats (and picks differently per zone), so this decides explicitly:
// a repeated time yields its first and last instant; a skipped time yields
// exists=false and, as both instants, the moment the clock jumped past it.
// Day and month overflow normalise as in time.Date.
func resolveWall(loc *time.Location, y int, mo time.Month, d int, c Clock) (first, last int64, exists bool) {
	wall := time.Date(y, mo, d, c.H, c.M, 0, 0, time.UTC).Unix()
	t := time.Date(y, mo, d, c.H, c.M, 0, 0, loc)
	zs, ze := t.ZoneBounds()
	offsets := [3]int{offsetAt(t)}
	n := 1
	if !zs.IsZero() {
		offsets[n] = offsetAt(zs.Add(-time.Second))
		n++
	}
	if !ze.IsZero() {
		offsets[n] = offsetAt(ze)
		n++
	}
	for _, off := range offsets[:n] {
		u := wall - int64(off)
		if offsetAt(time.Unix(u, 0).In(loc)) != off {
			continue
		}
		if !exists || u < first {
			first = u
		}
		if !exists || u > last {
			last = u
		}
		exists = true
	}
	if exists {
		return first * 1e9, last * 1e9, true
	}
	// Skipped: the jump is the boundary of t's zone on the side of wall.
	jump := ze
	if t.Unix()+int64(offsetAt(t)) > wall {
		jump = zs
	}
	return jump.UnixNano(), jump.UnixNano(), false
}

func offsetAt(t time.Time) int {
	_, off := t.Zone()
	return off
}
