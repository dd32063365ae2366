package plan

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/flux-companion/flux/agentsvc/timeparse"
)

// TemplateProfile is the little of the user's profile a template uses.
type TemplateProfile struct {
	Chronotype    string // morning | evening | neutral; anything else counts as neutral
	PreferredTime string // "HH:MM" local; overrides the chronotype when valid
}

// Default session times per chronotype (the pattern observer's cold-start hints, docs/product.md).
const (
	MorningTime = "07:00"
	EveningTime = "19:00"
	NeutralTime = "18:00"
)

// suggestedTime picks the template's local time of day.
func (tp TemplateProfile) suggestedTime() string {
	if _, _, ok := timeparse.HHMM(tp.PreferredTime); ok {
		return tp.PreferredTime
	}
	switch strings.ToLower(strings.TrimSpace(tp.Chronotype)) {
	case "morning":
		return MorningTime
	case "evening":
		return EveningTime
	default:
		return NeutralTime
	}
}

// ramp is a category's template: one activity on fixed days whose session
// grows over four phases. Week 1 alone is the "almost too easy" start; the
// last phase is the routine the user keeps. title words a session when no
// activity of the goal is known; with phrase, the goal's own words come first
// (“Call mom: 10 min”), because in these categories the goal usually names
// the session itself.
type ramp struct {
	title   string // a format with %d for the minutes
	phrase  bool
	tip     string
	days    []time.Weekday
	minutes [4]int // per phase, non-decreasing
}

// phaseWeeks are the week ranges of the four phases.
var phaseWeeks = [4][2]int{{1, 1}, {2, 2}, {3, 4}, {5, 6}}

var phaseNotes = [4]string{
	"Deliberately easy: this week is only about showing up.",
	"A little more than last week; keep it comfortable.",
	"Building the habit: same days, longer sessions.",
	"Full sessions: this is the routine to keep after the sprint.",
}

var (
	mwf   = []time.Weekday{time.Monday, time.Wednesday, time.Friday}
	tts   = []time.Weekday{time.Tuesday, time.Thursday, time.Saturday}
	daily = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}
	wdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
)

var ramps = map[string]ramp{
	"Health":        {"Walk or stretch %d min", false, "A brisk walk or a stretch; both count.", wdays, [4]int{10, 15, 20, 25}},
	"Fitness":       {"Workout %d min", false, "Easy pace; stop while it still feels good.", mwf, [4]int{15, 20, 30, 40}},
	"Nutrition":     {"Meal prep %d min", false, "Plan and prepare a few simple, healthy meals ahead.", []time.Weekday{time.Wednesday, time.Sunday}, [4]int{20, 30, 40, 45}},
	"Mental Health": {"Breathe and unwind %d min", false, "Slow breathing or a guided meditation in a quiet spot.", daily, [4]int{5, 8, 10, 15}},
	"Career":        {"Career step: %d min", true, "One concrete step: a skill, an application, a conversation.", []time.Weekday{time.Tuesday, time.Thursday}, [4]int{20, 30, 40, 45}},
	"Learning":      {"Study %d min", true, "Short and daily beats long and rare.", daily, [4]int{15, 20, 25, 30}},
	"Financial":     {"Money check-in: %d min", false, "Review last week's spending against the budget and move money to savings.", []time.Weekday{time.Sunday}, [4]int{15, 20, 25, 30}},
	"Relationships": {"Reach out: %d min", true, "Call, message or meet someone who matters to you.", []time.Weekday{time.Wednesday, time.Saturday}, [4]int{10, 15, 20, 30}},
	"Creativity":    {"Create %d min", true, "Make something; finishing is optional, starting is not.", []time.Weekday{time.Monday, time.Wednesday, time.Saturday}, [4]int{15, 20, 30, 40}},
	"Productivity":  {"Plan the day: %d min", true, "Pick the three things that matter today and block time for them.", wdays, [4]int{5, 8, 10, 15}},
	"Spirituality":  {"Quiet practice: %d min", true, "Prayer, reading or reflection, the same time each day.", daily, [4]int{5, 10, 15, 20}},
	"Home":          {"Home reset: %d min", true, "One area at a time: tidy, clean or fix.", []time.Weekday{time.Wednesday, time.Saturday}, [4]int{15, 20, 25, 30}},
	"Travel":        {"Trip planning: %d min", true, "Research, book or prepare one piece of the trip.", []time.Weekday{time.Thursday, time.Sunday}, [4]int{15, 20, 30, 40}},
	"Other":         {"Small step: %d min", true, "One small step toward the goal.", mwf, [4]int{10, 15, 20, 30}},
}

