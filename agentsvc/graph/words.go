package graph

import (
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/flux-companion/flux/agentsvc/timeparse"
	"github.com/flux-companion/flux/agentsvc/yesno"
)

var (
	goalRe = regexp.MustCompile(`(?i)\b(i want to|i'd like to|i would like to|my goal|goal is|help me|i wanna|get better at|learn to|learn|train for|become|improve)\b`)
	remRe  = regexp.MustCompile(`(?i)\b(remind|remnd|remidn|reminde|rmind|remaind|reminder|remider|reminer|don'?t forget|don'?t let me forget|make sure i|help me remember|remember to|note to self)\b`)
)

// isApproval: a short explicit yes. "ok, but make it evenings" is a change request, not an
// approval, and offline there is nobody to negotiate it: the plan stays pending.
func isApproval(text string) bool {
	yes, ok := yesno.Reply(text)
	return ok && yes
}

var goalLead = regexp.MustCompile(`(?i)^\s*(i want to|i'd like to|i would like to|my goal is to|my goal is|help me|i wanna|i want|get better at)\s+`)

// goalTitle turns "I want to run a 5K." into "Run a 5K".
func goalTitle(text string) string {
	t := goalLead.ReplaceAllString(text, "")
	t = strings.TrimRight(strings.TrimSpace(t), ".!?")
	if r := []rune(t); len(r) > 120 {
		t = string(r[:120])
	}
	if t == "" {
		return "My goal"
	}
	return capitalize(t)
}

func lowerFirst(s string) string { return mapFirst(s, unicode.ToLower) }

func capitalize(s string) string { return mapFirst(s, unicode.ToUpper) }

// mapFirst changes the first letter, whatever its length in bytes ("über" → "Über").
func mapFirst(s string, f func(rune) rune) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(f(r)) + s[n:]
}

// dayWords says when a local time is, relative to now: "today", "tomorrow", "on Monday 30 Nov".
func dayWords(t, now time.Time) string {
	ty, tm, td := t.Date()
	ny, nm, nd := now.Date()
	day := time.Date(ty, tm, td, 0, 0, 0, 0, time.UTC)
	today := time.Date(ny, nm, nd, 0, 0, 0, 0, time.UTC)
	switch int(day.Sub(today).Hours() / 24) {
	case 0:
		return "today"
	case 1:
		return "tomorrow"
	}
	return "on " + t.Format("Monday 2 Jan")
}

// dayAt says when an instant is, for a reply: "today at 17:00", "on Monday 30 Nov at 07:00".
func (t *turn) dayAt(at time.Time) string {
	l := at.In(t.loc)
	return dayWords(l, t.in.Now.In(t.loc)) + " at " + l.Format("15:04")
}

// describeRule says an RRULE the way a person would, for the confirmation.
func describeRule(rule string) string {
	parts := map[string]string{}
	for _, kv := range strings.Split(rule, ";") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			parts[k] = v
		}
	}
	switch parts["FREQ"] {
	case "DAILY":
		if parts["INTERVAL"] != "" && parts["INTERVAL"] != "1" {
			return "every " + parts["INTERVAL"] + " days"
		}
		return "every day"
	case "WEEKLY":
		every := "every "
		if n := parts["INTERVAL"]; n == "2" {
			every = "every other "
		} else if n != "" && n != "1" {
			every = "every " + n + " weeks on "
		}
		switch parts["BYDAY"] {
		case "":
			return strings.TrimSuffix(every, " on ") + "week"
		case "MO,TU,WE,TH,FR":
			return every + "weekday"
		case "SA,SU":
			return every + "weekend"
		}
		var names []string
		for _, d := range strings.Split(parts["BYDAY"], ",") {
			wd, _ := timeparse.ByDayWeekday(d)
			names = append(names, wd.String())
		}
		return every + andList(names)
	case "MONTHLY":
		return "every month"
	case "YEARLY":
		return "every year"
	}
	return "repeating"
}
