package onboarding

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/flux-companion/flux/agentsvc/plan"
	"github.com/flux-companion/flux/agentsvc/timeparse"
	"github.com/flux-companion/flux/agentsvc/yesno"
)

// Each parser returns the value and, when the answer cannot be used, a short
// sentence saying why; Next puts the question and an example after it.

const maxLabel = 100 // runes, for the name and each location label (flux.profile_ok allows 100 for the name)

// ---- name ----

// Lead-ins removed from a name answer, as word sequences. Greetings come
// first because people write "hi, I'm Zoë".
var namePrefixes = [][]string{
	{"hi", "there"}, {"hello", "there"}, {"hey", "there"}, {"hi"}, {"hello"}, {"hey"}, {"hiya"},
	{"my", "name", "is"}, {"my", "name's"}, {"name's"}, {"the", "name's"}, {"name", "is"},
	{"you", "can", "call", "me"}, {"please", "call", "me"}, {"just", "call", "me"}, {"call", "me"},
	{"they", "call", "me"}, {"i", "am"}, {"i'm"}, {"im"}, {"it", "is"}, {"it's"}, {"its"},
	{"this", "is"},
}

func parseName(text string) (string, string) {
	f := strings.Fields(clean(text))
	for changed := true; changed; {
		changed = false
		for _, p := range namePrefixes {
			if len(f) >= len(p) && wordsAre(f[:len(p)], p) {
				f, changed = f[len(p):], true
				break
			}
		}
	}
	if len(f) > 1 && key(f[len(f)-1]) == "here" { // "Zoë here"
		f = f[:len(f)-1]
	}
	name := strings.TrimFunc(strings.Join(f, " "), func(r rune) bool {
		return unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
	})
	if !strings.ContainsFunc(name, unicode.IsLetter) {
		return "", "I didn't catch your name."
	}
	if runes(name) > maxLabel {
		return "", fmt.Sprintf("That's longer than the %d characters I can keep for a name.", maxLabel)
	}
	return upperFirst(name), ""
}

func wordsAre(f, p []string) bool {
	for i := range p {
		if key(f[i]) != p[i] {
			return false
		}
	}
	return true
}

// ---- wake and bed times ----

// parseWake reads a wake-up time; a bare hour is morning ("7" = 07:00,
// "12" = noon).
func parseWake(text string) (string, string) {
	c, ok := readTime(text)
	if !ok {
		return "", "I didn't catch a time there."
	}
	return c.String(), ""
}

// parseBed reads a bed time; a bare hour 7..11 is evening, 12 is midnight
// and 1..6 is after midnight ("1" = 01:00, for late sleepers and shift
// workers: a 5pm bed time is rarer than a 5am one).
func parseBed(text string) (string, string) {
	c, ok := readTime(text)
	switch {
	case !ok:
		return "", "I didn't catch a time there."
	case c.Open && c.Hour == 12:
		c.Hour = 0
	case c.Open && c.Hour >= 7:
		c.Hour += 12
	}
	return c.String(), ""
}

// Fixed reference instants for the timeparse fallback: the same answer
// always gives the same clock.
var (
	refMidnight = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	refNoon     = time.Date(2001, 1, 1, 12, 30, 0, 0, time.UTC)
)

// readTime finds a time of day in an answer. timeparse.ReadClock reads the
// answer's words as a time alone, bare numbers ("7") included, which a
// sentence needs "at" for; timeparse.Parse catches the rest of its grammar
// ("tonight at 11"). Parsing at two reference times tells an open hour
// (07:00 vs 19:00) from a settled one.
func readTime(text string) (timeparse.Clock, bool) {
	if c, ok := findClock(text); ok {
		return c, true
	}
	a := timeparse.Parse(text, refMidnight, time.UTC)
	b := timeparse.Parse(text, refNoon, time.UTC)
	if !a.HasTime || a.HasDate || a.RRule != "" {
		return timeparse.Clock{}, false
	}
	ca := timeparse.Clock{Hour: a.At.Hour(), Min: a.At.Minute()}
	cb := timeparse.Clock{Hour: b.At.Hour(), Min: b.At.Minute()}
	switch {
	case ca == cb:
		return ca, true
	case cb.Hour == ca.Hour+12 && cb.Min == ca.Min && ca.Hour >= 1:
		ca.Open = true
		return ca, true
	}
	return timeparse.Clock{}, false
}