// activity is a kind of session a goal can name ("run", "Spanish"): its titles
// say what to do in each phase, so the plan reads like a coach's rather than a
// calendar's. Titles are formats: %[1]d the minutes, %[2]d the amount (rounds,
// pages), %[3]s the goal's word that matched, capitalised.
type activity struct {
	words   []string // as in keywords
	in      []string // the categories it belongs to: "Greek" is a language only when learning
	titles  [4]string
	amounts [4]int
	tip     string
	days    []time.Weekday
	minutes [4]int
}

var (
	physical = []string{"Fitness", "Health"}
	calming  = []string{"Mental Health", "Health", "Spirituality"}
)

// activities are tried in order; the first with a word in the goal wins.
var activities = []activity{
	{words: []string{"run", "runs", "running", "runner", "jog*", "5k", "10k", "marathon"}, in: physical,
		titles: [4]string{"Run %[1]d min, easy", "Run %[1]d min, easy", "Run %[1]d min with 4×1 min faster", "Run %[1]d min with 6×1 min faster"},
		tip:    "Easy means you could still talk in full sentences; walk breaks are fine.", days: mwf, minutes: [4]int{20, 25, 30, 35}},
	{words: []string{"strength", "strong", "stronger", "lift*", "weights", "muscle*", "squat*", "pushup*", "push up*",
		"pullup*", "pull up*", "abs", "gym", "crossfit"}, in: physical,
		titles: [4]string{"Strength: %[2]d rounds", "Strength: %[2]d rounds", "Strength: %[2]d rounds", "Strength: %[2]d rounds"}, amounts: [4]int{2, 3, 3, 4},
		tip:  "One round: 10 squats, 10 push-ups (on your knees is fine), a 30-second plank; rest a minute between rounds.",
		days: mwf, minutes: [4]int{15, 20, 25, 30}},
	{words: []string{"swim*"}, in: physical, titles: [4]string{"Swim %[1]d min, easy", "Swim %[1]d min", "Swim %[1]d min", "Swim %[1]d min"},
		tip: "Easy lengths with rests at the wall.", days: tts, minutes: [4]int{20, 25, 30, 40}},
	{words: []string{"cycling", "cycle", "bike", "biking"}, in: physical, titles: [4]string{"Ride %[1]d min, easy", "Ride %[1]d min", "Ride %[1]d min", "Ride %[1]d min"},
		tip: "A pace you could keep up for twice as long.", days: tts, minutes: [4]int{20, 30, 40, 45}},
	{words: []string{"walk", "walks", "walking", "steps", "hike", "hiking"}, in: physical, titles: [4]string{"Walk %[1]d min", "Walk %[1]d min", "Walk %[1]d min", "Walk %[1]d min"},
		tip: "Brisk enough to feel it, easy enough to enjoy it.", days: wdays, minutes: [4]int{15, 20, 25, 30}},
	{words: []string{"yoga", "pilates"}, in: physical, titles: [4]string{"%[3]s %[1]d min", "%[3]s %[1]d min", "%[3]s %[1]d min", "%[3]s %[1]d min"},
		tip: "A beginner video is fine; skip anything that hurts.", days: mwf, minutes: [4]int{10, 15, 20, 25}},
	{words: []string{"meditat*", "mindful*"}, in: calming, titles: [4]string{"Meditate %[1]d min", "Meditate %[1]d min", "Meditate %[1]d min", "Meditate %[1]d min"},
		tip: "Sit comfortably and follow your breath; a guided recording helps.", days: daily, minutes: [4]int{5, 8, 10, 15}},
	{words: []string{"journal*", "gratitude"}, in: calming, titles: [4]string{"Journal %[1]d min", "Journal %[1]d min", "Journal %[1]d min", "Journal %[1]d min"},
		tip: "Write what happened and one thing you are grateful for.", days: daily, minutes: [4]int{5, 8, 10, 10}},
	{words: []string{"spanish", "french", "german", "italian", "japanese", "chinese", "mandarin", "korean", "portuguese",
		"arabic", "dutch", "russian", "hindi", "turkish", "swedish", "polish", "greek"}, in: []string{"Learning"},
		titles: [4]string{"%[3]s: %[1]d min lessons", "%[3]s: %[1]d min lessons", "%[3]s: %[1]d min lessons", "%[3]s: %[1]d min lessons"},
		tip:    "An app lesson or a chapter of a course, then say a few sentences out loud.", days: daily, minutes: [4]int{15, 20, 25, 30}},
	{words: []string{"read", "reading", "book*"}, in: []string{"Learning", "Spirituality"},
		titles: [4]string{"Read %[2]d pages", "Read %[2]d pages", "Read %[2]d pages", "Read %[2]d pages"}, amounts: [4]int{10, 15, 20, 25},
		tip: "Keep the book where you will sit down; stop mid-chapter so starting again is easy.", days: daily, minutes: [4]int{15, 20, 25, 30}},
	{words: []string{"guitar", "piano", "violin", "ukulele", "drums", "cello", "flute", "saxophone"}, in: []string{"Learning", "Creativity"},
		titles: [4]string{"%[3]s: %[1]d min practice", "%[3]s: %[1]d min practice", "%[3]s: %[1]d min practice", "%[3]s: %[1]d min practice"},
		tip:    "Warm up, then one piece or exercise at a time.", days: daily, minutes: [4]int{10, 15, 20, 25}},
	{words: []string{"write", "writing", "novel", "blog*", "poem*", "poetry", "story", "stories"}, in: []string{"Creativity", "Learning", "Career"},
		titles: [4]string{"Write %[2]d words", "Write %[2]d words", "Write %[2]d words", "Write %[2]d words"}, amounts: [4]int{150, 250, 300, 400},
		tip: "Rough is fine: the editing comes later.", days: mwf, minutes: [4]int{15, 20, 25, 30}},
}

