package graph

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/flux-companion/flux/agentsvc/agentrun"
)

// What the offline path understands beyond reminders: moving, cancelling and looking up the
// user's upcoming tasks, found by their title.

var (
	// politeLead is what people put before a command ("can you move ...").
	politeLead = `^(?:(?:please|pls|plz|can you|could you|would you|can we|could we|let'?s|i need to|i want to|i'd like to|hey|ok|okay)\s+)*`
	moveRe     = regexp.MustCompile(`(?i)` + politeLead + `(?:move|reschedule|resched|re-schedule|push|postpone|shift|bump|delay|change|put off)\s+(.+?)[.!?]*$`)
	cancelRe   = regexp.MustCompile(`(?i)` + politeLead + `(?:cancel|cancle|cancell|delete|remove|drop|scrap|skip|forget about|get rid of|call off)(?:\s+(.+?))?[.!?]*$`)
	// notCancel: "drop off the kids", "drop by the bakery" are errands.
	notCancel = regexp.MustCompile(`(?i)^\s*drop\s+(off|by|in)\b`)
	whenIsRe  = regexp.MustCompile(`(?i)^when(?:'s|s| is| are)\s+(.+?)\s*\??$`)
	agendaRe  = regexp.MustCompile(`(?i)^(?:what(?:'s|s| is| do i have| have i got| am i doing)?|show(?: me)?|list|anything)\b`)
	// shiftRe: "back an hour", "a day later", "by 2 hours".
	shiftRe = regexp.MustCompile(`(?i)^(.+?)\s+(?:(back|forward|ahead)\s+)?(?:by\s+)?(an?|one|two|three|\d+)\s+(minutes?|mins?|hours?|days?|weeks?)(?:\s+(later|earlier|back|forward))?$`)
	// possessiveDay: "Monday's workout" names the workout's day.
	possessiveDay = regexp.MustCompile(`(?i)\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tomorrow|tonight)(?:'s|’s)\s+`)
)

// Words that say nothing about which task is meant.
var filler = map[string]bool{
	"my": true, "the": true, "a": true, "an": true, "our": true, "this": true, "that": true, "with": true,
	"for": true, "to": true, "of": true, "on": true, "at": true, "in": true, "about": true, "please": true,
	"reminder": true, "reminders": true, "appointment": true, "appt": true, "session": true, "task": true,
	"thing": true, "stuff": true, "next": true, "upcoming": true, "event": true, "one": true, "it": true,
}

// lookup is what a message says about a task: the words of its title and maybe its day.
type lookup struct {
	words []string
	day   time.Time // local midnight of the day named; zero when none
}

// readLookup reads "Monday's workout", "my run on saturday", "the gym from thursday".
func (t *turn) readLookup(object string) lookup {
	object = possessiveDay.ReplaceAllString(object, "on $1 ")
	p := t.parse(object)
	var l lookup
	if p.HasDate && !p.At.IsZero() && p.RRule == "" {
		l.day = t.midnight(p.At)
	}
	for _, w := range titleWords(p.Title) {
		if !filler[w] {
			l.words = append(l.words, w)
		}
	}
	return l
}

func titleWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 || r == '\'')
	})
}

