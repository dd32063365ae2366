package onboarding

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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

func isAny(s string, set ...string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

// clock is a time of day as read. ambiguous: a bare 1..12 with no am/pm,
// whose reading each step settles by its own default.
type clock struct {
	h, m      int
	ambiguous bool
}

func (c clock) String() string { return hhmm(c.h, c.m) }

func hhmm(h, m int) string { return fmt.Sprintf("%02d:%02d", h, m) }

var (
	clockRe = regexp.MustCompile(`^(\d{1,2})(?:[:.](\d{2}))?(am|pm|a\.m|p\.m)?$`)
	hhmmRe  = regexp.MustCompile(`^([01]\d|2[0-3])([0-5]\d)$`) // "0630", "1730"
)

var hourWords = map[string]int{
	"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
	"eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}

var minuteWords = map[string]int{"fifteen": 15, "thirty": 30, "forty-five": 45, "fortyfive": 45}

// Words after a bare number that make it an amount, not a time ("8 hours",
// "5 days a week").
var unitWords = map[string]bool{
	"hour": true, "hours": true, "hr": true, "hrs": true, "h": true, "minute": true, "minutes": true,
	"min": true, "mins": true, "day": true, "days": true, "week": true, "weeks": true, "times": true,
	"people": true, "km": true, "miles": true, "k": true,
}

// readClock reads a time of day at w[i]: "7", "7am", "7 pm", "6:30", "06:30",
// "6.30", "0630", "seven", "half past six", "quarter to seven", "six thirty",
// "five o'clock", "noon", "midnight", optionally followed by "in the
// morning|afternoon|evening" or "at night". It returns the words consumed.
func readClock(w []string, i int) (clock, int) {
	switch tok(w, i) {
	case "noon", "midday":
		return clock{h: 12}, 1
	case "midnight":
		return clock{h: 0}, 1
	}
	j := i
	h, m := -1, 0
	lead0, hasMin, mer := false, false, ""
	rel := 0 // minutes to add for "half past" (30), "quarter past" (15), "quarter to" (-15)
	switch {
	case tok(w, j) == "half" && tok(w, j+1) == "past":
		rel, j = 30, j+2
	case tok(w, j) == "quarter" && tok(w, j+1) == "past":
		rel, j = 15, j+2
	case tok(w, j) == "quarter" && tok(w, j+1) == "to":
		rel, j = -15, j+2
	}
	t := tok(w, j)
	if n, ok := hourWords[t]; ok {
		h = n
	} else if g := clockRe.FindStringSubmatch(t); g != nil {
		h, _ = strconv.Atoi(g[1])
		lead0 = len(g[1]) == 2 && g[1][0] == '0'
		if g[2] != "" {
			m, _ = strconv.Atoi(g[2])
			hasMin = true
		}
		mer = g[3]
	} else if g := hhmmRe.FindStringSubmatch(t); g != nil && rel == 0 {
		h, _ = strconv.Atoi(g[1])
		m, _ = strconv.Atoi(g[2])
		return clock{h: h, m: m}, j + 1 - i
	} else {
		return clock{}, 0
	}
	j++
	if rel != 0 && (hasMin || h < 1 || h > 12) {
		return clock{}, 0
	}
	// "six thirty", "six-thirty", "five o'clock"
	if rel == 0 && !hasMin && mer == "" {
		if mm, ok := minuteWords[tok(w, j)]; ok {
			m, hasMin, j = mm, true, j+1
		} else if tok(w, j) == "-" {
			if mm, ok := minuteWords[tok(w, j+1)]; ok {
				m, hasMin, j = mm, true, j+2
			}
		} else if tok(w, j) == "forty" && tok(w, j+1) == "five" {
			m, hasMin, j = 45, true, j+2
		}
		if isAny(tok(w, j), "o'clock", "oclock") {
			j++
		}
	}
	if mer == "" {
		switch {
		case isAny(tok(w, j), "am", "a.m"):
			mer, j = "am", j+1
		case isAny(tok(w, j), "pm", "p.m"):
			mer, j = "pm", j+1
		}
	}
	if mer == "" && j == i+1 && unitWords[tok(w, j)] {
		return clock{}, 0 // "8 hours": an amount
	}
	switch {
	case tok(w, j) == "in" && tok(w, j+1) == "the" && isAny(tok(w, j+2), "morning"):
		if mer == "" {
			mer = "am"
		}
		j += 3
	case tok(w, j) == "in" && tok(w, j+1) == "the" && isAny(tok(w, j+2), "afternoon", "evening", "night"),
		tok(w, j) == "at" && tok(w, j+1) == "night":
		if mer == "" {
			mer = "pm"
		}
		if tok(w, j) == "at" {
			j += 2
		} else {
			j += 3
		}
	}
	if m > 59 {
		return clock{}, 0
	}
	var c clock
	switch {
	case mer != "":
		if h < 1 || h > 12 {
			return clock{}, 0
		}
		c = clock{h: h % 12, m: m}
		if mer[0] == 'p' {
			c.h += 12
		}
	case h == 24 && m == 0:
		c = clock{h: 0}
	case h > 23:
		return clock{}, 0
	default:
		// "07" and "19:00" are written the 24-hour way; "7" and "7:30" are open.
		c = clock{h: h, m: m, ambiguous: h >= 1 && h <= 12 && !lead0}
	}
	if rel != 0 {
		mins := (c.h*60 + rel + 24*60) % (24 * 60) // quarter to seven = 6:45
		c.h, c.m = mins/60, mins%60
		if c.ambiguous && c.h == 0 {
			c.h = 12 // "quarter to one" is 12:45 or 00:45: still open, like 12
		}
	}
	return c, j - i
}

// findClock returns the first time of day anywhere in text.
func findClock(text string) (clock, bool) {
	w := words(text)
	for i := range w {
		if c, n := readClock(w, i); n > 0 {
			return c, true
		}
	}
	return clock{}, false
}

// Weekdays, Monday first: the order profile day lists use.
var dayCodes = [7]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

func dayIndex(wd time.Weekday) int { return (int(wd) + 6) % 7 }

var fullDays = map[string]int{
	"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
}

var abbrevDays = map[string]int{
	"mon": 0, "tue": 1, "tues": 1, "wed": 2, "weds": 2, "thu": 3, "thur": 3, "thurs": 3,
	"fri": 4, "sat": 5, "sun": 6,
}

// weekday reads "monday", "mondays" or "mon" (d is Monday first). full
// reports a full name or plural, the only forms safe to read outside a day
// list ("sun", "sat" and "wed" are also ordinary words).
func weekday(s string) (d int, full, plural, ok bool) {
	if d, ok := fullDays[s]; ok {
		return d, true, false, true
	}
	if base, cut := strings.CutSuffix(s, "s"); cut {
		if d, ok := fullDays[base]; ok {
			return d, true, true, true
		}
	}
	if d, ok := abbrevDays[s]; ok {
		return d, false, false, true
	}
	return 0, false, false, false
}

// readDays reads a day phrase at w[i]: a weekday, a range ("Mon-Fri",
// "Monday to Friday"), weekdays, weekends, daily, every day. The days are
// set in set (indexed Monday first).
func readDays(w []string, i int, set *[7]bool) int {
	t := tok(w, i)
	switch {
	case isAny(t, "weekdays", "weekday"):
		for d := 0; d < 5; d++ {
			set[d] = true
		}
		return 1
	case isAny(t, "weekends", "weekend"):
		set[5], set[6] = true, true
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
	a, _, _, ok := weekday(t)
	if !ok {
		return 0
	}
	if isAny(tok(w, i+1), "-", "to", "through", "thru", "till", "until") {
		if b, _, _, ok := weekday(tok(w, i+2)); ok {
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

func dayList(set [7]bool) []string {
	var out []string
	for d, on := range set {
		if on {
			out = append(out, dayCodes[d])
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
