// Package reminder is the reminder protocol, in one place for the senders that offer answers and
// the webhooks that read them: the answers (done, snooze, reschedule, missed), their digits,
// words and quick-reply buttons, and the texts and voice script that offer them.
package reminder

import (
	"encoding/xml"
	"fmt"
	"strings"
)

// Answer is a person's answer to a reminder, as flux.record_response takes it.
type Answer string

const (
	Done       Answer = "done"
	Reschedule Answer = "reschedule"
	Missed     Answer = "missed"
	Snooze     Answer = "snooze"
)

// digits are the keys of each answer, on the phone's keypad and in a WhatsApp reply.
var digits = map[Answer]string{Done: "1", Reschedule: "2", Missed: "3", Snooze: "4"}

// words a reply may spell out; the quick-reply buttons' payloads are the answers themselves.
var words = map[string]Answer{
	"1": Done, "done": Done,
	"2": Reschedule, "reschedule": Reschedule,
	"3": Missed, "missed": Missed, "miss": Missed,
	"4": Snooze, "snooze": Snooze,
}

// Parse reads a typed reply or a button's payload or title, case and spaces aside.
func Parse(s string) (Answer, bool) {
	a, ok := words[strings.ToLower(strings.TrimSpace(s))]
	return a, ok
}

// ParseDigit reads one key pressed during a call.
func ParseDigit(d string) (Answer, bool) {
	if len(d) != 1 {
		return "", false
	}
	return Parse(d)
}

// IsOptOut reports whether an inbound WhatsApp message asks to stop WhatsApp reminders.
func IsOptOut(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "stop", "unsubscribe":
		return true
	}
	return false
}

// Offer is what a reminder offers besides done and missed, which it always offers: reschedule
// while a free slot remains today, snooze while the reminder may still be snoozed.
type Offer struct {
	Reschedule bool
	Snooze     bool
}

// Answers are the offered answers in the order they are presented.
func (o Offer) Answers() []Answer {
	as := []Answer{Done}
	if o.Snooze {
		as = append(as, Snooze)
	}
	if o.Reschedule {
		as = append(as, Reschedule)
	}
	return append(as, Missed)
}

// Actions are the push notification's buttons; the app answers with them through the
// respond_to_reminder RPC.
func (o Offer) Actions() []string {
	var as []string
	for _, a := range o.Answers() {
		as = append(as, string(a))
	}
	return as
}

// ReplyHint is the line of a WhatsApp text that says how to answer: "Reply 1 done, 4 snooze,
// 2 reschedule, 3 missed."
func (o Offer) ReplyHint() string {
	parts := make([]string, 0, 4)
	for _, a := range o.Answers() {
		parts = append(parts, digits[a]+" "+string(a))
	}
	return "Reply " + strings.Join(parts, ", ") + "."
}

// WhatsAppText is the free-form reminder, for inside the 24-hour window. due is the local time.
func WhatsAppText(title, due string, o Offer) string {
	return fmt.Sprintf("Flux reminder: %s (due %s). %s", title, due, o.ReplyHint())
}

// TemplateVariables are the Content API variables of the reminder template: {{1}} the task's
// title, {{2}} its local due time. WhatsApp refuses a variable with a newline, a tab or more than
// four spaces in a row (Twilio error 21656), so white space is folded to single spaces; an empty
// one is refused too, so a title of nothing but spaces reads "(untitled)".
func TemplateVariables(title, due string) map[string]string {
	title = strings.Join(strings.Fields(title), " ")
	if title == "" {
		title = "(untitled)"
	}
	return map[string]string{"1": title, "2": due}
}

// Template is the reminder template's text to register with WhatsApp (Content Template
// Builder, type quick reply); the README's deploy section shows it.
const Template = "Flux reminder: {{1}} (due {{2}}). Did you do it?"

// TemplateButtons are the quick-reply buttons of the template: their ids (the payload Twilio
// posts as ButtonPayload) are the answers.
var TemplateButtons = []struct{ ID, Title string }{
	{"done", "Done"}, {"snooze", "Snooze"}, {"reschedule", "Reschedule"}, {"missed", "Missed"},
}

// VoiceTwiML is the call's script: one <Gather numDigits="1"> posting the key to action.
func VoiceTwiML(title, action string, o Offer) string {
	var keys []string
	for _, a := range o.Answers() {
		keys = append(keys, voiceKey(a))
	}
	return `<Response><Gather numDigits="1" timeout="8" method="POST" action="` + xmlEscape(action) + `">` +
		`<Say>This is Flux. Reminder: ` + xmlEscape(title) + `. ` + strings.Join(keys, ", ") + `.</Say>` +
		`</Gather><Say>No answer received. Goodbye.</Say></Response>`
}

func voiceKey(a Answer) string {
	switch a {
	case Done:
		return "Press 1 if it is done"
	case Snooze:
		return "4 to snooze it"
	case Reschedule:
		return "2 to reschedule"
	default:
		return "3 if you missed it"
	}
}

// Confirmation is the reply to a recorded answer.
func Confirmation(a Answer) string {
	switch a {
	case Done:
		return "Marked as done. Nice work!"
	case Missed:
		return "Marked as missed. Tomorrow is another go."
	case Reschedule:
		return "OK, I'll suggest a new time in the Flux chat."
	case Snooze:
		return "Snoozed. I'll remind you again in a few minutes."
	}
	return ""
}

// SnoozeLimit is the reply to a fourth snooze, which is refused.
func SnoozeLimit(o Offer) string {
	o.Snooze = false
	return "This reminder was snoozed 3 times already. " + o.ReplyHint()
}

// Replies to what is not an answer to a waiting reminder.
const (
	NotPending = "That reminder is already settled."
	NoReminder = "There is no reminder waiting for an answer."
	OptedOut   = "You will get no more WhatsApp reminders from Flux. To get them again, turn WhatsApp reminders on in the Flux app."
)

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}
