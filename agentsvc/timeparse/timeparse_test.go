package timeparse

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

const layout = "2006-01-02 15:04"

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func localTime(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation(layout, s, loc)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return v
}

// tc is one message. now and at are local wall clocks ("2006-01-02 15:04")
// in zone; at "" means a zero At.
type tc struct {
	text    string
	zone    string // default Europe/Berlin
	now     string // default baseNow
	at      string
	rrule   string
	date    bool
	clock   bool // HasTime
	part    string
	title   string
	matched string // checked when not empty
	invalid bool   // Invalid is set
	opt     *Options
}

// baseNow is a Wednesday morning well away from any DST change.
const baseNow = "2026-06-10 10:00"

func run(t *testing.T, cases []tc) {
	t.Helper()
	for _, c := range cases {
		name := c.text
		if c.now != "" {
			name += " @" + c.now
		}
		if c.zone != "" {
			name += " " + c.zone
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			zone, nowS := c.zone, c.now
			if zone == "" {
				zone = "Europe/Berlin"
			}
			if nowS == "" {
				nowS = baseNow
			}
			loc := mustZone(t, zone)
			now := localTime(t, loc, nowS)
			got := Parse(c.text, now, loc)
			if c.opt != nil {
				got = ParseWith(c.text, now, loc, *c.opt)
			}
			if (got.Invalid != "") != c.invalid {
				t.Errorf("Invalid = %q, want set: %v", got.Invalid, c.invalid)
			}

			if c.at == "" {
				if !got.At.IsZero() {
					t.Errorf("At = %v, want zero", got.At.In(loc))
				}
			} else {
				want := localTime(t, loc, c.at)
				if !got.At.Equal(want) {
					t.Errorf("At = %s, want %s", got.At.In(loc).Format(layout+" MST"), want.Format(layout+" MST"))
				}
				if got.At.Location() != time.UTC {
					t.Errorf("At location = %v, want UTC", got.At.Location())
				}
			}
			if got.RRule != c.rrule {
				t.Errorf("RRule = %q, want %q", got.RRule, c.rrule)
			}
			if got.HasDate != c.date || got.HasTime != c.clock {
				t.Errorf("HasDate, HasTime = %v, %v, want %v, %v", got.HasDate, got.HasTime, c.date, c.clock)
			}
			if got.Part != c.part {
				t.Errorf("Part = %q, want %q", got.Part, c.part)
			}
			if got.Title != c.title {
				t.Errorf("Title = %q, want %q", got.Title, c.title)
			}
			if c.matched != "" && got.Matched != c.matched {
				t.Errorf("Matched = %q, want %q", got.Matched, c.matched)
			}
		})
	}
}

func TestAbsoluteTimes(t *testing.T) {
	t.Parallel()
	run(t, []tc{
		{text: "remind me to call mom at 5pm", at: "2026-06-10 17:00", clock: true, title: "Call mom", matched: "at 5pm"},
		{text: "at 5 pm call the bank", at: "2026-06-10 17:00", clock: true, title: "Call the bank", matched: "at 5 pm"},
		{text: "at 17:00 standup", at: "2026-06-10 17:00", clock: true, title: "Standup"},
		{text: "at 7:30am run", at: "2026-06-11 07:30", clock: true, title: "Run"},
		{text: "at 7:30 p.m. run", at: "2026-06-10 19:30", clock: true, title: "Run"},
		{text: "at noon lunch with Sam", at: "2026-06-10 12:00", clock: true, title: "Lunch with Sam"},
		{text: "take out the trash at midnight", at: "2026-06-11 00:00", clock: true, title: "Take out the trash"},
		{text: "5pm call dad", at: "2026-06-10 17:00", clock: true, title: "Call dad", matched: "5pm"},
		{text: "call dad 18:30", at: "2026-06-10 18:30", clock: true, title: "Call dad"},
		{text: "at five o'clock tea", at: "2026-06-10 17:00", clock: true, title: "Tea"},
		{text: "by 5pm submit the report", at: "2026-06-10 17:00", clock: true, title: "Submit the report"},
		{text: "at 09:00 meeting", at: "2026-06-11 09:00", clock: true, title: "Meeting"},
		{text: "at 12am backup", at: "2026-06-11 00:00", clock: true, title: "Backup"},
		{text: "Remind me at 5pm to call mom, please!", at: "2026-06-10 17:00", clock: true, title: "Call mom"},
	})
}

