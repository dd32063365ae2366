package onboarding

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var testNow = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC) // a Wednesday

// profileOK mirrors flux.profile_ok (supabase/migrations/20261125000100_schema.up.sql)
// on the JSON the caller would write to users.profile.
func profileOK(raw []byte) error {
	if len(raw) > 16384 {
		return fmt.Errorf("profile is %d bytes, over 16 KB", len(raw))
	}
	var p map[string]json.RawMessage
	if err := json.Unmarshal(raw, &p); err != nil || p == nil {
		return fmt.Errorf("profile is not an object: %s", raw)
	}
	isHHMM := regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	str := func(v json.RawMessage) (string, bool) {
		var s string
		return s, json.Unmarshal(v, &s) == nil && len(v) > 0 && v[0] == '"'
	}
	kind := func(v json.RawMessage) byte { return strings.TrimSpace(string(v))[0] }
	if v, ok := p["name"]; ok {
		s, isStr := str(v)
		if !isStr || utf8.RuneCountInString(s) > 100 {
			return fmt.Errorf("bad name %s", v)
		}
	}
	if v, ok := p["chronotype"]; ok {
		s, _ := str(v)
		if s != "morning" && s != "evening" && s != "neutral" {
			return fmt.Errorf("bad chronotype %s", v)
		}
	}
	for _, k := range []string{"sleep_window", "work_hours"} {
		v, ok := p[k]
		if !ok {
			continue
		}
		var w map[string]json.RawMessage
		if err := json.Unmarshal(v, &w); err != nil {
			return fmt.Errorf("bad %s %s", k, v)
		}
		for _, e := range []string{"start", "end"} {
			s, isStr := str(w[e])
			if !isStr || !isHHMM.MatchString(s) {
				return fmt.Errorf("bad %s.%s %s", k, e, w[e])
			}
		}
	}
	if v, ok := p["existing_commitments"]; ok && kind(v) != '[' {
		return fmt.Errorf("existing_commitments is not an array: %s", v)
	}
	if v, ok := p["locations"]; ok && kind(v) != '{' {
		return fmt.Errorf("locations is not an object: %s", v)
	}
	if v, ok := p["whatsapp_consent"]; ok && string(v) != "true" && string(v) != "false" {
		return fmt.Errorf("whatsapp_consent is not a boolean: %s", v)
	}
	return nil
}

// turn runs Next the way the listener does: the state goes through JSON
// between turns, and the profile must pass the SQL check after every turn.
func turn(t *testing.T, st State, text, clientTZ string) Output {
	t.Helper()
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var back State
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	out := Next(back, Input{Text: text, Now: testNow, ClientTZ: clientTZ})
	prof, _ := json.Marshal(out.State.Profile)
	if err := profileOK(prof); err != nil {
		t.Fatalf("after %q: %v", text, err)
	}
	return out
}

