package onboarding

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/flux-companion/flux/agentsvc/timeparse"
	"github.com/flux-companion/flux/agentsvc/yesno"
)

// Step is where the conversation stands: the question last asked.
type Step int

// Steps, in the product's order (docs/product.md).
const (
	StepName Step = iota
	StepWake
	StepBed
	StepWork
	StepChronotype
	StepTimezone
	StepLocations
	StepCommitments
	StepPhone
	StepWhatsApp
	StepFirst
	StepDone
)

// State persists between turns (it is stored as JSON in the conversation's
// agent state).
type State struct {
	Step    Step    `json:"step"`
	Profile Profile `json:"profile"`
	Phone   string  `json:"phone,omitempty"` // E.164, unverified
	Started bool    `json:"started,omitempty"`
	// Wake holds the wake time until the bed time arrives, so Profile never
	// carries a half sleep window (flux.profile_ok needs both ends).
	Wake string `json:"wake,omitempty"`
	// Timezone is the confirmed IANA zone, kept from its step until Done.
	Timezone string `json:"timezone,omitempty"`
}

// Clone is a deep copy of the state.
func (s State) Clone() State {
	p := &s.Profile
	if w := p.SleepWindow; w != nil {
		p.SleepWindow = &Window{w.Start, w.End}
	}
	if w := p.WorkHours; w != nil {
		p.WorkHours = &WorkHours{w.Start, w.End, slices.Clone(w.Days)}
	}
	p.Locations, p.Commitments = maps.Clone(p.Locations), slices.Clone(p.Commitments)
	for i := range p.Commitments {
		p.Commitments[i].Days = slices.Clone(p.Commitments[i].Days)
	}
	if c := p.WhatsAppConsent; c != nil {
		p.WhatsAppConsent = new(*c)
	}
	return s
}

// Profile is users.profile as onboarding fills it; every field satisfies
// flux.profile_ok at every step.
type Profile struct {
	Name        string            `json:"name,omitempty"`
	SleepWindow *Window           `json:"sleep_window,omitempty"` // start = bed time, end = wake time, "HH:MM"
	WorkHours   *WorkHours        `json:"work_hours,omitempty"`   // nil: no fixed work hours
	Chronotype  string            `json:"chronotype,omitempty"`   // morning|evening|neutral
	Locations   map[string]string `json:"locations,omitempty"`    // {"home": "...", "work": "..."} labels only
	Commitments []Commitment      `json:"existing_commitments,omitempty"`
	// WhatsAppConsent is the answer to the WhatsApp question (nil: not asked, as without a
	// phone). Written with the profile, it becomes the opt-in when the number is verified
	// (flux.confirm_phone): the opt-in itself needs a verified phone.
	WhatsAppConsent *bool `json:"whatsapp_consent,omitempty"`
}

// Window is a local time-of-day span; it may cross midnight.
type Window struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// WorkHours is a same-day local window on some weekdays.
type WorkHours struct {
	Start string   `json:"start"`
	End   string   `json:"end"`
	Days  []string `json:"days"` // "Mon".."Sun", Monday first
}

// Commitment is a weekly fixed appointment to plan around.
type Commitment struct {
	Title           string   `json:"title"`
	Days            []string `json:"days"` // "Mon".."Sun", Monday first
	Time            string   `json:"time"` // local "HH:MM"
	DurationMinutes int      `json:"duration_minutes"`
}

// Input of one turn.
type Input struct {
	Text     string    // the user's message ("" for the very first turn is fine)
	Now      time.Time // unused by the parsers (answers are read without a clock); kept for callers and future steps
	ClientTZ string    // the timezone the client reported (users.timezone), IANA
}

// Output of one turn.
type Output struct {
	State    State
	Reply    string // the next question, or the re-ask with a concrete example when the answer did not parse
	Done     bool   // onboarding finished with this turn
	Timezone string // the confirmed IANA timezone, set when Done
	Handoff  string // when Done: the user's answer to "first goal or task", for the normal chat graph ("" if they said "later")
	Field    string // the field the reply asks for, for question metadata ("" when Done)
}

// maxInput bounds one answer; longer text is re-asked rather than parsed.
const maxInput = 4000

type stepInfo struct {
	field   string
	example string // one concrete example, shown when an answer does not parse
}

var steps = map[Step]stepInfo{
	StepName:        {"name", `"Alex"`},
	StepWake:        {"wake", `"6:30am"`},
	StepBed:         {"bed", `"11pm"`},
	StepWork:        {"work_hours", `"9-5 Mon-Fri" (or "none")`},
	StepChronotype:  {"chronotype", `"morning person"`},
	StepTimezone:    {"timezone", `"Europe/Berlin"`},
	StepLocations:   {"locations", `"home is Kreuzberg, work is Mitte" (or "skip")`},
	StepCommitments: {"commitments", `"gym Mondays and Wednesdays at 18:00 for 60 minutes; choir Thursdays 19:30" (or "none")`},
	StepPhone:       {"phone", `"+49 151 23456789" (or "skip")`},
	StepWhatsApp:    {"whatsapp", `"yes"`},
	StepFirst:       {"first", `"I want to run a 5K" (or "later")`},
}