// A bare hour has two 12-hour readings.
func TestAmbiguousHour(t *testing.T) {
	t.Parallel()
	run(t, []tc{
		{text: "at 8 water plants", now: "2026-06-10 07:00", at: "2026-06-10 08:00", clock: true, title: "Water plants"},
		{text: "at 8 water plants", now: "2026-06-10 09:00", at: "2026-06-10 20:00", clock: true, title: "Water plants"},
		{text: "at 8 water plants", now: "2026-06-10 21:00", at: "2026-06-11 08:00", clock: true, title: "Water plants"},
		{text: "at 8:30 water plants", now: "2026-06-10 09:00", at: "2026-06-10 20:30", clock: true, title: "Water plants"},
		{text: "today at 8 water plants", now: "2026-06-10 09:00", at: "2026-06-10 20:00", date: true, clock: true, title: "Water plants"},
		// an explicit "today" is kept even when both readings are over
		{text: "today at 8 water plants", now: "2026-06-10 21:00", at: "2026-06-10 20:00", date: true, clock: true, title: "Water plants"},
		{text: "tomorrow at 8 water plants", now: "2026-06-10 21:00", at: "2026-06-11 08:00", date: true, clock: true, title: "Water plants"},
		{text: "Friday at 8 water plants", at: "2026-06-12 08:00", date: true, clock: true, title: "Water plants"},
		{text: "at 8 in the evening water plants", now: "2026-06-10 07:00", at: "2026-06-10 20:00", clock: true, part: "evening", title: "Water plants"},
		{text: "at 8 in the morning water plants", now: "2026-06-10 09:00", at: "2026-06-11 08:00", clock: true, part: "morning", title: "Water plants"},
		{text: "tomorrow evening at 8 cinema", at: "2026-06-11 20:00", date: true, clock: true, part: "evening", title: "Cinema"},
		{text: "at 12 lunch", now: "2026-06-10 09:00", at: "2026-06-10 12:00", clock: true, title: "Lunch"},
		{text: "tonight at 12 lock the door", at: "2026-06-11 00:00", date: true, clock: true, part: "evening", title: "Lock the door"},
		// a series takes the earlier reading whenever it is typed
		{text: "every day at 8 water plants", now: "2026-06-10 10:00", at: "2026-06-11 08:00", rrule: "FREQ=DAILY", date: true, clock: true, title: "Water plants"},
	})
}

func TestPastTimeRollsToTomorrow(t *testing.T) {
	t.Parallel()
	run(t, []tc{
		{text: "at 7am stretch", now: "2026-06-10 09:00", at: "2026-06-11 07:00", clock: true, title: "Stretch"},
		{text: "at 5pm stretch", now: "2026-06-10 16:59", at: "2026-06-10 17:00", clock: true, title: "Stretch"},
		{text: "at 5pm stretch", now: "2026-06-10 17:00", at: "2026-06-10 17:00", clock: true, title: "Stretch"},
		{text: "at 5pm stretch", now: "2026-06-10 17:01", at: "2026-06-11 17:00", clock: true, title: "Stretch"},
		{text: "at 11:30pm journal", now: "2026-06-30 23:45", at: "2026-07-01 23:30", clock: true, title: "Journal"},
		{text: "at 7am stretch", zone: "America/New_York", now: "2026-12-31 09:00", at: "2027-01-01 07:00", clock: true, title: "Stretch"},
	})
}

// The current minute still counts as now.
func TestSameMinuteIsNow(t *testing.T) {
	t.Parallel()
	loc := mustZone(t, "Europe/Berlin")
	now := time.Date(2026, 6, 10, 9, 0, 40, 0, loc)
	got := Parse("at 9am stand up", now, loc)
	if want := time.Date(2026, 6, 10, 9, 0, 0, 0, loc); !got.At.Equal(want) {
		t.Errorf("At = %v, want %v", got.At.In(loc), want)
	}
}

