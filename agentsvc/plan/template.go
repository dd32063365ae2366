package plan

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// TemplateProfile is the little of the user's profile a template uses.
type TemplateProfile struct {
	Chronotype    string // morning | evening | neutral; anything else counts as neutral
	PreferredTime string // "HH:MM" local; overrides the chronotype when valid
}

// Default session times per chronotype (SPEC.md's cold-start hints).
const (
	MorningTime = "07:00"
	EveningTime = "19:00"
	NeutralTime = "18:00"
)

// suggestedTime picks the template's local time of day.
func (tp TemplateProfile) suggestedTime() string {
	if _, _, ok := parseClock(tp.PreferredTime); ok {
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
// last phase is the routine the user keeps.
type ramp struct {
	activity string
	tip      string
	days     []time.Weekday
	minutes  [4]int // per phase, non-decreasing
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
	daily = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}
	wdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
)

var ramps = map[string]ramp{
	"Health":        {"Health habit", "A walk, a stretch or the evening wind-down for better sleep.", wdays, [4]int{10, 15, 20, 25}},
	"Fitness":       {"Workout", "Easy pace; stop while it still feels good.", mwf, [4]int{15, 20, 30, 40}},
	"Nutrition":     {"Meal prep", "Plan and prepare a few simple, healthy meals ahead.", []time.Weekday{time.Wednesday, time.Sunday}, [4]int{20, 30, 40, 45}},
	"Mental Health": {"Mindfulness", "Breathing or a guided meditation in a quiet spot.", daily, [4]int{5, 8, 10, 15}},
	"Career":        {"Career block", "One concrete step: a skill, an application, a conversation.", []time.Weekday{time.Tuesday, time.Thursday}, [4]int{20, 30, 40, 45}},
	"Learning":      {"Study session", "Short and daily beats long and rare.", daily, [4]int{15, 20, 25, 30}},
	"Financial":     {"Money check-in", "Review last week's spending against the budget and move money to savings.", []time.Weekday{time.Sunday}, [4]int{15, 20, 25, 30}},
	"Relationships": {"Reach out", "Call, message or meet someone who matters to you.", []time.Weekday{time.Wednesday, time.Saturday}, [4]int{10, 15, 20, 30}},
	"Creativity":    {"Creative session", "Make something; finishing is optional, starting is not.", []time.Weekday{time.Monday, time.Wednesday, time.Saturday}, [4]int{15, 20, 30, 40}},
	"Productivity":  {"Plan the day", "Pick the three things that matter today and block time for them.", wdays, [4]int{5, 8, 10, 15}},
	"Spirituality":  {"Quiet practice", "Prayer, reading or reflection, the same time each day.", daily, [4]int{5, 10, 15, 20}},
	"Home":          {"Home reset", "One area at a time: tidy, clean or fix.", []time.Weekday{time.Wednesday, time.Saturday}, [4]int{15, 20, 25, 30}},
	"Travel":        {"Trip planning", "Research, book or prepare one piece of the trip.", []time.Weekday{time.Thursday, time.Sunday}, [4]int{15, 20, 30, 40}},
	"Other":         {"Focused session", "One small step toward the goal.", mwf, [4]int{10, 15, 20, 30}},
}

// Template returns a ramped 6-week plan for goalTitle without a model.
// category is matched to Taxonomy ignoring case; when it matches nothing,
// Categorize(goalTitle) picks it. The plan is pending approval, feasible in
// one sprint, and passes Validate.
func Template(category string, goalTitle string, profile TemplateProfile) Plan {
	cat := canonicalTag(category)
	if cat == "" {
		cat = Categorize(goalTitle)
	}
	r := ramps[cat]
	title := strings.TrimSpace(goalTitle)
	if title == "" {
		title = cat + " goal"
	}
	if rs := []rune(title); len(rs) > MaxTitleLen {
		title = strings.TrimSpace(string(rs[:MaxTitleLen]))
	}
	at := profile.suggestedTime()
	days := dayNamesList(r.days)
	rule := WeeklyRule(r.days)

	tasks := make([]ProposedTask, 0, len(phaseWeeks))
	for i, w := range phaseWeeks {
		name := fmt.Sprintf("%s: %d min", r.activity, r.minutes[i])
		if i == 0 {
			name += " (easy start)"
		}
		tasks = append(tasks, ProposedTask{
			Title:           name,
			Description:     phaseNotes[i] + " " + r.tip,
			ScheduledDays:   slices.Clone(days),
			SuggestedTime:   at,
			DurationMinutes: r.minutes[i],
			RecurrenceRule:  rule,
			WeekRange:       []int{w[0], w[1]},
		})
	}

	freq := fmt.Sprintf("%d× a week", len(r.days))
	if len(r.days) == 7 {
		freq = "daily"
	}
	return Plan{
		GoalTitle:        title,
		GoalDescription:  fmt.Sprintf("A 6-week %s sprint: %s", strings.ToLower(cat), title),
		Tags:             []string{cat},
		FeasibleIn6Weeks: true,
		MicroGoalRoadmap: []MicroGoal{{
			Title:         title,
			Description:   fmt.Sprintf("Make %s a steady habit in one 6-week sprint.", strings.ToLower(r.activity)),
			PipelineOrder: 1,
			TargetWeeks:   SprintWeeks,
		}},
		ProposedTasks:     tasks,
		ConflictsDetected: []Conflict{},
		PlanSummary: fmt.Sprintf("%s %s (%s) at %s, growing from %d to %d minutes over 6 weeks. "+
			"Week 1 is deliberately easy so the habit can start; people keep a success rate above 70%% on focused 6-week sprints. "+
			"This is a starter plan: say if the days or time don't fit and it will be adjusted.",
			r.activity, freq, strings.Join(days, ", "), at, r.minutes[0], r.minutes[3]),
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
		"steps", "fit", "fitness", "stretch*", "sport*", "triathlon", "crossfit", "abs", "muscle*", "train for"},
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
// general (SPEC.md: "specific over general"): "healthy meals" is Nutrition.
var categoryPriority = []string{
	"Fitness", "Nutrition", "Mental Health", "Spirituality", "Financial", "Travel", "Career", "Relationships",
	"Learning", "Home", "Creativity", "Productivity", "Health",
}

// Categorize returns the taxonomy category of free text by keywords: the one
// with the most matching words, ties going to the more specific category, or
// "Other" when none matches.
func Categorize(text string) string {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
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
