package onboarding

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseName(t *testing.T) {
	for in, want := range map[string]string{
		"zoë": "Zoë", "I'm zoë!": "Zoë", "I am Sam.": "Sam", "my name is Jean-Luc": "Jean-Luc",
		"Call me al": "Al", "it's Ana": "Ana", "Hi, I’m Émile": "Émile", "  o'brien  ": "O'brien",
		"Zoë here": "Zoë", "ßiggi": "SSiggi"[:0] + "ßiggi", "李雷": "李雷", "mary ann": "Mary ann",
		strings.Repeat("a", 100): "A" + strings.Repeat("a", 99),
	} {
		got, problem := parseName(in)
		if problem != "" || got != want {
			t.Errorf("%q: %q %q, want %q", in, got, problem, want)
		}
	}
	for _, in := range []string{"", "I'm", "!!!", "123", "my name is", strings.Repeat("a", 101)} {
		if got, problem := parseName(in); problem == "" {
			t.Errorf("%q: accepted %q", in, got)
		}
	}
}

func TestParseWakeBed(t *testing.T) {
	wake := map[string]string{
		"7": "07:00", "7am": "07:00", "6:30": "06:30", "06:30": "06:30", "half past six": "06:30",
		"quarter to seven": "06:45", "quarter past 6": "06:15", "six thirty": "06:30", "5 o'clock": "05:00",
		"7 a.m.": "07:00", "around 7 in the morning": "07:00", "12": "12:00", "noon": "12:00",
		"I get up at 7, sometimes 8": "07:00", "0630": "06:30", "2pm": "14:00", "seven": "07:00",
		"14:15": "14:15", "1": "01:00",
	}
	for in, want := range wake {
		if got, problem := parseWake(in); problem != "" || got != want {
			t.Errorf("wake %q: %q %q, want %q", in, got, problem, want)
		}
	}
	bed := map[string]string{
		"11pm": "23:00", "23:00": "23:00", "11": "23:00", "10:30": "22:30", "7": "19:00", "12": "00:00",
		"midnight": "00:00", "1": "01:00", "2am": "02:00", "half past ten": "22:30", "11 at night": "23:00",
		"tonight at 11": "23:00", "around 10 in the evening": "22:00", "5": "05:00", "00:30": "00:30",
		"11 p.m.": "23:00",
	}
	for in, want := range bed {
		if got, problem := parseBed(in); problem != "" || got != want {
			t.Errorf("bed %q: %q %q, want %q", in, got, problem, want)
		}
	}
	for _, in := range []string{"", "late", "whenever", "8 hours", "25:00", "7:75", "13pm"} {
		if got, problem := parseWake(in); problem == "" {
			t.Errorf("wake %q: accepted %q", in, got)
		}
		if got, problem := parseBed(in); problem == "" {
			t.Errorf("bed %q: accepted %q", in, got)
		}
	}
}

func TestParseWork(t *testing.T) {
	mf := []string{"Mon", "Tue", "Wed", "Thu", "Fri"}
	for in, want := range map[string]*WorkHours{
		"9-5":                        {"09:00", "17:00", mf},
		"9 to 17:30":                 {"09:00", "17:30", mf},
		"9am-6pm Mon-Fri":            {"09:00", "18:00", mf},
		"9–17 weekdays":              {"09:00", "17:00", mf},
		"weekdays 8:30 to 16:30":     {"08:30", "16:30", mf},
		"Monday to Thursday 8 to 4":  {"08:00", "16:00", []string{"Mon", "Tue", "Wed", "Thu"}},
		"Mon, Wed, Fri 10-14":        {"10:00", "14:00", []string{"Mon", "Wed", "Fri"}},
		"9 to 5, five days a week":   {"09:00", "17:00", mf},
		"3-11pm":                     {"15:00", "23:00", mf},
		"2-10":                       {"14:00", "22:00", mf},
		"12-8 weekends":              {"12:00", "20:00", []string{"Sat", "Sun"}},
		"from 07:00 until 15:00 Sat": {"07:00", "15:00", []string{"Sat"}},
		"every day 10am to 6pm":      {"10:00", "18:00", []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}},
		"none":                       nil,
		"I don't work":               nil,
		"No":                         nil,
		"I'm retired":                nil,
		"no fixed hours, freelancer": nil,
	} {
		got, problem := parseWork(in)
		if problem != "" || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %+v %q, want %+v", in, got, problem, want)
		}
	}
	for _, in := range []string{"", "9", "whenever", "9pm-5am", "5-5", "9-12 and 13-18", "mornings"} {
		if got, problem := parseWork(in); problem == "" {
			t.Errorf("%q: accepted %+v", in, got)
		}
	}
}