func TestRelative(t *testing.T) {
	t.Parallel()
	run(t, []tc{
		{text: "in 20 minutes check the oven", at: "2026-06-10 10:20", date: true, clock: true, title: "Check the oven", matched: "in 20 minutes"},
		{text: "in 2 hours move the car", at: "2026-06-10 12:00", date: true, clock: true, title: "Move the car"},
		{text: "in an hour stretch", at: "2026-06-10 11:00", date: true, clock: true, title: "Stretch"},
		{text: "in half an hour leave", at: "2026-06-10 10:30", date: true, clock: true, title: "Leave"},
		{text: "in an hour and a half leave", at: "2026-06-10 11:30", date: true, clock: true, title: "Leave"},
		{text: "in 1 hour and 30 minutes leave", at: "2026-06-10 11:30", date: true, clock: true, title: "Leave"},
		{text: "in twenty minutes tea", at: "2026-06-10 10:20", date: true, clock: true, title: "Tea"},
		{text: "in 45min tea", at: "2026-06-10 10:45", date: true, clock: true, title: "Tea"},
		{text: "check the oven in 20 minutes.", at: "2026-06-10 10:20", date: true, clock: true, title: "Check the oven"},
		// days keep the current clock time and give no time of day
		{text: "in 3 days water the garden", at: "2026-06-13 10:00", date: true, title: "Water the garden"},
		{text: "in 2 weeks dentist", at: "2026-06-24 10:00", date: true, title: "Dentist"},
		{text: "in 3 days at 9am water the garden", at: "2026-06-13 09:00", date: true, clock: true, title: "Water the garden"},
		// a second time expression is not consumed
		{text: "in 20 minutes at 5pm", at: "2026-06-10 10:20", date: true, clock: true, title: "At 5pm"},
		{text: "in 0 minutes", title: "In 0 minutes"},
	})
}

// Relative minutes and hours are elapsed time, days are calendar days.
func TestRelativeAcrossDST(t *testing.T) {
	t.Parallel()
	loc := mustZone(t, "Europe/Berlin")
	now := localTime(t, loc, "2026-03-29 01:30") // CET, 30 minutes before the change
	got := Parse("in 2 hours", now, loc)
	if !got.At.Equal(now.Add(2 * time.Hour)) {
		t.Errorf("in 2 hours: At = %v, want now+2h", got.At)
	}
	if s := got.At.In(loc).Format("15:04 MST"); s != "04:30 CEST" {
		t.Errorf("in 2 hours: local %s, want 04:30 CEST", s)
	}
	now = localTime(t, loc, "2026-03-28 10:00")
	got = Parse("in 1 day", now, loc)
	if s := got.At.In(loc).Format(layout + " MST"); s != "2026-03-29 10:00 CEST" {
		t.Errorf("in 1 day: local %s, want 2026-03-29 10:00 CEST (23 hours later)", s)
	}
}