func TestHappyPath(t *testing.T) {
	steps := []struct {
		answer    string
		wantField string // the field the reply asks for next
		wantStep  Step
	}{
		{"", "name", StepName},
		{"I'm zoë!", "wake", StepWake},
		{"half past six", "bed", StepBed},
		{"11pm", "work_hours", StepWork},
		{"9-5 weekdays", "chronotype", StepChronotype},
		{"definitely a night owl", "timezone", StepTimezone},
		{"yes", "locations", StepLocations},
		{"home is Kreuzberg, work is Mitte", "commitments", StepCommitments},
		{"gym every Monday and Wednesday at 18:00 for 90 minutes; choir Thursdays 19:30", "phone", StepPhone},
		{"+49 151 2345 6789", "whatsapp", StepWhatsApp},
		{"yes please", "first", StepFirst},
		{"I want to run a 5K", "", StepDone},
	}
	var st State
	var out Output
	for i, s := range steps {
		out = turn(t, st, s.answer, "Europe/Berlin")
		if out.Field != s.wantField || out.State.Step != s.wantStep {
			t.Fatalf("turn %d %q: field %q step %d, want %q %d; reply %q", i, s.answer, out.Field, out.State.Step, s.wantField, s.wantStep, out.Reply)
		}
		if strings.Contains(out.Reply, "For example") {
			t.Fatalf("turn %d %q was re-asked: %q", i, s.answer, out.Reply)
		}
		if i < len(steps)-1 && out.Done {
			t.Fatalf("turn %d: done too early", i)
		}
		st = out.State
	}
	if !out.Done || out.Timezone != "Europe/Berlin" || out.Handoff != "I want to run a 5K" {
		t.Fatalf("final output: done %v tz %q handoff %q", out.Done, out.Timezone, out.Handoff)
	}
	if st.Phone != "+4915123456789" {
		t.Fatalf("phone %q", st.Phone)
	}
	got, err := json.Marshal(st.Profile)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"Zoë","sleep_window":{"start":"23:00","end":"06:30"},` +
		`"work_hours":{"start":"09:00","end":"17:00","days":["Mon","Tue","Wed","Thu","Fri"]},` +
		`"chronotype":"evening","locations":{"home":"Kreuzberg","work":"Mitte"},` +
		`"existing_commitments":[{"title":"Gym","days":["Mon","Wed"],"time":"18:00","duration_minutes":90},` +
		`{"title":"Choir","days":["Thu"],"time":"19:30","duration_minutes":60}],"whatsapp_consent":true}`
	if string(got) != want {
		t.Fatalf("profile\n got %s\nwant %s", got, want)
	}
	if err := profileOK(got); err != nil {
		t.Fatal(err)
	}
	if m := maskPhone(st.Phone); m != "+•••••••••••89" {
		t.Errorf("mask %q", m)
	}
	for _, s := range []string{"Zoë", "23:00", "Europe/Berlin", "Gym", "+•••••••••••89"} {
		if !strings.Contains(out.Reply, s) {
			t.Errorf("summary lacks %q: %s", s, out.Reply)
		}
	}
}

func TestFirstTurnAsksName(t *testing.T) {
	out := Next(State{}, Input{Text: "hello", Now: testNow})
	if !out.State.Started || out.State.Step != StepName || out.Field != "name" || !strings.Contains(out.Reply, "call you") {
		t.Fatalf("%+v", out)
	}
	if out.State.Profile.Name != "" {
		t.Fatal("the greeting must not be taken as the name")
	}
}

// at runs a fresh onboarding up to step with plain answers.
func at(t *testing.T, step Step, clientTZ string) State {
	t.Helper()
	answers := []string{"", "Sam", "7", "23:00", "none", "neither", "yes", "skip", "none", "+14155550123", "no"}
	st := State{}
	for _, a := range answers {
		if st.Started && st.Step == step {
			return st
		}
		st = turn(t, st, a, clientTZ).State
	}
	if st.Step != step {
		t.Fatalf("could not reach step %d (at %d)", step, st.Step)
	}
	return st
}

func TestReaskKeepsStepWithExample(t *testing.T) {
	cases := []struct {
		step   Step
		answer string
	}{
		{StepName, "   "},
		{StepName, "!!!"},
		{StepWake, "whenever"},
		{StepBed, "late"},
		{StepBed, "7am"}, // same as the wake time
		{StepWork, "9"},
		{StepWork, "9pm-5am"},
		{StepChronotype, "hmm"},
		{StepTimezone, "no"},
		{StepTimezone, "Mars/Olympus"},
		{StepLocations, "Kreuzberg"},
		{StepCommitments, "gym at 7"},
		{StepPhone, "0151 23456789"},
		{StepWhatsApp, "maybe"},
		{StepFirst, ""},
		{StepWork, strings.Repeat("9-5 ", 2000)},
	}
	for _, c := range cases {
		st := at(t, c.step, "Europe/Berlin")
		out := turn(t, st, c.answer, "Europe/Berlin")
		if out.State.Step != c.step || out.Done {
			t.Errorf("step %d %q: moved to %d", c.step, truncate(c.answer, 20), out.State.Step)
		}
		if !strings.Contains(out.Reply, "For example: ") || out.Field != steps[c.step].field {
			t.Errorf("step %d %q: reply %q field %q", c.step, truncate(c.answer, 20), out.Reply, out.Field)
		}
	}
}

func TestCommitmentReaskQuotesItem(t *testing.T) {
	st := at(t, StepCommitments, "UTC")
	out := turn(t, st, "choir Thursdays 19:30; knitting club", "UTC")
	if out.State.Step != StepCommitments || !strings.Contains(out.Reply, `"knitting club"`) {
		t.Fatalf("%q", out.Reply)
	}
	if len(out.State.Profile.Commitments) != 0 {
		t.Fatal("a partly read answer must not be saved")
	}
}

func TestSkipPhoneSkipsWhatsApp(t *testing.T) {
	for _, skip := range []string{"skip", "no", "later", "No thanks."} {
		st := at(t, StepPhone, "UTC")
		yes := true
		st.Profile.WhatsAppConsent = &yes // a stale consent must not survive a skipped phone
		out := turn(t, st, skip, "UTC")
		if out.State.Step != StepFirst || out.Field != "first" || out.State.Phone != "" || out.State.Profile.WhatsAppConsent != nil {
			t.Errorf("%q: %+v", skip, out)
		}
		out = turn(t, out.State, "later", "UTC")
		if !out.Done || out.Handoff != "" || strings.Contains(out.Reply, "Phone") {
			t.Errorf("%q: final %+v", skip, out)
		}
	}
}

// The WhatsApp answer goes into the profile the caller writes, where flux.confirm_phone reads
// it when the number is verified: a yes becomes the opt-in, a no is written as false so nothing
// in the stored profile can opt in instead. A new phone answer asks again.
func TestWhatsAppConsentInProfile(t *testing.T) {
	for answer, want := range map[string]string{"yes please": `"whatsapp_consent":true`, "no thanks": `"whatsapp_consent":false`} {
		out := turn(t, at(t, StepWhatsApp, "UTC"), answer, "UTC")
		if b, _ := json.Marshal(out.State.Profile); out.State.Step != StepFirst || !strings.Contains(string(b), want) {
			t.Errorf("%q: step %d, profile %s; want %s", answer, out.State.Step, b, want)
		}
	}
	st := turn(t, at(t, StepWhatsApp, "UTC"), "yes", "UTC").State
	st.Step = StepPhone
	if out := turn(t, st, "+14155550199", "UTC"); out.State.Profile.WhatsAppConsent != nil || out.State.Step != StepWhatsApp {
		t.Errorf("a new number keeps an old consent: %+v", out.State)
	}
}

func TestPhoneReplyAndMasking(t *testing.T) {
	st := at(t, StepPhone, "UTC")
	const phone = "+1 (415) 555-0123"
	out := turn(t, st, "my number is "+phone, "UTC")
	if out.State.Phone != "+14155550123" || out.State.Step != StepWhatsApp {
		t.Fatalf("%+v", out.State)
	}
	if !strings.Contains(out.Reply, "verification will send you a code") || strings.Contains(out.Reply, "sent") {
		t.Errorf("reply must promise the code, not claim it was sent: %q", out.Reply)
	}
	var replies []string
	replies = append(replies, out.Reply)
	out = turn(t, out.State, "yes", "UTC")
	replies = append(replies, out.Reply)
	out = turn(t, out.State, "later", "UTC")
	replies = append(replies, out.Reply)
	if !out.Done {
		t.Fatal("not done")
	}
	for _, r := range replies {
		digits := strings.Map(keepDigits, r)
		for _, full := range []string{"14155550123", "4155550123", "5550123", "555-0123"} {
			if strings.Contains(digits, full) || strings.Contains(r, full) {
				t.Errorf("reply shows the number: %q", r)
			}
		}
	}
	if !strings.Contains(out.Reply, "•23") {
		t.Errorf("summary should show the last two digits: %q", out.Reply)
	}
}

func TestTimezone(t *testing.T) {
	st := at(t, StepTimezone, "Europe/London")
	if out := turn(t, st, "", "Europe/London"); !strings.Contains(out.Reply, "Europe/London") {
		t.Errorf("question should show the client zone: %q", out.Reply)
	}
	out := turn(t, st, "no, Europe/Berlin", "Europe/London")
	if out.State.Timezone != "Europe/Berlin" || out.State.Step != StepLocations {
		t.Fatalf("%+v", out.State)
	}
	for out.State.Step != StepDone {
		a := map[Step]string{StepLocations: "skip", StepCommitments: "none", StepPhone: "skip", StepFirst: "later"}[out.State.Step]
		out = turn(t, out.State, a, "Europe/London")
	}
	if out.Timezone != "Europe/Berlin" {
		t.Fatalf("done with zone %q", out.Timezone)
	}

	// No usable client zone: the question asks for a name and a yes is not enough.
	st = at(t, StepTimezone, "")
	out = turn(t, st, "yes", "")
	if out.State.Step != StepTimezone || !strings.Contains(out.Reply, "Which timezone") {
		t.Fatalf("%q", out.Reply)
	}
	if out = turn(t, st, "america/new_york", "Local"); out.State.Timezone != "America/New_York" {
		t.Fatalf("%+v", out.State)
	}
}

func TestDoneIsIdempotent(t *testing.T) {
	st := at(t, StepFirst, "Asia/Tokyo")
	out := turn(t, st, "remind me to call mom at 5pm", "Asia/Tokyo")
	if !out.Done || out.Handoff == "" {
		t.Fatal("not done")
	}
	again := turn(t, out.State, "something else", "UTC")
	if !again.Done || again.Reply != "" || again.Handoff != "" || again.Timezone != "Asia/Tokyo" || again.State.Step != StepDone {
		t.Fatalf("%+v", again)
	}
}

func TestBedWithoutWakeAsksWake(t *testing.T) {
	out := Next(State{Step: StepBed, Started: true}, Input{Text: "11pm"})
	if out.State.Step != StepWake || out.Field != "wake" || out.State.Profile.SleepWindow != nil {
		t.Fatalf("%+v", out)
	}
}

func TestUnknownStepRestarts(t *testing.T) {
	out := Next(State{Step: 42, Started: true}, Input{Text: "x"})
	if out.State.Step != StepName || out.Field != "name" {
		t.Fatalf("%+v", out)
	}
}

func TestCommitmentStartsDST(t *testing.T) {
	c := Commitment{Title: "Run", Days: []string{"Mon", "Wed", "Sun"}, Time: "07:00", DurationMinutes: 30}
	for _, tc := range []struct {
		zone string
		now  time.Time // a few days before a clock change
	}{
		{"America/New_York", time.Date(2026, 2, 25, 15, 0, 0, 0, time.UTC)},  // spring forward 8 March
		{"America/New_York", time.Date(2026, 10, 21, 15, 0, 0, 0, time.UTC)}, // fall back 1 November
		{"Europe/Berlin", time.Date(2026, 3, 18, 15, 0, 0, 0, time.UTC)},     // spring forward 29 March
		{"Europe/Berlin", time.Date(2026, 10, 14, 15, 0, 0, 0, time.UTC)},    // fall back 25 October
	} {
		loc, err := time.LoadLocation(tc.zone)
		if err != nil {
			t.Fatal(err)
		}
		got := Profile{}.CommitmentStarts(c, tc.now, loc, 14*24*time.Hour)
		if len(got) != 6 {
			t.Fatalf("%s %s: %d occurrences, want 6: %v", tc.zone, tc.now, len(got), got)
		}
		offsets := map[int]bool{}
		for _, g := range got {
			l := g.In(loc)
			if l.Hour() != 7 || l.Minute() != 0 || g.Location() != time.UTC {
				t.Errorf("%s: %v is %v local", tc.zone, g, l)
			}
			if wd := l.Weekday(); wd != time.Monday && wd != time.Wednesday && wd != time.Sunday {
				t.Errorf("%s: %v on %v", tc.zone, g, wd)
			}
			_, off := l.Zone()
			offsets[off] = true
			if g.Before(tc.now) || !g.Before(tc.now.Add(14*24*time.Hour)) {
				t.Errorf("%v outside the horizon", g)
			}
		}
		if len(offsets) != 2 {
			t.Errorf("%s: the range should cross a clock change, offsets %v", tc.zone, offsets)
		}
	}
}

func TestCommitmentStartsEdges(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Berlin")
	p := Profile{}
	// 02:30 does not exist on 29 March 2026 in Berlin: that date is skipped, not moved.
	c := Commitment{Days: []string{"Sun"}, Time: "02:30"}
	got := p.CommitmentStarts(c, time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC), loc, 21*24*time.Hour)
	for _, g := range got {
		if g.In(loc).Day() == 29 || g.In(loc).Hour() != 2 {
			t.Errorf("gap time kept: %v", g.In(loc))
		}
	}
	if len(got) != 2 {
		t.Errorf("got %v", got)
	}
	// now itself counts; bad input gives nothing.
	now := time.Date(2026, 6, 1, 5, 0, 0, 0, time.UTC) // Monday 07:00 in Berlin
	if got := p.CommitmentStarts(Commitment{Days: []string{"Mon"}, Time: "07:00"}, now, loc, time.Hour); len(got) != 1 || !got[0].Equal(now) {
		t.Errorf("got %v", got)
	}
	for _, c := range []Commitment{{Days: []string{"Mon"}, Time: "7:00"}, {Days: []string{"Funday"}, Time: "07:00"}, {Time: "07:00"}} {
		if got := p.CommitmentStarts(c, now, loc, 24*time.Hour*7); got != nil {
			t.Errorf("%+v: %v", c, got)
		}
	}
	if got := p.CommitmentStarts(Commitment{Days: []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}, Time: "07:00"}, now, nil, 1000*24*time.Hour); len(got) > 367 {
		t.Errorf("horizon not bounded: %d", len(got))
	}
}

// FuzzNext: no answer panics, moves backwards, or breaks the profile check.
func FuzzNext(f *testing.F) {
	for _, s := range []string{"", "zoë", "7", "half past", "quarter to", "9-", "-5", "+", "00", "home:", "work is",
		"gym every", "; ;", "for 0 minutes", "and and", "Mondays and", "\x00\x01", "Europe/../etc", "12am-12pm"} {
		f.Add(uint8(0), s)
	}
	f.Fuzz(func(t *testing.T, step uint8, text string) {
		st := State{Step: Step(step % uint8(StepDone+1)), Started: true, Profile: Profile{Name: "A"}, Phone: "+14155550123", Wake: "07:00"}
		out := Next(st, Input{Text: text, Now: testNow, ClientTZ: "UTC"})
		if out.State.Step < st.Step {
			t.Fatalf("step went back: %d -> %d", st.Step, out.State.Step)
		}
		prof, _ := json.Marshal(out.State.Profile)
		if err := profileOK(prof); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.Reply, "4155550123") {
			t.Fatal("phone in reply")
		}
	})
}