// maxSessionTitle keeps a session title short enough to read on a reminder.
const maxSessionTitle = 40

// session is one phase's task of the template: what it is called and how long it lasts.
type session struct {
	tip     string
	days    []time.Weekday
	minutes [4]int
	titles  [4]string
}

// sessionFor words the sessions of cat for goal: the goal's activity if it names one, else
// the goal's own phrase where the category's sessions are the goal itself, else the
// category's default.
func sessionFor(cat, goal string) session {
	r := ramps[cat]
	words := goalWords(goal)
	for _, a := range activities {
		if !slices.Contains(a.in, cat) {
			continue
		}
		for _, kw := range a.words {
			w, ok := firstMatch(words, kw)
			if !ok {
				continue
			}
			s := session{tip: a.tip, days: a.days, minutes: a.minutes}
			for i, f := range a.titles {
				s.titles[i] = fitTitle(fmt.Sprintf(f, a.minutes[i], a.amounts[i], capitalize(w)))
			}
			return s
		}
	}
	s := session{tip: r.tip, days: r.days, minutes: r.minutes}
	phrase := sessionPhrase(goal)
	usePhrase := phrase != "" && utf8.RuneCountInString(phrase) <= maxSessionTitle-len(": 45 min") &&
		(r.phrase && !vague[strings.ToLower(strings.Fields(phrase)[0])] || cat == "Other")
	for i, m := range r.minutes {
		switch {
		case usePhrase && !strings.Contains(phrase, " "):
			s.titles[i] = fmt.Sprintf("%s %d min", phrase, m) // a verb alone: “Pray 5 min”
		case usePhrase:
			s.titles[i] = fmt.Sprintf("%s: %d min", phrase, m)
		default:
			s.titles[i] = fmt.Sprintf(r.title, m)
		}
	}
	return s
}

