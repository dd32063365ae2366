package plan

import (
	"strings"
	"testing"
	"time"
)

func TestTemplateEveryCategory(t *testing.T) {
	t.Parallel()
	loc := mustLoc(t, "Europe/Berlin")
	start := mustDate(t, "2026-03-16", "Europe/Berlin") // the sprint crosses 29 March
	for _, cat := range Taxonomy {
		t.Run(cat, func(t *testing.T) {
			t.Parallel()
			p := Template(cat, "My "+cat+" goal", TemplateProfile{Chronotype: "morning"})
			if err := p.Validate(); err != nil {
				t.Fatalf("template does not validate: %v", err)
			}
			if len(p.Tags) != 1 || p.Tags[0] != cat || p.ApprovalStatus != StatusPending || !p.FeasibleIn6Weeks {
				t.Errorf("tags %v, status %q, feasible %v", p.Tags, p.ApprovalStatus, p.FeasibleIn6Weeks)
			}
			if len(p.ProposedTasks) < 3 {
				t.Errorf("ramp has %d tasks, want several", len(p.ProposedTasks))
			}
			occ, err := Materialize(p, start, loc)
			if err != nil {
				t.Fatalf("materialize: %v", err)
			}
			var minutes [SprintWeeks + 1]time.Duration
			for _, o := range occ {
				l := o.At.In(loc)
				if l.Format("15:04") != MorningTime {
					t.Errorf("occurrence at %v, want %s local", l, MorningTime)
				}
				week := int(l.Sub(start).Hours()/24)/7 + 1
				if week < 1 || week > SprintWeeks {
					t.Fatalf("occurrence %v outside the sprint", l)
				}
				minutes[week] += o.Duration
			}
			for w := 2; w <= SprintWeeks; w++ {
				if minutes[w] < minutes[w-1] {
					t.Errorf("week %d (%v) is lighter than week %d (%v)", w, minutes[w], w-1, minutes[w-1])
				}
			}
			if minutes[1] == 0 || minutes[6] <= minutes[1] {
				t.Errorf("no ramp: week 1 %v, week 6 %v", minutes[1], minutes[6])
			}
		})
	}
}

func TestTemplateTimeAndTitle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, category, title string
		profile               TemplateProfile
		wantTime, wantTag     string
		wantTitle             string
	}{
		{"morning", "Fitness", "Run a 5K", TemplateProfile{Chronotype: "morning"}, "07:00", "Fitness", "Run a 5K"},
		{"evening", "Fitness", "Run a 5K", TemplateProfile{Chronotype: "Evening"}, "19:00", "Fitness", "Run a 5K"},
		{"neutral", "Fitness", "Run a 5K", TemplateProfile{Chronotype: "neutral"}, "18:00", "Fitness", "Run a 5K"},
		{"unknown chronotype", "Fitness", "Run a 5K", TemplateProfile{Chronotype: "owl"}, "18:00", "Fitness", "Run a 5K"},
		{"preferred time wins", "Fitness", "Run a 5K", TemplateProfile{Chronotype: "morning", PreferredTime: "12:15"}, "12:15", "Fitness", "Run a 5K"},
		{"bad preferred time ignored", "Fitness", "Run a 5K", TemplateProfile{Chronotype: "evening", PreferredTime: "noon"}, "19:00", "Fitness", "Run a 5K"},
		{"category case", "mental health", "Meditate daily", TemplateProfile{}, "18:00", "Mental Health", "Meditate daily"},
		{"unknown category categorizes", "", "Save $2000 for a trip", TemplateProfile{}, "18:00", "Financial", "Save $2000 for a trip"},
		{"empty title", "Home", "  ", TemplateProfile{}, "18:00", "Home", "Home goal"},
		{"long title cut", "Other", strings.Repeat("ab ", 100), TemplateProfile{}, "18:00", "Other", "A" + strings.TrimSpace(strings.Repeat("ab ", 100)[1:MaxTitleLen])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := Template(tt.category, tt.title, tt.profile)
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			if p.Tags[0] != tt.wantTag || p.GoalTitle != tt.wantTitle {
				t.Errorf("tag %q title %q; want %q %q", p.Tags[0], p.GoalTitle, tt.wantTag, tt.wantTitle)
			}
			for _, task := range p.ProposedTasks {
				if task.SuggestedTime != tt.wantTime {
					t.Errorf("suggested_time %s, want %s", task.SuggestedTime, tt.wantTime)
				}
			}
		})
	}
}

