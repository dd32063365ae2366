package onboarding

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/flux-companion/flux/agentsvc/timeparse"
)

// words splits an answer into lower-cased words for the clock and day
// readers. "-" is a word of its own so "9-5", "9am-6pm" and "Mon-Fri" read as
// ranges; ":" and "." stay inside words ("6:30", "a.m"); any other mark
// separates.
func words(s string) []string {
	s = strings.NewReplacer("–", "-", "—", "-", "’", "'").Replace(strings.ToLower(s))
	var out []string
	var b strings.Builder
	flush := func() {
		w := strings.Trim(b.String(), ".'")
		if w != "" {
			out = append(out, w)
		}
		b.Reset()
	}
	for _, r := range s {
		switch {
		case r == '-':
			flush()
			out = append(out, "-")
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == ':' || r == '.' || r == '\'':
			b.WriteRune(r)
		default:
			flush()
		}
	}
	flush()
	return out
}

func tok(w []string, i int) string {
	if i >= 0 && i < len(w) {
		return w[i]
	}
	return ""
}

func isAny(s string, set ...string) bool { return slices.Contains(set, s) }

// findClock returns the first time of day anywhere in text.
func findClock(text string) (timeparse.Clock, bool) {
	w := words(text)
	for i := range w {
		if c, n := timeparse.ReadClock(w[i:]); n > 0 {
			return c, true
		}
	}
	return timeparse.Clock{}, false
}

// readDays reads a day phrase at w[i]: a weekday, a range ("Mon-Fri",
// "Monday to Friday"), weekdays, weekends, daily, every day. The days are
// set in set.
func readDays(w []string, i int, set *[7]bool) int {
	t := tok(w, i)
	switch {
	case isAny(t, "weekdays", "weekday"):
		for d := time.Monday; d <= time.Friday; d++ {
			set[d] = true
		}
		return 1
	case isAny(t, "weekends", "weekend"):
		set[time.Saturday], set[time.Sunday] = true, true
		return 1
	case isAny(t, "daily", "everyday"), t == "every" && tok(w, i+1) == "day":
		for d := range set {
			set[d] = true
		}
		if t == "every" {
			return 2
		}
		return 1
	}
	a, _, _, ok := timeparse.WeekdayWord(t)
	if !ok {
		return 0
	}
	if isAny(tok(w, i+1), "-", "to", "through", "thru", "till", "until") {
		if b, _, _, ok := timeparse.WeekdayWord(tok(w, i+2)); ok {
			for d := a; ; d = (d + 1) % 7 {
				set[d] = true
				if d == b {
					break
				}
			}
			return 3
		}
	}
	set[a] = true
	return 1
}

// dayList names the days of set, Monday first: "Mon".."Sun", as profiles store them.
func dayList(set [7]bool) []string {
	var out []string
	for i := range set {
		if d := time.Weekday((i + 1) % 7); set[d] {
			out = append(out, d.String()[:3])
		}
	}
	return out
}

// clean makes user text safe to store and echo: control characters become
// spaces (they would bloat the JSON as \u escapes), runs of space collapse.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// key is the comparison form of a short answer: lower-case, curly
// apostrophes folded, surrounding punctuation and space dropped.
func key(s string) string {
	s = strings.ReplaceAll(strings.ToLower(clean(s)), "’", "'")
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || (unicode.IsPunct(r) && r != '\'') || unicode.IsSymbol(r)
	})
}

// upperFirst capitalises the first letter, whatever its width ("zoë" → "Zoë").
func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToTitle(r)) + s[n:]
}

func runes(s string) int { return utf8.RuneCountInString(s) }

// truncate shortens s to at most n runes for quoting it back.
func truncate(s string, n int) string {
	if runes(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