// vague are first words of goals that say what to become rather than what to do, so they
// make no session title: “Be healthier: 10 min” tells nobody what to do.
var vague = map[string]bool{
	"be": true, "become": true, "get": true, "feel": true, "have": true, "stay": true, "improve": true,
	"lose": true, "gain": true, "reduce": true, "stop": true, "quit": true, "start": true, "make": true,
	"do": true, "try": true, "live": true, "look": true, "eat": true, "sleep": true, "drink": true,
	"want": true, "need": true, "help": true, "finish": true, "achieve": true, "stick": true, "keep": true,
	"spend": true,
}

// requestLead is how people ask for a goal rather than state it; it is not part of the goal.
var requestLead = regexp.MustCompile(`(?i)^\s*(?:(?:please|pls|hey|hi|ok|okay)[,!]?\s+)*` +
	`(?:(?:can|could|would|will) you\s+)?(?:please\s+)?(?:help me(?: to)?|i(?:'d| would) like to|i want to|i wanna|i need to|i'm going to|i am going to|my goal is to)?\s*`)

// frequencyTail is how often, said at the end of a goal; the schedule says it already.
var frequencyTail = regexp.MustCompile(`(?i)(?:\s+(?:every|each)\s+\w+|\s+\d+\s*(?:x|×|times)\s+(?:a|per)\s+\w+|` +
	`\s+(?:daily|weekly|regularly|more often|more|again|this (?:year|month|week)))+$`)

// cleanGoal drops the asking around a goal and trailing punctuation: “can you help me be
// healthier?” is the goal “Be healthier”.
func cleanGoal(s string) string {
	s = strings.TrimSpace(s)
	if t := strings.TrimSpace(requestLead.ReplaceAllString(s, "")); t != "" {
		s = t
	}
	s = strings.TrimRightFunc(s, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) })
	return capitalize(s)
}

// sessionPhrase is the goal as a session title: without how often, since the schedule says it.
func sessionPhrase(goal string) string {
	return strings.TrimSpace(frequencyTail.ReplaceAllString(cleanGoal(goal), ""))
}

// fitTitle keeps a title within maxSessionTitle runes, cut at a word.
func fitTitle(s string) string {
	rs := []rune(s)
	if len(rs) <= maxSessionTitle {
		return s
	}
	cut := string(rs[:maxSessionTitle])
	if i := strings.LastIndexByte(cut, ' '); i > 0 {
		cut = cut[:i]
	}
	return strings.TrimRightFunc(cut, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) })
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// WeekLabel says a week range as people write it: “week 1”, “weeks 2–3”.
func WeekLabel(first, last int) string {
	if first == last {
		return fmt.Sprintf("week %d", first)
	}
	return fmt.Sprintf("weeks %d–%d", first, last)
}

