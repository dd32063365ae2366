package timeparse

import (
	"strings"
	"testing"
	"time"
)

// fuzzZones avoids zones whose DST change happens at midnight (e.g. old
// America/Sao_Paulo): there a day's 00:00 may not exist and time.Date may
// move it into the previous day, which the date invariants below do not
// allow for.
var fuzzZones = []string{"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Asia/Kathmandu"}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"remind me to call mom at 5pm", "tomorrow at 8 take vitamins", "every Monday at 7 gym",
		"in 20 minutes check the oven", "at 8", "today at 8", "tonight at 12", "in 3 days at 9am",
		"every Monday, Wednesday and Friday at 6pm", "on weekdays", "every week", "every 2 days",
		"every month on the 31st at 9", "every year on Feb 29", "from 9 to 5", "9am-5pm",
		"2026-12-24", "March 3, 2027", "on the 5th", "this Friday at 7am", "at midnight",
		"in an hour and a half", "every other Monday morning", "please remind me", "@ 5pm & mon",
		"at 2:30", "3/12", "", "in 9999 weeks", "every 9999 months on the 31st",
	} {
		f.Add(s, int64(0), uint8(1))
	}
	f.Fuzz(func(t *testing.T, text string, offset int64, zone uint8) {
		loc, err := time.LoadLocation(fuzzZones[int(zone)%len(fuzzZones)])
		if err != nil {
			t.Skip(err)
		}
		// now anywhere in 2000..2100
		const span = 100 * 365 * 24 * 3600
		sec := offset % span
		if sec < 0 {
			sec += span
		}
		now := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(sec) * time.Second)

		got := Parse(text, now, loc)
		again := Parse(text, now, loc)
		if !got.At.Equal(again.At) || got.RRule != again.RRule || got.Title != again.Title ||
			got.Matched != again.Matched || got.Part != again.Part ||
			got.HasDate != again.HasDate || got.HasTime != again.HasTime {
			t.Fatalf("not deterministic: %+v vs %+v", got, again)
		}

		if got.At.IsZero() == (got.HasDate || got.HasTime) {
			t.Fatalf("At %v inconsistent with HasDate %v, HasTime %v", got.At, got.HasDate, got.HasTime)
		}
		if !got.At.IsZero() && got.At.Location() != time.UTC {
			t.Fatalf("At not in UTC: %v", got.At.Location())
		}
		if got.RRule != "" && (!got.HasDate || !strings.HasPrefix(got.RRule, "FREQ=")) {
			t.Fatalf("bad RRule %q (HasDate %v)", got.RRule, got.HasDate)
		}
		if got.Matched == "" && (!got.At.IsZero() || got.RRule != "" || got.Part != "") {
			t.Fatalf("result without a match: %+v", got)
		}
		for _, w := range strings.Fields(got.Matched) {
			if !strings.Contains(text, w) {
				t.Fatalf("Matched word %q not in text", w)
			}
		}
		if !isAny(got.Part, "", "morning", "afternoon", "evening") {
			t.Fatalf("Part %q", got.Part)
		}
		if strings.TrimSpace(got.Title) != got.Title || strings.Contains(got.Title, "  ") {
			t.Fatalf("Title not tidy: %q", got.Title)
		}
		if got.At.IsZero() {
			return
		}

		// Timing. Only a day the user named may lie in the past (an
		// explicit "today", "this Friday" on a Friday, or a date); every
		// other result is now or later, with the current minute as grace.
		// A recurrence without a time starts at 00:00 of a day that is not
		// before today.
		today := civilOf(now.In(loc))
		atLocal := got.At.In(loc)
		grace := now.Add(-time.Minute)
		e := parse(text, Options{}).e
		named := e.day.kind == dayToday || e.day.kind == dayDate || (e.day.kind == dayWeekday && (e.day.fromToday || e.day.last)) ||
			(e.day.kind == dayOffset && e.day.offset < 0)
		namedPast := named && !today.before(e.day.date(today))
		switch {
		case got.RRule != "" && got.HasTime:
			if got.At.Before(grace) {
				t.Fatalf("series starts in the past: %v < now %v", atLocal, now.In(loc))
			}
		case got.RRule != "":
			if civilOf(atLocal).before(today) {
				t.Fatalf("series starts before today: %v", atLocal)
			}
		case !namedPast:
			if got.At.Before(grace) {
				t.Fatalf("At %v before now %v for %+v", atLocal, now.In(loc), e)
			}
		}
	})
}