// Next answers one turn: it reads the answer to the current question and
// asks the next one, or asks again. It is deterministic and needs no model,
// clock, database or network.
func Next(st State, in Input) Output {
	if st.Step == StepDone {
		// Repeating a finished turn changes nothing and hands nothing off
		// again, so a retried request cannot create the first task twice.
		return Output{State: st, Done: true, Timezone: st.Timezone}
	}
	if st.Step < StepName || st.Step > StepDone {
		st.Step, st.Started = StepName, false // unknown state: start over rather than guess
	}
	if !st.Started {
		st.Started, st.Step = true, StepName
		return ask(st, in, "Hi, I'm Flux! I turn goals into plans and make sure reminders reach you. "+
			"A few quick questions first, so I can plan around your day.")
	}
	text := clean(in.Text)
	if text == "" {
		return reask(st, in, "I didn't get an answer.")
	}
	if len(in.Text) > maxInput {
		return reask(st, in, "That's longer than I can read here.")
	}
	// Each step reads its answer into the state; a problem asks again with the state as it
	// was (the fields are replaced, never changed in place, so asked keeps them).
	asked := st
	ack, problem := "", ""
	switch st.Step {
	case StepName:
		st.Profile.Name, problem = parseName(text)
	case StepWake:
		st.Wake, problem = parseWake(text)
	case StepBed:
		if st.Wake == "" { // a state saved without it: ask for it again rather than save half a window
			st.Step = StepWake
			return ask(st, in, "")
		}
		var bed string
		if bed, problem = parseBed(text); problem == "" && bed == st.Wake {
			problem = "That's the same as your wake-up time."
		}
		st.Profile.SleepWindow, st.Wake = &Window{Start: bed, End: st.Wake}, ""
	case StepWork:
		st.Profile.WorkHours, problem = parseWork(text)
	case StepChronotype:
		st.Profile.Chronotype, problem = parseChronotype(text)
	case StepTimezone:
		st.Timezone, problem = parseTimezone(text, in.ClientTZ)
	case StepLocations:
		st.Profile.Locations, problem = parseLocations(text)
	case StepCommitments:
		st.Profile.Commitments, problem = parseCommitments(text)
	case StepPhone:
		var skip bool
		st.Phone, skip, problem = parsePhone(text)
		st.Profile.WhatsAppConsent = nil
		switch {
		case skip:
			ack = "No problem, reminders will come as push notifications."
		case problem == "":
			// The code is sent by the app (POST /v1/phone/verification), not by this chat: never claim it went out.
			ack = fmt.Sprintf("Thanks! I've noted your number ending in %s. It still needs verifying: "+
				"the app's phone verification will send you a code for that.", st.Phone[len(st.Phone)-2:])
		}
	case StepWhatsApp:
		yes, ok := yesno.Answer(text)
		st.Profile.WhatsAppConsent = &yes
		switch {
		case !ok:
			problem = "I need a yes or a no."
		case yes:
			ack = "Great, WhatsApp reminders start once your number is verified."
		default:
			ack = "OK, no WhatsApp."
		}
	case StepFirst:
		handoff := strings.TrimSpace(in.Text) // verbatim: the chat graph reads it as a normal message
		if isLater(text) {
			handoff = ""
		}
		st.Step = StepDone
		return Output{State: st, Reply: summary(st, handoff != ""), Done: true, Timezone: st.Timezone, Handoff: handoff}
	}
	if problem != "" {
		return reask(asked, in, problem)
	}
	st.Step++
	if st.Step == StepWhatsApp && st.Phone == "" {
		st.Step++ // WhatsApp needs a number
	}
	return ask(st, in, ack)
}

// ask puts the current step's question after an optional lead-in.
func ask(st State, in Input, lead string) Output {
	q := question(st, in, false)
	if lead != "" {
		q = lead + " " + q
	}
	return Output{State: st, Reply: q, Field: steps[st.Step].field}
}

// reask keeps the step and asks again with one concrete example.
func reask(st State, in Input, problem string) Output {
	return Output{State: st, Field: steps[st.Step].field,
		Reply: problem + " " + question(st, in, true) + " For example: " + steps[st.Step].example + "."}
}

// question is the question of the current step; again drops the
// greeting that only fits the first time it is asked.
func question(st State, in Input, again bool) string {
	name := st.Profile.Name
	if again {
		name = ""
	}
	switch st.Step {
	case StepName:
		return "What should I call you?"
	case StepWake:
		if name != "" {
			return fmt.Sprintf("Nice to meet you, %s! What time do you usually wake up?", name)
		}
		return "What time do you usually wake up?"
	case StepBed:
		return "And what time do you usually go to bed?"
	case StepWork:
		return `What are your usual work hours and days? Say "none" if you don't have fixed hours.`
	case StepChronotype:
		return "Are you a morning person, a night owl, or neither?"
	case StepTimezone:
		if validZone(in.ClientTZ) {
			return fmt.Sprintf("Your device says your timezone is %s. Is that right? If not, tell me yours, like Europe/Berlin.", in.ClientTZ)
		}
		return "Which timezone are you in? Tell me its name, like Europe/Berlin or America/New_York."
	case StepLocations:
		return `What do you call the places you're often at, such as home and work? A short label is enough, ` +
			`like "home is Kreuzberg, work is Mitte". Say "skip" to leave this out.`
	case StepCommitments:
		return "Any regular commitments I should plan around? Give each one days and a time, " +
			`separated by ";". Say "none" if there aren't any.`
	case StepPhone:
		return "What's your mobile number, with country code? It's for WhatsApp and call reminders " +
			`when a notification isn't enough. Say "skip" if you'd rather not.`
	case StepWhatsApp:
		return "May I send reminders on WhatsApp too?"
	case StepFirst:
		if name != "" {
			return fmt.Sprintf(`Last one, %s: what's a first goal or task I can help with? Or say "later".`, name)
		}
		return `Last one: what's a first goal or task I can help with? Or say "later".`
	}
	return ""
}