// Template returns a ramped 6-week plan for goalTitle without a model.
// category is matched to Taxonomy ignoring case; when it matches nothing,
// Categorize(goalTitle) picks it. The plan is pending approval, feasible in
// one sprint, and passes Validate. Its sessions are titled from the goal.
func Template(category string, goalTitle string, profile TemplateProfile) Plan {
	cat := canonicalTag(category)
	if cat == "" {
		cat = Categorize(goalTitle)
	}
	title := cleanGoal(goalTitle)
	if title == "" {
		title = cat + " goal"
	}
	if rs := []rune(title); len(rs) > MaxTitleLen {
		title = strings.TrimSpace(string(rs[:MaxTitleLen]))
	}
	s := sessionFor(cat, title)
	at := profile.suggestedTime()
	days := dayNamesList(s.days)
	rule := WeeklyRule(s.days)

	tasks := make([]ProposedTask, 0, len(phaseWeeks))
	for i, w := range phaseWeeks {
		tasks = append(tasks, ProposedTask{
			Title:           s.titles[i],
			Description:     phaseNotes[i] + " " + s.tip,
			ScheduledDays:   slices.Clone(days),
			SuggestedTime:   at,
			DurationMinutes: s.minutes[i],
			RecurrenceRule:  rule,
			WeekRange:       []int{w[0], w[1]},
		})
	}

	freq := fmt.Sprintf("%d× a week (%s)", len(s.days), strings.Join(days, ", "))
	if len(s.days) == 7 {
		freq = "daily"
	}
	last := len(phaseWeeks) - 1
	return Plan{
		GoalTitle:        title,
		GoalDescription:  fmt.Sprintf("A 6-week %s sprint: %s", strings.ToLower(cat), title),
		Tags:             []string{cat},
		FeasibleIn6Weeks: true,
		MicroGoalRoadmap: []MicroGoal{{
			Title:         title,
			Description:   fmt.Sprintf("Make “%s” a steady habit in one 6-week sprint.", title),
			PipelineOrder: 1,
			TargetWeeks:   SprintWeeks,
		}},
		ProposedTasks:     tasks,
		ConflictsDetected: []Conflict{},
		// The summary names no time of day: the slot finder may still move the sessions.
		PlanSummary: fmt.Sprintf("%s, from “%s” in week 1 to “%s” by week 6. "+
			"Week 1 is deliberately easy so the habit can start; people keep a success rate above 70%% on focused 6-week sprints. "+
			"This is a starter plan: say if the days or time don't fit and it will be adjusted.",
			capitalize(freq), s.titles[0], s.titles[last]),
		ApprovalStatus: StatusPending,
	}
}

func canonicalTag(s string) string {
	s = strings.TrimSpace(s)
	for _, t := range Taxonomy {
		if strings.EqualFold(t, s) {
			return t
		}
	}
	return ""
}

func dayNamesList(days []time.Weekday) []string {
	out := make([]string, 0, len(days))
	for _, d := range sortedDays(days) {
		out = append(out, Weekdays[(int(d)+6)%7])
	}
	return out
}