// ---- work hours ----

// parseWork reads "9-5", "9am-6pm Mon-Fri", "weekdays 8:30 to 16:30". A nil
// result with no problem means no fixed work hours. Overnight shifts are
// refused: the profile's work hours are a same-day window.
func parseWork(text string) (*WorkHours, string) {
	w := words(text)
	var days [7]bool
	var clocks []timeparse.Clock
	for i := 0; i < len(w); {
		if n := readDays(w, i, &days); n > 0 {
			i += n
			continue
		}
		c, n := timeparse.ReadClock(w[i:])
		if first, k := timeparse.ReadClock(w[i : i+1]); k > 0 && n > 1 && tok(w, i+1) == "to" {
			c, n = first, 1 // "ten to five": at work, from ten to five rather than 16:50
		}
		if n > 0 {
			clocks = append(clocks, c)
			i += n
			continue
		}
		i++
	}
	if len(clocks) == 0 && noWork(text) {
		return nil, ""
	}
	if len(clocks) != 2 {
		return nil, "I need a start and an end time."
	}
	start, end := workStart(clocks[0], clocks[1]), clocks[1]
	if end.Open { // the first reading after the start: "9-5" ends at 17:00
		end.Open = false
		if minutes(end) <= minutes(start) {
			end.Hour += 12
		}
	}
	if end.Hour >= 24 || minutes(end) <= minutes(start) {
		return nil, "The end has to be after the start on the same day."
	}
	wh := &WorkHours{Start: start.String(), End: end.String(), Days: dayList(days)}
	if len(wh.Days) == 0 {
		wh.Days = []string{"Mon", "Tue", "Wed", "Thu", "Fri"}
	}
	return wh, ""
}

// workStart settles an open start hour: the latest reading before an exact
// end ("3-11pm" starts 15:00), else morning for 6..12 and afternoon for
// 1..5 (work rarely starts at 2am; "2-10" is 14:00-22:00).
func workStart(start, end timeparse.Clock) timeparse.Clock {
	if !start.Open {
		return start
	}
	start.Open = false
	if !end.Open {
		if pm := start.Hour + 12; pm < 24 && pm*60+start.Min < minutes(end) && start.Hour != 12 {
			start.Hour = pm
		}
		return start
	}
	if start.Hour >= 1 && start.Hour <= 5 {
		start.Hour += 12
	}
	return start
}

func minutes(c timeparse.Clock) int { return c.Hour*60 + c.Min }

var noWorkRe = regexp.MustCompile(`(?i)\b(don'?t work|do not work|not working|no work|no job|retired|unemployed|between jobs|no fixed|no set|no regular|not employed|student|stay at home|stay-at-home)\b`)

func noWork(text string) bool {
	return isNone(text) || noWorkRe.MatchString(strings.ReplaceAll(text, "’", "'"))
}

// isNone: a whole answer that declines ("none", "no", "skip").
func isNone(text string) bool {
	return isAny(key(text), "none", "no", "nope", "nah", "n/a", "na", "nothing", "skip", "no thanks",
		"no thank you", "not really", "none really", "nothing regular", "i don't", "i dont", "no commitments",
		"not now", "pass", "-")
}

// ---- chronotype ----

var (
	morningRe = regexp.MustCompile(`(?i)\b(morning|early bird|early riser|lark|early)\b`)
	eveningRe = regexp.MustCompile(`(?i)\b(night owl|owl|evening|night|late)\b`)
	neutralRe = regexp.MustCompile(`(?i)\b(neither|both|neutral|in between|in-between|don'?t know|not sure|no idea|idk|depends|somewhere|either|mixed|average|no preference)\b`)
	negRe     = regexp.MustCompile(`(?i)\b(not|never|no|isn'?t|aren'?t|don'?t|definitely not)\s+(?:(?:a|an|really|much|of|at|all)\s+){0,3}$`)
)