func TestDays(t *testing.T) {
	t.Parallel()
	run(t, []tc{ // baseNow is Wednesday 2026-06-10
		{text: "today buy milk", at: "2026-06-10 00:00", date: true, title: "Buy milk"},
		{text: "tonight read a chapter", at: "2026-06-10 00:00", date: true, part: "evening", title: "Read a chapter"},
		{text: "tonight at 9 call grandma", at: "2026-06-10 21:00", date: true, clock: true, part: "evening", title: "Call grandma"},
		{text: "call grandma at 9 tonight", at: "2026-06-10 21:00", date: true, clock: true, part: "evening", title: "Call grandma"},
		{text: "this evening pack", at: "2026-06-10 00:00", date: true, part: "evening", title: "Pack"},
		{text: "tomorrow buy bread", at: "2026-06-11 00:00", date: true, title: "Buy bread"},
		{text: "tomorrow at 8 take vitamins", at: "2026-06-11 08:00", date: true, clock: true, title: "Take vitamins", matched: "tomorrow at 8"},
		{text: "take vitamins tomorrow at 8.", at: "2026-06-11 08:00", date: true, clock: true, title: "Take vitamins"},
		{text: "tomorrow take vitamins at 8", at: "2026-06-11 08:00", date: true, clock: true, title: "Take vitamins", matched: "tomorrow at 8"},
		{text: "tomorrow morning run", at: "2026-06-11 00:00", date: true, part: "morning", title: "Run"},
		{text: "tomorrow afternoon nap", at: "2026-06-11 00:00", date: true, part: "afternoon", title: "Nap"},
		{text: "tomorrow evening call Ana", at: "2026-06-11 00:00", date: true, part: "evening", title: "Call Ana"},
		{text: "the day after tomorrow pay bills", at: "2026-06-12 00:00", date: true, title: "Pay bills"},
		{text: "on Friday pay rent", at: "2026-06-12 00:00", date: true, title: "Pay rent"},
		{text: "Friday pay rent", at: "2026-06-12 00:00", date: true, title: "Pay rent"},
		{text: "pay rent on fri", at: "2026-06-12 00:00", date: true, title: "Pay rent"},
		{text: "next Tuesday dentist", at: "2026-06-16 00:00", date: true, title: "Dentist"},
		{text: "Tuesday dentist", at: "2026-06-16 00:00", date: true, title: "Dentist"},
		{text: "Wednesday dentist", at: "2026-06-17 00:00", date: true, title: "Dentist"}, // said on a Wednesday: next week
		{text: "this Wednesday at 6pm dentist", at: "2026-06-10 18:00", date: true, clock: true, title: "Dentist"},
		{text: "Friday evening at 8 cinema", at: "2026-06-12 20:00", date: true, clock: true, part: "evening", title: "Cinema"},
		{text: "on 3 March renew passport", at: "2027-03-03 00:00", date: true, title: "Renew passport"},
		{text: "March 3 renew passport", at: "2027-03-03 00:00", date: true, title: "Renew passport"},
		{text: "on the 3rd of March renew passport", at: "2027-03-03 00:00", date: true, title: "Renew passport"},
		{text: "on 24 June at 10am party", at: "2026-06-24 10:00", date: true, clock: true, title: "Party"},
		{text: "June 10 at 3pm call", at: "2026-06-10 15:00", date: true, clock: true, title: "Call"},
		{text: "March 3, 2028 renew passport", at: "2028-03-03 00:00", date: true, title: "Renew passport"},
		{text: "2026-12-24 buy gifts", at: "2026-12-24 00:00", date: true, title: "Buy gifts"},
		{text: "on the 5th pay rent", at: "2026-07-05 00:00", date: true, title: "Pay rent"},
		{text: "Feb 29 birthday", at: "2028-02-29 00:00", date: true, title: "Birthday"},
		{text: "in the morning call the plumber", part: "morning", title: "Call the plumber"},
		{text: "tomorrow at 8 take vitamins", zone: "America/New_York", at: "2026-06-11 08:00", date: true, clock: true, title: "Take vitamins"},
		{text: "on Friday at 5pm pay rent", zone: "America/New_York", at: "2026-06-12 17:00", date: true, clock: true, title: "Pay rent"},
	})
}