// keywords per category. A word matches a keyword exactly, or by prefix when
// the keyword ends in '*'; a keyword with spaces matches consecutive words.
var keywords = map[string][]string{
	"Fitness": {"run", "runs", "running", "runner", "jog*", "5k", "10k", "marathon", "gym", "workout*", "work out",
		"exercis*", "lift*", "weights", "strength", "squat*", "pushup*", "push up*", "pullup*", "pull up*", "cardio",
		"yoga", "pilates", "swim*", "cycling", "cycle", "bike", "biking", "hike", "hiking", "walk", "walks", "walking",
		"steps", "fit", "fitness", "strong", "stronger", "stretch*", "sport*", "triathlon", "crossfit", "abs", "muscle*", "train for"},
	"Health": {"health", "healthy", "healthier", "sleep*", "doctor", "checkup", "blood pressure", "hydrat*", "water",
		"smoking", "smoke", "vape", "alcohol", "drinking", "sober", "weight", "posture", "vitamin*", "medication*",
		"medicine", "dentist", "floss*", "skin*", "screen time"},
	"Nutrition": {"eat", "eating", "diet*", "meal*", "cook*", "nutrition*", "vegetable*", "veggie*", "fruit*",
		"protein", "sugar", "calorie*", "vegan", "vegetarian", "snack*", "breakfast", "lunch", "dinner", "recipe*",
		"fasting", "junk food", "fast food", "food"},
	"Mental Health": {"meditat*", "mindful*", "anxiety", "anxious", "stress*", "therapy", "therapist", "journal*",
		"gratitude", "mental", "mood", "burnout", "calm*", "relax*", "breath*", "self care", "selfcare", "depress*"},
	"Career": {"career", "job", "jobs", "promotion", "promoted", "interview*", "resume", "cv", "linkedin",
		"networking", "portfolio", "salary", "raise", "business", "startup", "client*", "freelanc*", "side hustle",
		"boss", "manager", "hired", "hiring", "work project"},
	"Learning": {"learn*", "study*", "studies", "course*", "class", "classes", "spanish", "french", "german",
		"italian", "japanese", "chinese", "mandarin", "korean", "portuguese", "arabic", "language*", "duolingo",
		"read", "reading", "book*", "exam*", "degree", "university", "college", "tutorial*", "lesson*", "skill*",
		"code", "coding", "program*", "python", "certificat*", "vocabulary", "grammar", "school", "homework"},
	"Financial": {"save", "saving*", "budget*", "money", "debt*", "invest*", "financ*", "spending", "overspend*", "expense*",
		"retire*", "pension", "tax", "taxes", "income", "loan*", "mortgage", "credit", "emergency fund", "pay off",
		"stocks", "crypto", "frugal", "bills"},
	"Relationships": {"mom", "mum", "dad", "mother", "father", "parent*", "family", "friend*", "partner", "wife",
		"husband", "girlfriend", "boyfriend", "spouse", "date night", "dating", "kid", "kids", "children",
		"son", "sons", "daughter*", "grandma", "grandpa", "grandparent*", "sister", "brother", "sibling*", "relationship*",
		"social", "marriage"},
	"Creativity": {"draw*", "paint*", "sketch*", "write", "writing", "novel", "poem*", "poetry", "blog*", "music",
		"guitar", "piano", "violin", "drum*", "sing", "singing", "song*", "compose", "art", "artist", "photo*",
		"film*", "video*", "craft*", "knit*", "sew*", "design*", "creative", "creativity", "dance", "dancing",
		"podcast", "story", "stories"},
	"Productivity": {"productiv*", "focus*", "procrastinat*", "organize", "organised", "organized", "planner",
		"schedule", "todo", "to do", "inbox", "email*", "routine*", "habit*", "time management", "wake up",
		"deep work", "distraction*", "pomodoro"},
	"Spirituality": {"pray*", "church", "mosque", "temple", "synagogue", "bible", "quran", "koran", "torah",
		"scripture*", "spiritual*", "faith", "god", "worship", "devotion*", "sabbath", "rosary"},
	"Home": {"clean*", "tidy*", "declutter*", "garden*", "house", "home", "apartment", "laundry", "chore*",
		"renovat*", "repair*", "decorat*", "plants", "garage", "closet", "dishes", "vacuum*", "diy"},
	"Travel": {"travel*", "trip", "trips", "vacation*", "holiday*", "flight*", "passport", "visa", "abroad", "backpack*",
		"itinerar*", "tour", "tours", "road trip", "explore", "hotel*", "airbnb"},
}

// categoryPriority breaks ties between equal keyword counts, specific before
// general (docs/product.md: the most specific that fit): "healthy meals" is Nutrition.
var categoryPriority = []string{
	"Fitness", "Nutrition", "Mental Health", "Spirituality", "Financial", "Travel", "Career", "Relationships",
	"Learning", "Home", "Creativity", "Productivity", "Health",
}

// Categorize returns the taxonomy category of free text by keywords: the one
// with the most matching words, ties going to the more specific category, or
// "Other" when none matches.
func Categorize(text string) string {
	words := goalWords(text)
	best, bestScore := "Other", 0
	for _, cat := range categoryPriority {
		score := 0
		for _, kw := range keywords[cat] {
			score += matches(words, kw)
		}
		if score > bestScore {
			best, bestScore = cat, score
		}
	}
	return best
}

// goalWords are the lower-case words of text, as keywords match them.
func goalWords(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// firstMatch is the first word of words that kw matches (for a keyword of several words,
// its first), as matches counts them.
func firstMatch(words []string, kw string) (string, bool) {
	for i := range words {
		if matches(words[i:min(i+len(strings.Fields(kw)), len(words))], kw) > 0 {
			return words[i], true
		}
	}
	return "", false
}

// matches counts the places where kw's words occur consecutively in words.
func matches(words []string, kw string) int {
	kws := strings.Fields(kw)
	n := 0
	for i := 0; i+len(kws) <= len(words); i++ {
		ok := true
		for j, k := range kws {
			w := words[i+j]
			if p, prefix := strings.CutSuffix(k, "*"); prefix {
				ok = strings.HasPrefix(w, p)
			} else {
				ok = w == k
			}
			if !ok {
				break
			}
		}
		if ok {
			n++
		}
	}
	return n
}