// sameWord: "run" is "runs", "running"; "workout" is "workouts"; one typo in a long word.
func sameWord(a, b string) bool {
	if a == b {
		return true
	}
	stem := func(w string) string {
		for _, suf := range []string{"ning", "ing", "es", "s"} {
			if len(w) > len(suf)+2 && strings.HasSuffix(w, suf) {
				return strings.TrimSuffix(w, suf)
			}
		}
		return w
	}
	if stem(a) == stem(b) {
		return true
	}
	return len(a) >= 5 && len(b) >= 5 && editDistance(a, b) <= 1
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// find returns the upcoming tasks the lookup names: every word of it is in the title, on
// the day named if any. Several tasks of one title (a series) are one answer, the next of
// them; several titles are ambiguous and all returned, earliest first.
func (t *turn) find(l lookup) []agentrun.BookedTask {
	if len(l.words) == 0 {
		return nil
	}
	var found []agentrun.BookedTask
	for _, b := range t.in.Calendar {
		onDay := l.day.IsZero() || t.midnight(b.ScheduledAt).Equal(l.day)
		if b.ScheduledAt.After(t.in.Now) && onDay && allIn(l.words, titleWords(b.Title)) {
			found = append(found, b)
		}
	}
	slices.SortStableFunc(found, func(a, b agentrun.BookedTask) int { return a.ScheduledAt.Compare(b.ScheduledAt) })
	// One per title: the next occurrence.
	var out []agentrun.BookedTask
	for _, b := range found {
		if !slices.ContainsFunc(out, func(o agentrun.BookedTask) bool { return strings.EqualFold(o.Title, b.Title) }) {
			out = append(out, b)
		}
	}
	return out
}

func allIn(words, title []string) bool {
	for _, w := range words {
		if !slices.ContainsFunc(title, func(x string) bool { return sameWord(w, x) }) {
			return false
		}
	}
	return true
}

// whichTask settles the lookup to one task, or asks: none found, or several titles.
func (t *turn) whichTask(object, verb string) (agentrun.BookedTask, bool) {
	l := t.readLookup(object)
	found := t.find(l)
	switch len(found) {
	case 1:
		return found[0], true
	case 0:
		what := strings.TrimSpace(object)
		if what == "" {
			t.reply(fmt.Sprintf("Which task should I %s?", verb), "clarify", map[string]any{"kind": "question"})
			return agentrun.BookedTask{}, false
		}
		t.reply(fmt.Sprintf("I cannot find “%s” among your upcoming tasks. Which one should I %s?", what, verb), "clarify",
			map[string]any{"kind": "question"})
		return agentrun.BookedTask{}, false
	}
	var names []string
	for _, b := range found {
		names = append(names, fmt.Sprintf("“%s” (%s)", b.Title, t.dayAt(b.ScheduledAt)))
	}
	t.reply(fmt.Sprintf("Which one should I %s: %s?", verb, strings.Join(names, " or ")), "clarify",
		map[string]any{"kind": "question"})
	return agentrun.BookedTask{}, false
}

// offlineMove answers "move X to Friday 8am": it finds X and proposes the move, which waits
// for a yes. Without a new time it asks for one, offering the next free slot.
func (t *turn) offlineMove(rest string) error {
	object, shift, target := splitMove(rest)
	task, ok := t.whichTask(object, "move")
	if !ok {
		return nil
	}
	var at time.Time
	switch {
	case shift != 0:
		at = task.ScheduledAt.Add(shift)
		if shift%(24*time.Hour) == 0 {
			l := task.ScheduledAt.In(t.loc)
			at = time.Date(l.Year(), l.Month(), l.Day()+int(shift/(24*time.Hour)), l.Hour(), l.Minute(), 0, 0, t.loc)
		}
	case target != "":
		var why string
		if at, why = t.moveTarget(task, target); why != "" {
			t.correct(why + fmt.Sprintf(" Nothing was moved; try e.g. “move %s to Friday at 8am”.", lowerFirst(task.Title)))
			return nil
		}
	default:
		return t.askRescheduleTime(task.ID)
	}
	if at.Before(t.in.Now) {
		t.correct(fmt.Sprintf("%s has already passed, so I cannot move “%s” there.", at.In(t.loc).Format("Monday 2 Jan 15:04"), task.Title))
		return nil
	}
	t.state.PendingTask = nil
	return t.proposeReschedule(task.ID, at)
}

// splitMove cuts "Monday's workout to Friday at 8am" into the task and where it goes:
// at the last " to " (or "till", "until") whose right side reads as a time, or a shift
// ("back an hour", "a day later").
func splitMove(rest string) (object string, shift time.Duration, target string) {
	if m := shiftRe.FindStringSubmatch(rest); m != nil {
		n := map[string]int{"a": 1, "an": 1, "one": 1, "two": 2, "three": 3}[strings.ToLower(m[3])]
		if n == 0 {
			fmt.Sscan(m[3], &n)
		}
		unit := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[strings.ToLower(m[4])[0]]
		d := time.Duration(n) * unit
		if strings.EqualFold(m[5], "earlier") || strings.EqualFold(m[2], "forward") || strings.EqualFold(m[2], "ahead") {
			d = -d
		}
		return m[1], d, ""
	}
	lower := strings.ToLower(rest)
	for _, sep := range []string{" to ", " till ", " until ", " for "} {
		if i := strings.LastIndex(lower, sep); i > 0 {
			return rest[:i], 0, strings.TrimSpace(rest[i+len(sep):])
		}
	}
	return rest, 0, ""
}

// moveTarget reads where a task moves: a day keeps its time of day, a time alone keeps its
// day, "next week" keeps both a week on, a part of day keeps the time when it is in it.
func (t *turn) moveTarget(task agentrun.BookedTask, target string) (time.Time, string) {
	tl := task.ScheduledAt.In(t.loc)
	p := t.parse(target)
	for _, prefix := range []string{"at ", "on "} { // "to 11", "to the 4th"
		if !p.HasDate && !p.HasTime && p.Invalid == "" && !p.NextWeek {
			if q := t.parse(prefix + target); q.HasDate || q.HasTime || q.Invalid != "" {
				p, target = q, prefix+target
			}
		}
	}
	switch {
	case p.Invalid != "":
		return time.Time{}, capitalize(p.Invalid) + "."
	case p.NextWeek:
		return time.Date(tl.Year(), tl.Month(), tl.Day()+7, tl.Hour(), tl.Minute(), 0, 0, t.loc), ""
	case p.RRule != "" || (!p.HasDate && !p.HasTime):
		return time.Time{}, fmt.Sprintf("I could not read “%s” as a day or time to move “%s” to. Try “Friday at 8am” or “tomorrow 18:00”.", target, task.Title)
	case !p.HasDate:
		// A time alone is on the task's own day; an open hour is read for that day.
		p = t.parse("on " + tl.Format(time.DateOnly) + " " + target)
	}
	l := p.At.In(t.loc)
	switch {
	case !p.HasTime, p.PartTime && inPart(tl, p.Part):
		return time.Date(l.Year(), l.Month(), l.Day(), tl.Hour(), tl.Minute(), 0, 0, t.loc), ""
	}
	return p.At, ""
}

// inPart: a time of day within a part of the day, as people use the words.
func inPart(l time.Time, part string) bool {
	h := l.Hour()
	switch part {
	case "morning":
		return h >= 5 && h < 12
	case "afternoon":
		return h >= 13 && h < 18
	case "evening":
		return h >= 18 && h < 23
	}
	return false
}

// offlineCancel answers "cancel the gym tomorrow": it finds the task and asks before
// cancelling it.
func (t *turn) offlineCancel(object string) error {
	task, ok := t.whichTask(object, "cancel")
	if !ok {
		return nil
	}
	t.state.PendingTask, t.state.PendingReschedule = nil, nil
	t.state.PendingCancel = &PendingCancel{TaskID: task.ID, Title: task.Title}
	t.reply(fmt.Sprintf("Cancel “%s” %s? Reply “yes” to cancel it, or “no” to keep it.", task.Title, t.dayAt(task.ScheduledAt)),
		"reschedule",
		map[string]any{"kind": "question", "field": "confirm", "proposal": "cancel", "task_id": task.ID})
	return nil
}

// applyCancel cancels the task the user confirmed.
func (t *turn) applyCancel() error {
	pc := t.state.PendingCancel
	t.state.PendingCancel = nil
	task, ok := t.booked(pc.TaskID)
	if !ok {
		t.reply(fmt.Sprintf("“%s” is no longer open, so nothing was cancelled.", pc.Title), "reschedule", map[string]any{"kind": "notice"})
		return nil
	}
	t.out.Cancels = append(t.out.Cancels, pc.TaskID)
	t.reply(fmt.Sprintf("Done: “%s” %s is cancelled.", pc.Title, t.dayAt(task.ScheduledAt)), "reschedule",
		map[string]any{"kind": "task_cancelled", "task_id": pc.TaskID})
	return nil
}

// agenda answers "what do I have tomorrow?" and "when is my dentist appointment?" from the
// upcoming tasks; ok is false when the message is no such question.
func (t *turn) agenda(text string) bool {
	if m := whenIsRe.FindStringSubmatch(text); m != nil {
		found := t.find(t.readLookup(m[1]))
		if len(found) == 0 {
			return false
		}
		var lines []string
		for _, b := range found {
			lines = append(lines, fmt.Sprintf("“%s” is %s.", b.Title, t.dayAt(b.ScheduledAt)))
		}
		t.reply(strings.Join(lines, " "), "agenda", map[string]any{"kind": "agenda", "tasks": len(found)})
		return true
	}
	if !agendaRe.MatchString(text) {
		return false
	}
	p := t.parse(text)
	if !p.HasDate || p.RRule != "" || p.At.IsZero() {
		return false
	}
	day := p.At.In(t.loc)
	var lines []string
	for _, b := range t.in.Calendar {
		l := b.ScheduledAt.In(t.loc)
		if b.ScheduledAt.After(t.in.Now) && l.YearDay() == day.YearDay() && l.Year() == day.Year() {
			lines = append(lines, fmt.Sprintf("%s %s", l.Format("15:04"), b.Title))
		}
	}
	slices.Sort(lines)
	when := dayWords(day, t.in.Now.In(t.loc))
	msg := fmt.Sprintf("Nothing is planned %s.", when)
	if len(lines) > 0 {
		msg = fmt.Sprintf("%s you have: %s.", capitalize(when), strings.Join(lines, ", "))
	}
	t.reply(msg, "agenda", map[string]any{"kind": "agenda", "tasks": len(lines)})
	return true
}

// correct tells the user why nothing was written, and how to say it instead.
func (t *turn) correct(why string) {
	t.reply(why, "clarify", map[string]any{"kind": "correction"})
}