func TestParseChronotype(t *testing.T) {
	for in, want := range map[string]string{
		"morning person": "morning", "Early bird!": "morning", "morning": "morning",
		"night owl": "evening", "evening": "evening", "night": "evening", "I'm not a morning person": "evening",
		"neither": "neutral", "both": "neutral", "neutral": "neutral", "don't know": "neutral",
		"I don’t know": "neutral", "a morning person, not a night owl": "morning",
	} {
		if got, problem := parseChronotype(in); problem != "" || got != want {
			t.Errorf("%q: %q %q, want %q", in, got, problem, want)
		}
	}
	for _, in := range []string{"", "hmm", "purple"} {
		if got, problem := parseChronotype(in); problem == "" {
			t.Errorf("%q: accepted %q", in, got)
		}
	}
}

func TestParseTimezone(t *testing.T) {
	for _, c := range []struct{ in, client, want string }{
		{"yes", "Europe/London", "Europe/London"},
		{"Correct.", "Europe/London", "Europe/London"},
		{"that's right", "Europe/London", "Europe/London"},
		{"no, Europe/Berlin", "Europe/London", "Europe/Berlin"},
		{"I'm in america/new_york now", "Europe/London", "America/New_York"},
		{"Asia/Kolkata", "", "Asia/Kolkata"},
		{"utc", "", "UTC"},
	} {
		if got, problem := parseTimezone(c.in, c.client); problem != "" || got != c.want {
			t.Errorf("%q (%q): %q %q, want %q", c.in, c.client, got, problem, c.want)
		}
	}
	for _, c := range []struct{ in, client string }{
		{"no", "Europe/London"}, {"maybe", "Europe/London"}, {"yes", ""}, {"yes", "Local"},
		{"yes", "Not/AZone"}, {"Mars/Olympus", "UTC"}, {"../../etc/passwd", "UTC"}, {"EST", ""},
	} {
		if got, problem := parseTimezone(c.in, c.client); problem == "" {
			t.Errorf("%q (%q): accepted %q", c.in, c.client, got)
		}
	}
}

func TestParseLocations(t *testing.T) {
	for in, want := range map[string]map[string]string{
		"home is Kreuzberg, work is Mitte":                  {"home": "Kreuzberg", "work": "Mitte"},
		"home: 12 Main St, Springfield; work: Acme":         {"home": "12 Main St, Springfield", "work": "Acme"},
		"Home is in Leeds and my office is at Kings Cross.": {"home": "Leeds", "work": "Kings Cross"},
		"I work at Acme and home is Mitte":                  {"home": "Mitte", "work": "Acme"},
		"work - the lab":                                    {"work": "the lab"},
		"skip":                                              nil,
		"None.":                                             nil,
	} {
		got, problem := parseLocations(in)
		if problem != "" || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %v %q, want %v", in, got, problem, want)
		}
	}
	for _, in := range []string{"Kreuzberg", "home is", "home is " + strings.Repeat("x", 101)} {
		if got, problem := parseLocations(in); problem == "" {
			t.Errorf("%q: accepted %v", in, got)
		}
	}
}