func TestRecurrence(t *testing.T) {
	t.Parallel()
	const mf = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
	run(t, []tc{ // baseNow is Wednesday 2026-06-10 10:00
		{text: "every day floss", at: "2026-06-10 00:00", rrule: "FREQ=DAILY", date: true, title: "Floss"},
		{text: "daily stretch", at: "2026-06-10 00:00", rrule: "FREQ=DAILY", date: true, title: "Stretch"},
		{text: "every day at 7 meditate", at: "2026-06-11 07:00", rrule: "FREQ=DAILY", date: true, clock: true, title: "Meditate"},
		{text: "every day at 11 meditate", at: "2026-06-10 11:00", rrule: "FREQ=DAILY", date: true, clock: true, title: "Meditate"},
		{text: "every morning at 7 meditate", at: "2026-06-11 07:00", rrule: "FREQ=DAILY", date: true, clock: true, part: "morning", title: "Meditate"},
		{text: "every Monday at 7 gym", at: "2026-06-15 07:00", rrule: "FREQ=WEEKLY;BYDAY=MO", date: true, clock: true, title: "Gym", matched: "every Monday at 7"},
		{text: "every Wednesday at 9 gym", at: "2026-06-17 09:00", rrule: "FREQ=WEEKLY;BYDAY=WE", date: true, clock: true, title: "Gym"},
		{text: "every Wednesday at 11 gym", at: "2026-06-10 11:00", rrule: "FREQ=WEEKLY;BYDAY=WE", date: true, clock: true, title: "Gym"},
		{text: "every Monday and Thursday at 6pm yoga", at: "2026-06-11 18:00", rrule: "FREQ=WEEKLY;BYDAY=MO,TH", date: true, clock: true, title: "Yoga"},
		{text: "every Monday, Wednesday and Friday at 6pm run", at: "2026-06-10 18:00", rrule: "FREQ=WEEKLY;BYDAY=MO,WE,FR", date: true, clock: true, title: "Run"},
		{text: "on Mondays and Thursdays yoga", at: "2026-06-11 00:00", rrule: "FREQ=WEEKLY;BYDAY=MO,TH", date: true, title: "Yoga"},
		{text: "on weekdays at 8 standup", at: "2026-06-11 08:00", rrule: mf, date: true, clock: true, title: "Standup"},
		{text: "every weekday at 11 standup", at: "2026-06-10 11:00", rrule: mf, date: true, clock: true, title: "Standup"},
		{text: "every mon-fri at 8 standup", at: "2026-06-11 08:00", rrule: mf, date: true, clock: true, title: "Standup"},
		{text: "every Monday to Friday at 8 standup", at: "2026-06-11 08:00", rrule: mf, date: true, clock: true, title: "Standup"},
		{text: "every weekend hike", at: "2026-06-13 00:00", rrule: "FREQ=WEEKLY;BYDAY=SA,SU", date: true, title: "Hike"},
		{text: "on weekends at 10 hike", at: "2026-06-13 10:00", rrule: "FREQ=WEEKLY;BYDAY=SA,SU", date: true, clock: true, title: "Hike"},
		{text: "every week at 9am review", at: "2026-06-11 09:00", rrule: "FREQ=WEEKLY;BYDAY=TH", date: true, clock: true, title: "Review"},
		{text: "every week at 11am review", at: "2026-06-10 11:00", rrule: "FREQ=WEEKLY;BYDAY=WE", date: true, clock: true, title: "Review"},
		{text: "weekly review", at: "2026-06-10 00:00", rrule: "FREQ=WEEKLY;BYDAY=WE", date: true, title: "Review"},
		{text: "every week on Friday at 5pm review", at: "2026-06-12 17:00", rrule: "FREQ=WEEKLY;BYDAY=FR", date: true, clock: true, title: "Review"},
		{text: "every other week clean the fridge", at: "2026-06-10 00:00", rrule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE", date: true, title: "Clean the fridge"},
		{text: "every other Monday 1:1", at: "2026-06-15 00:00", rrule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", date: true, title: "1:1"},
		{text: "every 2 days water the cactus", at: "2026-06-10 00:00", rrule: "FREQ=DAILY;INTERVAL=2", date: true, title: "Water the cactus"},
		{text: "every month pay rent", at: "2026-06-10 00:00", rrule: "FREQ=MONTHLY", date: true, title: "Pay rent"},
		{text: "monthly budget review", at: "2026-06-10 00:00", rrule: "FREQ=MONTHLY", date: true, title: "Budget review"},
		{text: "every month on the 1st at 9 pay rent", at: "2026-07-01 09:00", rrule: "FREQ=MONTHLY", date: true, clock: true, title: "Pay rent"},
		{text: "every month on the 10th at 9 pay rent", at: "2026-07-10 09:00", rrule: "FREQ=MONTHLY", date: true, clock: true, title: "Pay rent"},
		{text: "every year on March 3 call Tom", at: "2027-03-03 00:00", rrule: "FREQ=YEARLY", date: true, title: "Call Tom"},
		{text: "every day at 7 starting tomorrow walk", at: "2026-06-11 07:00", rrule: "FREQ=DAILY", date: true, clock: true, title: "Walk"},
		{text: "every day starting Monday at 9 read", at: "2026-06-15 09:00", rrule: "FREQ=DAILY", date: true, clock: true, title: "Read"},
		{text: "every Monday at 7 gym", zone: "America/New_York", at: "2026-06-15 07:00", rrule: "FREQ=WEEKLY;BYDAY=MO", date: true, clock: true, title: "Gym"},
	})
}

// Ranges resolve to their start; two bare hours are not a time.
func TestRanges(t *testing.T) {
	t.Parallel()
	run(t, []tc{
		{text: "work 9 to 5", title: "Work 9 to 5"},
		{text: "work 9 to 5 on weekdays", at: "2026-06-10 00:00", rrule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", date: true, title: "Work 9 to 5"},
		{text: "from 9am to 5pm conference", now: "2026-06-10 08:00", at: "2026-06-10 09:00", clock: true, title: "Conference", matched: "from 9am to 5pm"},
		{text: "conference 9am-5pm", now: "2026-06-10 08:00", at: "2026-06-10 09:00", clock: true, title: "Conference"},
		{text: "from 9 to 5 tomorrow conference", at: "2026-06-11 09:00", date: true, clock: true, title: "Conference"},
		{text: "at 3 to 5pm tennis", at: "2026-06-10 15:00", clock: true, title: "Tennis"},
		{text: "tomorrow from 7 to 9pm party", at: "2026-06-11 19:00", date: true, clock: true, title: "Party"},
	})
}

func TestNoTime(t *testing.T) {
	t.Parallel()
	run(t, []tc{
		{text: "call mom", title: "Call mom"},
		{text: "Remind me to call mom, please!", title: "Call mom"},
		{text: "reminder: buy milk.", title: "Buy milk"},
		{text: "hey can you remind me to water the plants?", title: "Water the plants"},
		{text: "", title: ""},
		{text: "   ", title: ""},
		{text: "please", title: ""},
		{text: "remind me", title: ""},
		{text: "at home feed the cat", title: "At home feed the cat"},
		{text: "3/12 appointment", at: "2026-12-03 00:00", date: true, title: "Appointment"},
		{text: "buy 3 apples", title: "Buy 3 apples"},
		{text: "my 5th attempt", title: "My 5th attempt"},
		{text: "every 2 hours drink water", invalid: true, title: "Drink water"},
		{text: "buy stuff for the sun deck", title: "Buy stuff for the sun deck"},
		{text: "2026-02-30 nothing", invalid: true, title: "Nothing"},
		{text: "thank-you cards from 2 friends", title: "Thank-you cards from 2 friends"},
		{text: "plan dinner by 5 people", title: "Plan dinner by 5 people"},
		{text: "by 5.30pm pick up Leo", at: "2026-06-10 17:30", clock: true, title: "Pick up Leo"},
		{text: "around 8 dinner", at: "2026-06-10 20:00", clock: true, title: "Dinner"},
		{text: "at 25 o'clock", invalid: true, title: ""},
		{text: "mix 3:1 with water", title: "Mix 3:1 with water"},
		{text: "on 35 acres", title: "On 35 acres"},
		{text: "étudier le français", title: "Étudier le français"},
	})
}

// DST: "tomorrow at 8" and "every day at 7" on the day before and the day of
// each 2026 transition keep the local wall clock.
func TestDST(t *testing.T) {
	t.Parallel()
	var cases []tc
	for _, d := range []struct{ zone, before, of, after string }{
		{"Europe/Berlin", "2026-03-28", "2026-03-29", "2026-03-30"},
		{"Europe/Berlin", "2026-10-24", "2026-10-25", "2026-10-26"},
		{"America/New_York", "2026-03-07", "2026-03-08", "2026-03-09"},
		{"America/New_York", "2026-10-31", "2026-11-01", "2026-11-02"},
	} {
		cases = append(cases,
			tc{text: "tomorrow at 8 take vitamins", zone: d.zone, now: d.before + " 10:00", at: d.of + " 08:00", date: true, clock: true, title: "Take vitamins"},
			tc{text: "tomorrow at 8 take vitamins", zone: d.zone, now: d.of + " 10:00", at: d.after + " 08:00", date: true, clock: true, title: "Take vitamins"},
			tc{text: "every day at 7 stretch", zone: d.zone, now: d.before + " 10:00", at: d.of + " 07:00", rrule: "FREQ=DAILY", date: true, clock: true, title: "Stretch"},
			tc{text: "every day at 7 stretch", zone: d.zone, now: d.of + " 10:00", at: d.after + " 07:00", rrule: "FREQ=DAILY", date: true, clock: true, title: "Stretch"},
			// typed in the small hours of the transition day, before the change
			tc{text: "every day at 7 stretch", zone: d.zone, now: d.of + " 01:15", at: d.of + " 07:00", rrule: "FREQ=DAILY", date: true, clock: true, title: "Stretch"},
			tc{text: "at 7am stretch", zone: d.zone, now: d.before + " 09:00", at: d.of + " 07:00", clock: true, title: "Stretch"},
		)
	}
	run(t, cases)
}

// A local time that does not exist resolves the way time.Date does, which
// depends on the zone: Berlin moves it forward, New York back. One that
// exists twice is one of its two instants.
func TestDSTGapAndOverlap(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		zone, now, text, want string
	}{
		{"Europe/Berlin", "2026-03-28 10:00", "tomorrow at 2:30", "2026-03-29 03:30 CEST"},
		{"America/New_York", "2026-03-07 10:00", "tomorrow at 2:30am", "2026-03-08 01:30 EST"},
	} {
		loc := mustZone(t, c.zone)
		got := Parse(c.text, localTime(t, loc, c.now), loc)
		if s := got.At.In(loc).Format(layout + " MST"); s != c.want {
			t.Errorf("%s %q: %s, want %s", c.zone, c.text, s, c.want)
		}
	}
	for _, c := range []struct{ zone, now, text, want string }{
		{"Europe/Berlin", "2026-10-24 10:00", "tomorrow at 2:30", "2026-10-25 02:30"},
		{"America/New_York", "2026-10-31 10:00", "tomorrow at 1:30am", "2026-11-01 01:30"},
	} {
		loc := mustZone(t, c.zone)
		got := Parse(c.text, localTime(t, loc, c.now), loc).At.In(loc)
		if s := got.Format(layout); s != c.want {
			t.Errorf("%s %q: %s, want %s (either offset)", c.zone, c.text, got.Format(layout+" MST"), c.want)
		}
	}
}

func TestNilLocationIsUTC(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 10, 10, 0, 0, 0, time.UTC)
	got := Parse("tomorrow at 8", now, nil)
	if want := time.Date(2026, 6, 11, 8, 0, 0, 0, time.UTC); !got.At.Equal(want) {
		t.Errorf("At = %v, want %v", got.At, want)
	}
}

// What cannot be a time is consumed and reported, so a caller can correct the user instead
// of writing a reminder titled "At 25:99".
func TestInvalid(t *testing.T) {
	t.Parallel()
	run(t, []tc{
		{text: "remind me at 25:99", invalid: true, title: ""},
		{text: "call mom at 13pm", invalid: true, title: "Call mom"},
		{text: "at 9:75 call Ben", invalid: true, title: "Call Ben"},
		{text: "on 30 February pay taxes", invalid: true, title: "Pay taxes"},
		{text: "February 30th file the report", invalid: true, title: "File the report"},
		{text: "on 32/12 party", invalid: true, title: "Party"},
		{text: "every 0 days drink water", invalid: true, title: "Drink water"},
		{text: "every 30 minutes stand up", invalid: true, title: "Stand up"},
	})
}

// Spoken and European clocks, numeric dates, past days, vague times and the options.
func TestMoreShapes(t *testing.T) {
	t.Parallel()
	us := &Options{MonthFirst: true}
	asleep := &Options{Asleep: func(h, m int) bool { return h*60+m >= 23*60 || h*60+m < 6*60+30 }}
	parts := &Options{PartTimes: DefaultPartTimes, DaysKeepTime: true}
	run(t, []tc{
		{text: "at half past six leave", at: "2026-06-10 18:30", clock: true, title: "Leave"},
		{text: "tomorrow at quarter to 8 call", at: "2026-06-11 07:45", date: true, clock: true, title: "Call"},
		{text: "quarter past 3 cake", at: "2026-06-10 15:15", clock: true, title: "Cake"},
		{text: "half 7 tomorrow pick up Lena", at: "2026-06-11 07:30", date: true, clock: true, title: "Pick up Lena"},
		{text: "ten to five tea", at: "2026-06-10 16:50", clock: true, title: "Tea"},
		{text: "at six thirty run", at: "2026-06-10 18:30", clock: true, title: "Run"},
		{text: "tomorrow at seven forty five am swim", at: "2026-06-11 07:45", date: true, clock: true, title: "Swim"},
		{text: "at 17h30 post office", at: "2026-06-10 17:30", clock: true, title: "Post office"},
		{text: "tomorrow at 20h dinner", at: "2026-06-11 20:00", date: true, clock: true, title: "Dinner"},
		{text: "at 0930 call", at: "2026-06-11 09:30", clock: true, title: "Call"},
		{text: "on 3/12 visa", at: "2026-12-03 00:00", date: true, title: "Visa"},
		{text: "on 3/12 visa", opt: us, at: "2027-03-12 00:00", date: true, title: "Visa"},
		{text: "on 12/24 gifts", at: "2026-12-24 00:00", date: true, title: "Gifts"},
		{text: "on 24.12. candles", at: "2026-12-24 00:00", date: true, title: "Candles"},
		{text: "yesterday at 5pm call", at: "2026-06-09 17:00", date: true, clock: true, title: "Call"},
		{text: "last monday at 9am call", at: "2026-06-08 09:00", date: true, clock: true, title: "Call"},
		{text: "thu at 9am notes", at: "2026-06-11 09:00", date: true, clock: true, title: "Notes"},
		{text: "sat with Tom", title: "Sat with Tom"},
		{text: "the 3rd of every month at 9am pay", at: "2026-07-03 09:00", rrule: "FREQ=MONTHLY", date: true, clock: true, title: "Pay"},
		{text: "remind me later to call Tim", title: "Call Tim"},
		{text: "tomorrow at 5 call", opt: asleep, at: "2026-06-11 17:00", date: true, clock: true, title: "Call"},
		{text: "tomorrow at 5am call", opt: asleep, at: "2026-06-11 05:00", date: true, clock: true, title: "Call"},
		{text: "tonight call Lisa", opt: parts, at: "2026-06-10 19:00", date: true, clock: true, part: "evening", title: "Call Lisa"},
		{text: "in 2 days call", opt: parts, at: "2026-06-12 10:00", date: true, clock: true, title: "Call"},
		{text: "tonite call Lisa", date: true, at: "2026-06-10 00:00", part: "evening", title: "Call Lisa"},
	})
}

// The words read on their own, for the answers other packages read.
func TestWords(t *testing.T) {
	t.Parallel()
	for word, want := range map[string]time.Weekday{"Monday": time.Monday, "mondays": time.Monday, "TUES": time.Tuesday,
		"wensday": time.Wednesday, "thurs": time.Thursday, "Sun": time.Sunday} {
		if got, _, _, ok := WeekdayWord(word); !ok || got != want {
			t.Errorf("WeekdayWord(%q) = %v %v, want %v", word, got, ok, want)
		}
	}
	if _, _, _, ok := WeekdayWord("someday"); ok {
		t.Error("WeekdayWord(someday) read a day")
	}
	for in, want := range map[string]string{"7": "07:00 open 1", "seven pm": "19:00 2", "6:30 in the evening": "18:30 4",
		"half past six": "06:30 open 3", "six - thirty": "06:30 open 3", "12 at night": "00:00 3", "midnight": "00:00 1",
		"0630 hours": "06:30 1", "quarter to one": "12:45 open 3", "20h": "20:00 1", "8 hours": "", "five days": "", "late": ""} {
		c, n := ReadClock(strings.Fields(in))
		got := ""
		if n > 0 {
			got = c.String() + map[bool]string{true: " open", false: ""}[c.Open] + " " + strconv.Itoa(n)
		}
		if got != want {
			t.Errorf("ReadClock(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"07:30": "07:30", "7:30": "07:30", " 19:00 ": "19:00", "7am": "07:00",
		"7:30 pm": "19:30", "noon": "12:00", "7": "", "7.30": "", "24:00": "", "midnight": "", "12:60": "", "7 pm later": ""} {
		h, m, ok := ParseClock(in)
		if got := map[bool]string{true: Clock{Hour: h, Min: m}.String()}[ok]; got != want {
			t.Errorf("ParseClock(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]bool{"07:30": true, "23:59": true, "7:30": false, "07:30am": false, "24:00": false} {
		if _, _, ok := HHMM(in); ok != want {
			t.Errorf("HHMM(%q) = %v", in, ok)
		}
	}
}