// parseChronotype reads morning|evening|neutral. "not a morning person"
// counts for the other side; naming both sides is neutral.
func parseChronotype(text string) (string, string) {
	t := strings.ReplaceAll(text, "’", "'")
	if neutralRe.MatchString(t) {
		return "neutral", ""
	}
	morning, evening := false, false
	vote := func(re *regexp.Regexp, self, other *bool) {
		for _, loc := range re.FindAllStringIndex(t, -1) {
			if negRe.MatchString(t[:loc[0]]) {
				*other = true
			} else {
				*self = true
			}
		}
	}
	vote(morningRe, &morning, &evening)
	vote(eveningRe, &evening, &morning)
	switch {
	case morning && evening:
		return "neutral", ""
	case morning:
		return "morning", ""
	case evening:
		return "evening", ""
	}
	return "", "I didn't catch that."
}

// ---- timezone ----

var zoneRe = regexp.MustCompile(`[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)+|\b(?i:utc)\b`)

// validZone accepts IANA names that time.LoadLocation knows. "Local" and ""
// are refused (they mean the server's zone, not the user's).
func validZone(name string) bool {
	if name == "" || name == "Local" || len(name) > 64 {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

// parseTimezone: an IANA name anywhere in the answer wins; otherwise a yes
// confirms the client's zone (when it is valid).
func parseTimezone(text, clientTZ string) (string, string) {
	for _, cand := range zoneRe.FindAllString(text, -1) {
		for _, name := range []string{cand, canonicalZone(cand)} {
			if validZone(name) {
				return name, ""
			}
		}
	}
	if validZone(clientTZ) {
		if yes, ok := yesno.Answer(text); ok && yes {
			return clientTZ, ""
		}
		if zoneRe.MatchString(text) {
			return "", "I don't know that timezone."
		}
		return "", "I need a yes, or the name of your timezone."
	}
	return "", "I need the name of your timezone."
}

// canonicalZone fixes the case of a typed zone name: "america/new_york" →
// "America/New_York", "utc" → "UTC". Zone files are case-sensitive.
func canonicalZone(s string) string {
	if strings.EqualFold(s, "utc") {
		return "UTC"
	}
	b := []rune(strings.ToLower(s))
	for i := range b {
		if i == 0 || b[i-1] == '/' || b[i-1] == '_' {
			b[i] = unicode.ToUpper(b[i])
		}
	}
	return string(b)
}

// ---- locations ----

// Words left dangling before the next label: "home is X and my work is Y".
var trailingFillerRe = regexp.MustCompile(`(?i)(?:[\s,.;:!&]+|\s+(?:and|my|i|the|but|while)\b)+$`)

var locRe = regexp.MustCompile(`(?i)\b(home|work|office)\b(?:\s*[:=]\s*|\s+-\s+|\s+is\s+(?:at\s+|in\s+|near\s+|on\s+)?|\s+(?:at|in|near)\s+)`)

// parseLocations reads "home is X, work is Y" and "home: X; work: Y". The
// values are labels the user chose; nothing is geocoded. A value runs to the
// next label or ";"/newline, so "home: 12 Main St, Springfield" keeps its comma.
func parseLocations(text string) (map[string]string, string) {
	if isNone(text) || isAny(key(text), "skip it", "skip this", "later", "no thanks") {
		return nil, ""
	}
	ms := locRe.FindAllStringSubmatchIndex(text, -1)
	if len(ms) == 0 {
		return nil, "I didn't see a home or work label."
	}
	out := map[string]string{}
	for i, m := range ms {
		end := len(text)
		if i+1 < len(ms) {
			end = ms[i+1][0]
		}
		v := text[m[1]:end]
		if k := strings.IndexAny(v, ";\n"); k >= 0 {
			v = v[:k]
		}
		v = trailingFillerRe.ReplaceAllString(clean(v), "")
		name := strings.ToLower(text[m[2]:m[3]])
		if name == "office" {
			name = "work"
		}
		if v == "" {
			continue
		}
		if runes(v) > maxLabel {
			return nil, fmt.Sprintf("A short name of up to %d characters is enough for %s.", maxLabel, name)
		}
		if _, dup := out[name]; !dup {
			out[name] = v
		}
	}
	if len(out) == 0 {
		return nil, "I didn't see a name after home or work."
	}
	return out, ""
}

// ---- phone ----

var phoneRe = regexp.MustCompile(`(?:\+|\b00)\s*\(?\d[\d\s\-().]*\d`)

// parsePhone reads an E.164 number: + and 8..15 digits after removing
// spaces, dashes, dots and brackets; a leading 00 counts as +. skip is true
// when the user declines.
func parsePhone(text string) (phone string, skip bool, problem string) {
	if isNone(text) || isAny(key(text), "later", "skip for now", "maybe later", "not now", "rather not",
		"i'd rather not", "no phone", "no thanks") {
		return "", true, ""
	}
	m := phoneRe.FindString(text)
	if m == "" {
		if len(strings.Map(keepDigits, text)) >= 7 {
			return "", false, "I need the country code too, starting with +."
		}
		return "", false, "I didn't see a phone number."
	}
	digits := strings.Map(keepDigits, m)
	if strings.HasPrefix(strings.TrimSpace(m), "00") {
		digits = digits[2:]
	}
	if len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return "", false, "That doesn't look like a full international number."
	}
	return "+" + digits, false, ""
}

func keepDigits(r rune) rune {
	if r >= '0' && r <= '9' {
		return r
	}
	return -1
}

// maskPhone keeps the last two digits: replies never echo a full number.
func maskPhone(p string) string {
	if len(p) < 3 {
		return "••"
	}
	return "+" + strings.Repeat("•", len(p)-3) + p[len(p)-2:]
}

// ---- commitments ----

const (
	maxCommitments  = 10
	maxPieces       = 8 * maxCommitments // separators in one commitments answer
	defaultDuration = 60
	minDuration     = 5
	maxDuration     = 600
)

// Separators between commitments. ";" and line breaks always separate;
// ",", "and", "&" and "plus" may also join days inside one commitment
// ("Monday and Wednesday"), so splitPieces decides.
var trailingSepRe = regexp.MustCompile(`(?i)(?:\s*,|\s+(?:and|&|plus))+\s*$`)

var sepRe = regexp.MustCompile(`(?i)\s*[;\n\r]+\s*|,\s+|\s+(?:and|&|plus)\s+`)

// parseCommitments reads a list such as "gym every Monday and Wednesday at
// 18:00 for 60 minutes; choir Thursdays 19:30".
func parseCommitments(text string) ([]Commitment, string) {
	if isNone(text) {
		return nil, ""
	}
	items, ok := splitCommitments(text)
	if len(items) == 0 && ok {
		return nil, "I didn't catch any commitments."
	}
	if !ok || len(items) > maxCommitments {
		return nil, fmt.Sprintf("That's more than %d; list the %d that matter most.", maxCommitments, maxCommitments)
	}
	out := make([]Commitment, 0, len(items))
	for _, it := range items {
		c, problem := parseCommitment(it)
		if problem != "" {
			return nil, fmt.Sprintf("I couldn't read %q: %s", truncate(it, 60), problem)
		}
		out = append(out, c)
	}
	return out, ""
}

// splitCommitments cuts the answer into items. A piece after a soft
// separator joins the item before it when it starts with a day or time word
// ("... Monday and Wednesday at 18:00"), or when the item before it is not a
// whole commitment yet ("lunch with mom and dad on Sundays at 12");
// otherwise it starts a new item ("choir Thursdays 19:30 and gym Mondays at 7").
// ok is false for more pieces than ten commitments plausibly have: deciding
// each join re-parses the item so far, so the work grows with their square.
func splitCommitments(text string) (items []string, ok bool) {
	cur := ""
	flush := func() {
		if s := trailingSepRe.ReplaceAllString(clean(cur), ""); s != "" {
			items = append(items, s)
		}
		cur = ""
	}
	last := 0
	seps := sepRe.FindAllStringIndex(text, -1)
	if len(seps) > maxPieces {
		return nil, false
	}
	seps = append(seps, []int{len(text), len(text)})
	for _, s := range seps {
		piece := text[last:s[0]]
		sep := text[s[0]:s[1]]
		last = s[1]
		if clean(piece) == "" {
			if strings.ContainsAny(sep, ";\n\r") {
				flush()
			}
			continue
		}
		if cur != "" && !continues(piece) {
			if _, problem := parseCommitment(clean(cur)); problem == "" {
				flush()
			}
		}
		cur += piece
		if strings.ContainsAny(sep, ";\n\r") {
			flush()
		} else {
			cur += sep
		}
	}
	flush()
	return items, true
}

// continues: a piece that can only be part of the item before it.
func continues(piece string) bool {
	w := words(piece)
	if len(w) == 0 {
		return true
	}
	if _, _, _, ok := timeparse.WeekdayWord(w[0]); ok {
		return true
	}
	if w[0] == "half" || w[0] == "a" && tok(w, 1) == "half" {
		return true // "for an hour and a half"
	}
	if rest, _, _ := cutDuration(piece); strings.TrimSpace(rest) == "" {
		return true // "for 1 hour and 30 minutes"
	}
	return isAny(w[0], "on", "at", "every", "each", "from", "to", "until", "till", "for", "in", "the",
		"weekdays", "weekends", "weekday", "weekend", "daily", "weekly", "am", "pm", "noon", "midnight",
		"morning", "mornings", "evening", "evenings", "afternoon", "afternoons", "night", "nights", "-")
}

var (
	durRe    = regexp.MustCompile(`(?i)\b(?:for\s+)?(?:(?P<num>\d{1,3}(?:\.\d{1,2})?)\s*(?P<nunit>minutes?|mins?|m|hours?|hrs?|h)|(?P<word>an?|one|two|three|four|five|six|seven|eight|nine|ten|half\s+an?)\s+(?P<wunit>minutes?|mins?|hours?|hrs?))(?:\s+and\s+(?:(?P<half>a\s+half)|(?P<extra>\d{1,2})\s*(?:minutes?|mins?|m)))?\b`)
	durWords = map[string]float64{"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
		"six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
)

// parseCommitment reads one commitment. The clock comes from parsing in
// UTC, where no DST change can move it: only the wall-clock time and the
// days are kept.
func parseCommitment(item string) (Commitment, string) {
	text, dur, problem := cutDuration(item)
	if problem != "" {
		return Commitment{}, problem
	}
	text = everyDays(text)
	r := timeparse.Parse(text, refMidnight, time.UTC)
	if !r.HasTime {
		return Commitment{}, "it needs a time, like 18:00."
	}
	days, problem := commitmentDays(r)
	if problem != "" {
		return Commitment{}, problem
	}
	title := clean(r.Title)
	if title == "" {
		return Commitment{}, "it needs a name, like gym."
	}
	if leftoverTime(title) {
		return Commitment{}, "it has more than one time; give each its own line."
	}
	if runes(title) > maxLabel {
		return Commitment{}, fmt.Sprintf("the name is longer than %d characters.", maxLabel)
	}
	return Commitment{Title: title, Days: days, Time: r.At.UTC().Format("15:04"), DurationMinutes: dur}, ""
}

// cutDuration removes "for 60 minutes", "for 1.5 hours", "for an hour and a
// half", "90m" from the item and returns the minutes (default 60). A number
// glued to a clock ("19:30 hours") is not a duration.
func cutDuration(item string) (string, int, string) {
	for _, m := range durRe.FindAllStringSubmatchIndex(item, -1) {
		if m[0] > 0 && strings.ContainsRune(":.0123456789", rune(item[m[0]-1])) {
			continue
		}
		group := func(name string) string {
			k := durRe.SubexpIndex(name)
			if m[2*k] < 0 {
				return ""
			}
			return strings.ToLower(strings.Join(strings.Fields(item[m[2*k]:m[2*k+1]]), " "))
		}
		var n float64
		unit := group("nunit")
		if unit != "" {
			n, _ = strconv.ParseFloat(group("num"), 64)
		} else {
			unit = group("wunit")
			if w := group("word"); strings.HasPrefix(w, "half") {
				n = 0.5
			} else {
				n = durWords[w]
			}
		}
		mins := n
		if unit[0] == 'h' {
			mins = n * 60
			if group("half") != "" {
				mins += 30
			}
		}
		if x := group("extra"); x != "" {
			e, _ := strconv.Atoi(x)
			mins += float64(e)
		}
		d := int(math.Round(mins))
		if d < minDuration || d > maxDuration {
			return "", 0, fmt.Sprintf("a commitment can last %d minutes to %d hours.", minDuration, maxDuration/60)
		}
		return item[:m[0]] + " " + item[m[1]:], d, ""
	}
	return item, defaultDuration, ""
}

// everyDays makes weekdays recurring: in a list of regular commitments
// "gym Monday and Wednesday at 7" means every Monday and Wednesday, but
// timeparse reads a bare "Monday" as next Monday only (and stops at the
// first day). "on Monday" becomes "every Monday"; days inside a list and
// plurals ("Mondays", already recurring) are left alone.
func everyDays(item string) string {
	type span struct{ start, end int }
	var toks []span
	var lows []string
	for _, loc := range wordRe.FindAllStringIndex(item, -1) {
		toks = append(toks, span{loc[0], loc[1]})
		lows = append(lows, strings.Trim(strings.ToLower(strings.ReplaceAll(item[loc[0]:loc[1]], "’", "'")), ".'"))
	}
	isDay := func(i int) bool {
		if i < 0 {
			return false
		}
		if _, _, abbrev, ok := timeparse.WeekdayWord(lows[i]); ok && !abbrev {
			return true
		}
		if a, b, ok := strings.Cut(lows[i], "-"); ok { // "mon-fri"
			_, _, _, okA := timeparse.WeekdayWord(a)
			_, _, _, okB := timeparse.WeekdayWord(b)
			return okA && okB
		}
		return false
	}
	plural := func(i int) bool {
		_, p, _, _ := timeparse.WeekdayWord(lows[i])
		return p
	}
	var b strings.Builder
	last := 0
	for i := range toks {
		if !isDay(i) || plural(i) {
			continue // not a day, or a plural (already every such day)
		}
		prev := ""
		if i > 0 {
			prev = lows[i-1]
		}
		if isDay(i-1) || isAny(prev, "every", "each", "next", "this", "starting", "from") ||
			isAny(prev, "and", "&", "to", "through", "thru", "-", "or") && isDay(i-2) {
			continue
		}
		at := toks[i].start
		if prev == "on" {
			at = toks[i-1].start // "on Monday" becomes "every Monday"
		}
		b.WriteString(item[last:at])
		b.WriteString("every ")
		last = toks[i].start
	}
	b.WriteString(item[last:])
	return b.String()
}

var wordRe = regexp.MustCompile(`[\p{L}\p{N}\p{M}'’:.\-&]+`)

// commitmentDays turns the parsed recurrence into weekday codes: the days of a
// rule that repeats every week on fixed days (plan.WeeklyDays: BYDAY, or every
// day for a plain daily rule), or the weekday a one-off names. Fortnightly,
// monthly and yearly rules are refused: a commitment repeats weekly on its days.
func commitmentDays(r timeparse.Result) ([]string, string) {
	var set [7]bool
	if r.RRule == "" {
		for _, w := range words(r.Matched) {
			if _, _, abbrev, ok := timeparse.WeekdayWord(w); ok && !abbrev {
				set[r.At.Weekday()] = true
				return dayList(set), ""
			}
		}
		return nil, "it needs the days, like every Monday."
	}
	days, ok := plan.WeeklyDays(r.RRule)
	for _, d := range days {
		set[d] = true
	}
	if list := dayList(set); ok && len(list) > 0 {
		return list, ""
	}
	return nil, "I can only keep weekly or daily commitments."
}

// leftoverTime reports a second day or time that timeparse left in the
// title ("gym every Monday at 7 and every Wednesday at 8"): saving it would
// silently drop half of what the user said. A number alone ("7", "seven")
// may be a count ("read 7 pages"): it counts as a time after "at".
func leftoverTime(title string) bool {
	w := words(title)
	for i, t := range w {
		_, _, abbrev, day := timeparse.WeekdayWord(t)
		_, n := timeparse.ReadClock(w[i:])
		number := strings.Trim(t, "0123456789") == "" || !strings.ContainsAny(t, "0123456789")
		if day && !abbrev || n > 1 || n == 1 && !number {
			return true
		}
		if _, n := timeparse.ReadClock(w[i+1:]); t == "at" && n > 0 {
			return true // "at 8"
		}
	}
	return false
}

// isLater: the user has no first goal or task right now.
func isLater(text string) bool {
	return isNone(text) || isAny(key(text), "later", "maybe later", "not yet", "nothing yet",
		"nothing for now", "not right now", "not now", "no thanks", "nothing right now", "later thanks",
		"i'll do it later", "not sure yet")
}