func TestParseCommitments(t *testing.T) {
	all := []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
	for in, want := range map[string][]Commitment{
		"gym every Monday and Wednesday at 18:00 for 60 minutes; choir Thursdays 19:30": {
			{"Gym", []string{"Mon", "Wed"}, "18:00", 60}, {"Choir", []string{"Thu"}, "19:30", 60}},
		"choir Thursdays 19:30 and gym Mondays at 7": {
			{"Choir", []string{"Thu"}, "19:30", 60}, {"Gym", []string{"Mon"}, "07:00", 60}},
		"gym Monday, Wednesday and Friday at 7pm": {{"Gym", []string{"Mon", "Wed", "Fri"}, "19:00", 60}},
		"swim Mon-Fri at 6:30 for 45 min\nstandup weekdays 9:15 for 15m": {
			{"Swim", all[:5], "06:30", 45}, {"Standup", all[:5], "09:15", 15}},
		"lunch with mom and dad on Sundays at 12 for 1.5 hours": {{"Lunch with mom and dad", []string{"Sun"}, "12:00", 90}},
		"reading every evening at 9":                            {{"Reading", all, "21:00", 60}},
		"meditation daily at 06:00 for 10 minutes":              {{"Meditation", all, "06:00", 10}},
		"yoga on Tuesday at 19:00 for an hour and a half":       {{"Yoga", []string{"Tue"}, "19:00", 90}},
		"piano Saturdays at 10 for 1 hour and 30 minutes":       {{"Piano", []string{"Sat"}, "10:00", 90}},
		"none": nil,
		"No.":  nil,
	} {
		got, problem := parseCommitments(in)
		if problem != "" || !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\n got %+v %q\nwant %+v", in, got, problem, want)
		}
	}
	ten := strings.Repeat("gym Mondays at 7; ", 10)
	if got, problem := parseCommitments(ten); problem != "" || len(got) != 10 {
		t.Errorf("ten: %d %q", len(got), problem)
	}
	for _, in := range []string{
		"gym at 7",              // no days
		"gym on Mondays",        // no time
		"every Monday at 7",     // no title
		"dentist tomorrow at 9", // not regular
		"tennis every other week on Sunday at 10", // not weekly
		"book club monthly at 19:00",
		"gym Monday at 7 and Wednesday at 8", // a second time would be lost
		"gym Mondays at 7 for 2 minutes",
		"gym Mondays at 7 for 11 hours",
		ten + "choir Thursdays 19:30",
		"yes",
	} {
		if got, problem := parseCommitments(in); problem == "" {
			t.Errorf("%q: accepted %+v", in, got)
		}
	}
}

func TestParsePhone(t *testing.T) {
	for in, want := range map[string]string{
		"+49 151 23456789": "+4915123456789", "0049 151 2345678": "+491512345678",
		"(+1) 415-555-0123": "+14155550123", "my number is +44 20 7946 0958.": "+442079460958",
		"+1.415.555.0123": "+14155550123", "+12345678": "+12345678",
	} {
		got, skip, problem := parsePhone(in)
		if problem != "" || skip || got != want {
			t.Errorf("%q: %q %v %q, want %q", in, got, skip, problem, want)
		}
	}
	for _, in := range []string{"skip", "No", "later", "not now", "I'd rather not"} {
		if got, skip, problem := parsePhone(in); !skip || got != "" || problem != "" {
			t.Errorf("%q: %q %v %q, want skip", in, got, skip, problem)
		}
	}
	for _, in := range []string{"0151 23456789", "+1234567", "+1234567890123456", "+0 151 2345678", "call me", "+"} {
		if got, skip, problem := parsePhone(in); problem == "" || skip {
			t.Errorf("%q: accepted %q (skip %v)", in, got, skip)
		}
	}
}

func TestIsLater(t *testing.T) {
	for _, in := range []string{"later", "Later!", "nothing", "no", "not now", "maybe later"} {
		if !isLater(in) {
			t.Errorf("%q", in)
		}
	}
	for _, in := range []string{"no, I want to run a 5K", "learn Spanish", "remind me later to call mom"} {
		if isLater(in) {
			t.Errorf("%q", in)
		}
	}
}