func TestTemplateWeekOneIsEasiest(t *testing.T) {
	t.Parallel()
	p := Template("Learning", "Learn Spanish", TemplateProfile{})
	first := p.ProposedTasks[0]
	if first.WeekRange[0] != 1 || first.WeekRange[1] != 1 || first.DurationMinutes != 15 || len(first.ScheduledDays) != 7 {
		t.Errorf("week 1 task %+v, want daily 15 min", first)
	}
	last := p.ProposedTasks[len(p.ProposedTasks)-1]
	if last.WeekRange[1] != SprintWeeks || last.DurationMinutes != 30 {
		t.Errorf("last task %+v, want 30 min through week 6", last)
	}
}

func TestCategorize(t *testing.T) {
	t.Parallel()
	tests := []struct{ text, want string }{
		{"I want to run a 5K", "Fitness"},
		{"Go to the gym 3 times a week", "Fitness"},
		{"Train for a half-marathon", "Fitness"},
		{"Learn Spanish before my trip", "Learning"},
		{"Finish the online course on statistics", "Learning"},
		{"Read 12 books this year", "Learning"},
		{"Save $5,000 for an emergency fund", "Financial"},
		{"Stick to a monthly budget", "Financial"},
		{"Meditate every morning", "Mental Health"},
		{"Reduce stress and anxiety", "Mental Health"},
		{"Eat more vegetables and cook at home", "Nutrition"},
		{"Learn to cook healthy meals", "Nutrition"},
		{"Get a promotion at work", "Career"},
		{"Update my resume and apply for jobs", "Career"},
		{"Call mom every Sunday", "Relationships"},
		{"Spend more time with my family", "Relationships"},
		{"Learn guitar", "Learning"},
		{"Paint a watercolor every week", "Creativity"},
		{"Write a novel", "Creativity"},
		{"Stop procrastinating and clear my inbox", "Productivity"},
		{"Pray daily", "Spirituality"},
		{"Read the Bible every day", "Spirituality"},
		{"Declutter the garage", "Home"},
		{"Plan a trip to Japan", "Travel"},
		{"Sleep 8 hours a night", "Health"},
		{"Quit smoking", "Health"},
		{"Water the plants", "Home"},
		{"Become a better person", "Other"},
		{"", "Other"},
		{"RUN", "Fitness"},
		{"brunch with the team", "Other"}, // "run" must match whole words only
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			t.Parallel()
			if got := Categorize(tt.text); got != tt.want {
				t.Errorf("Categorize(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

// Sessions are titled from the goal and its week's load: short, no trailing punctuation.
func TestTemplateSessionTitles(t *testing.T) {
	t.Parallel()
	for goal, want := range map[string][2]string{
		"Run a 5K":                      {"Run 20 min, easy", "Run 35 min with 6×1 min faster"},
		"can you help me be healthier?": {"Walk or stretch 10 min", "Walk or stretch 25 min"},
		"Learn Spanish":                 {"Spanish: 15 min lessons", "Spanish: 30 min lessons"},
		"Read more":                     {"Read 10 pages", "Read 25 pages"},
		"Meditate every morning":        {"Meditate 5 min", "Meditate 15 min"},
		"Get stronger":                  {"Strength: 2 rounds", "Strength: 4 rounds"},
		"Pray daily":                    {"Pray 5 min", "Pray 20 min"},
		"Call mom every Sunday":         {"Call mom: 10 min", "Call mom: 30 min"},
		"Save $2000 for a trip":         {"Money check-in: 15 min", "Money check-in: 30 min"},
		"Become a better person":        {"Become a better person: 10 min", "Become a better person: 30 min"},
		"Finish the online course on statistics and then some more": {"Study 15 min", "Study 30 min"},
	} {
		p := Template("", goal, TemplateProfile{})
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		first, last := p.ProposedTasks[0].Title, p.ProposedTasks[len(p.ProposedTasks)-1].Title
		if first != want[0] || last != want[1] {
			t.Errorf("%q: sessions %q … %q, want %q … %q", goal, first, last, want[0], want[1])
		}
		for _, k := range p.ProposedTasks {
			if n := len([]rune(k.Title)); n > 40 || strings.ContainsAny(k.Title[len(k.Title)-1:], ".,:;!?") {
				t.Errorf("%q: title %q (%d letters)", goal, k.Title, n)
			}
		}
	}
	if got := Template("", "can you help me be healthier?", TemplateProfile{}).GoalTitle; got != "Be healthier" {
		t.Errorf("goal title %q: the asking is not the goal", got)
	}
}

func TestWeekLabel(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		a, b int
		want string
	}{{1, 1, "week 1"}, {2, 3, "weeks 2–3"}, {4, 6, "weeks 4–6"}} {
		if got := WeekLabel(c.a, c.b); got != c.want {
			t.Errorf("WeekLabel(%d, %d) = %q, want %q", c.a, c.b, got, c.want)
		}
	}
}