var chronoWords = map[string]string{"morning": "a morning person", "evening": "a night owl", "neutral": "neither a morning person nor a night owl"}

// summary is the last reply: what was saved and what to try. The phone
// number is masked: replies are stored as messages.
func summary(st State, handoff bool) string {
	p := st.Profile
	var b strings.Builder
	fmt.Fprintf(&b, "All set, %s! Here's what I have:", p.Name)
	if w := p.SleepWindow; w != nil {
		fmt.Fprintf(&b, "\n- Sleep: %s to %s", w.Start, w.End)
	}
	if wh := p.WorkHours; wh != nil {
		fmt.Fprintf(&b, "\n- Work: %s to %s, %s", wh.Start, wh.End, strings.Join(wh.Days, ", "))
	} else {
		b.WriteString("\n- Work: no fixed hours")
	}
	if c, ok := chronoWords[p.Chronotype]; ok {
		fmt.Fprintf(&b, "\n- You're %s", c)
	}
	fmt.Fprintf(&b, "\n- Timezone: %s", st.Timezone)
	if len(p.Locations) > 0 {
		var ls []string
		for _, k := range []string{"home", "work"} {
			if v, ok := p.Locations[k]; ok {
				ls = append(ls, k+": "+v)
			}
		}
		fmt.Fprintf(&b, "\n- Places: %s", strings.Join(ls, "; "))
	}
	if len(p.Commitments) > 0 {
		var cs []string
		for _, c := range p.Commitments {
			cs = append(cs, fmt.Sprintf("%s (%s %s, %d min)", c.Title, strings.Join(c.Days, ", "), c.Time, c.DurationMinutes))
		}
		fmt.Fprintf(&b, "\n- Regular commitments: %s", strings.Join(cs, "; "))
	}
	if st.Phone != "" {
		fmt.Fprintf(&b, "\n- Phone: %s, to be verified", maskPhone(st.Phone))
		if c := p.WhatsAppConsent; c != nil && *c {
			b.WriteString("; WhatsApp reminders after verification")
		}
	}
	if handoff {
		b.WriteString("\n\nNow, to your first one.")
	} else {
		b.WriteString("\n\nWhenever you're ready, tell me a goal like \"I want to run a 5K\" " +
			"or a task like \"remind me to call mom at 5pm\".")
	}
	return b.String()
}

// maxHorizon bounds CommitmentStarts: commitments are seeded for a sprint
// (6 weeks), so a year is plenty and a huge horizon cannot allocate without bound.
const maxHorizon = 366 * 24 * time.Hour

// CommitmentStarts expands a commitment of a finished onboarding into task
// occurrences in [now, now+horizon): weekly on its days at its local time
// in loc, each built with time.Date on its local date so it stays at that
// wall-clock time across DST changes. A date on which the time does not
// exist (it falls in a spring-forward gap) is skipped, as the slot finder
// does, rather than moved. Instants are returned in UTC; an unreadable
// time or no valid day gives nil. A nil loc means UTC.
func (p Profile) CommitmentStarts(c Commitment, now time.Time, loc *time.Location, horizon time.Duration) []time.Time {
	if loc == nil {
		loc = time.UTC
	}
	h, m, ok := timeparse.HHMM(c.Time) // flux.is_hhmm
	if !ok || horizon <= 0 {
		return nil
	}
	horizon = min(horizon, maxHorizon)
	var on [7]bool
	some := false
	for _, d := range c.Days {
		if wd, _, _, ok := timeparse.WeekdayWord(d); ok {
			on[wd], some = true, true
		}
	}
	if !some {
		return nil
	}
	end := now.Add(horizon)
	local := now.In(loc)
	var out []time.Time
	for k := 0; ; k++ {
		// Calendar days are stepped on the date, never by adding 24 hours.
		day := time.Date(local.Year(), local.Month(), local.Day()+k, 12, 0, 0, 0, time.UTC)
		if time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc).After(end) {
			break
		}
		if !on[day.Weekday()] {
			continue
		}
		t := time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, loc)
		if lt := t.In(loc); lt.Hour() != h || lt.Minute() != m {
			continue // in a spring-forward gap
		}
		if !t.Before(now) && t.Before(end) {
			out = append(out, t.UTC())
		}
	}
	return out
}
