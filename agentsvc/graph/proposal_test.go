package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/flux-companion/flux/agentsvc/agentrun"
	"github.com/flux-companion/flux/agentsvc/plan"
)

// A user who wakes at 06:30, sleeps at 23:00 and works 9–5 on weekdays.
const dayProfile = `{"chronotype": %q, "sleep_window": {"start": %q, "end": "06:30"},
	"work_hours": {"start": "09:00", "end": "17:00", "days": ["Mon", "Tue", "Wed", "Thu", "Fri"]}}`

// planRow is one line of a proposed plan as the user reads it.
type planRow struct {
	first, last int
	days        []time.Weekday
	at          string
	title       string
	minutes     int
}

var rowRe = regexp.MustCompile(`^- (?:week (\d)|weeks (\d)–(\d)), (.+) at (\d\d:\d\d) — (.+?)(?:, (\d+) min)?$`)

// readPlan splits a proposal into its rows and the other lines between the heading and the
// question that ends it.
func readPlan(t *testing.T, text string) (rows []planRow, other []string) {
	t.Helper()
	lines := strings.Split(text, "\n")
	for _, l := range lines[1 : len(lines)-1] {
		m := rowRe.FindStringSubmatch(l)
		if m == nil {
			if strings.HasPrefix(l, "- ") {
				t.Fatalf("row %q is not “- week N, days at HH:MM — title”", l)
			}
			other = append(other, l)
			continue
		}
		r := planRow{at: m[5], title: m[6]}
		if m[1] != "" {
			fmt.Sscan(m[1], &r.first)
			r.last = r.first
		} else {
			fmt.Sscan(m[2], &r.first)
			fmt.Sscan(m[3], &r.last)
			if r.first >= r.last {
				t.Errorf("row %q: a range of weeks runs forward", l)
			}
		}
		switch m[4] {
		case "every day":
			r.days = []time.Weekday{0, 1, 2, 3, 4, 5, 6}
		case "weekdays":
			r.days = []time.Weekday{1, 2, 3, 4, 5}
		case "weekends":
			r.days = []time.Weekday{0, 6}
		default:
			for _, d := range strings.Split(m[4], "/") {
				i := slices.Index(plan.Weekdays, d)
				if i < 0 {
					t.Fatalf("row %q: day %q", l, d)
				}
				r.days = append(r.days, time.Weekday((i+1)%7))
			}
		}
		if m[7] != "" {
			fmt.Sscan(m[7], &r.minutes)
		} else if _, err := fmt.Sscanf(regexp.MustCompile(`\d+ min`).FindString(r.title), "%d min", &r.minutes); err != nil {
			t.Errorf("row %q says no duration", l)
		}
		rows = append(rows, r)
	}
	return rows, other
}

func planTurn(t *testing.T, profile string, cal []agentrun.BookedTask, content, action string, state json.RawMessage) agentrun.Output {
	t.Helper()
	out, err := (&Graph{}).Turn(context.Background(), agentrun.Run{}, agentrun.Input{
		Content: content, Action: action, Timezone: "Europe/Berlin", Onboarded: true, Profile: json.RawMessage(profile),
		State: state, Now: time.Date(2026, 3, 20, 10, 0, 0, 0, berlin), Calendar: cal,
	})
	if err != nil || len(out.Replies) != 1 {
		t.Fatalf("%q: %v, replies %+v", content, err, out.Replies)
	}
	return out
}

// clock is minutes since midnight of "HH:MM".
func clock(s string) int {
	var h, m int
	fmt.Sscanf(s, "%d:%d", &h, &m)
	return h*60 + m
}

// Offline plans read like a coach's: sessions titled from the goal, weeks as people write
// them, nothing in the first half hour after waking (an hour for exercise) or the hour
// before bed, at most one line about what was moved, and every time shown is the time the
// tasks are created at.
func TestOfflinePlanText(t *testing.T) {
	t.Parallel()
	goals := []struct {
		say, goal, tag string
		titles         [2]string // the first and the last phase
		afterWake      int       // minutes
	}{
		{"I want to run a 5K", "Run a 5K", "Fitness", [2]string{"Run 20 min, easy", "Run 35 min with 6×1 min faster"}, 60},
		{"can you help me be healthier?", "Be healthier", "Health", [2]string{"Walk or stretch 10 min", "Walk or stretch 25 min"}, 30},
		{"I want to learn Spanish", "Learn Spanish", "Learning", [2]string{"Spanish: 15 min lessons", "Spanish: 30 min lessons"}, 30},
		{"I want to read more", "Read more", "Learning", [2]string{"Read 10 pages", "Read 25 pages"}, 30},
		{"I want to meditate", "Meditate", "Mental Health", [2]string{"Meditate 5 min", "Meditate 15 min"}, 30},
		{"I want to build strength", "Build strength", "Fitness", [2]string{"Strength: 2 rounds", "Strength: 4 rounds"}, 60},
		{"I want to become a better person", "Become a better person", "Other", [2]string{"Become a better person: 10 min", "Become a better person: 30 min"}, 30},
	}
	// A swim on Monday, Wednesday and Friday mornings, where a morning person's sessions would go.
	var swims []agentrun.BookedTask
	for d := 21; d < 21+49; d++ {
		day := time.Date(2026, 3, d, 7, 0, 0, 0, berlin)
		if wd := day.Weekday(); wd == time.Monday || wd == time.Wednesday || wd == time.Friday {
			swims = append(swims, agentrun.BookedTask{ID: fmt.Sprint(d), Title: "Swim with Anna", Status: "pending", ScheduledAt: day.UTC(), DurationMinutes: 30})
		}
	}
	calendars := []struct {
		name, chronotype, bed string
		cal                   []agentrun.BookedTask
	}{
		{"free mornings", "morning", "23:00", nil},
		{"swims", "morning", "23:00", swims},
		{"early to bed", "evening", "20:15", nil}, // 19:00 sessions must end by 19:15
	}
	for _, c := range calendars {
		for _, g := range goals {
			t.Run(c.name+"/"+g.say, func(t *testing.T) {
				t.Parallel()
				profile := fmt.Sprintf(dayProfile, c.chronotype, c.bed)
				proposed := planTurn(t, profile, c.cal, g.say, "", nil)
				text := strings.TrimSuffix(proposed.Replies[0].Content, " "+OfflineNote)
				if want := fmt.Sprintf("plan for “%s” (%s)", g.goal, g.tag); !strings.Contains(text, want) {
					t.Fatalf("proposal lacks %q:\n%s", want, text)
				}
				rows, other := readPlan(t, text)
				if len(rows) < 3 || rows[0].title != g.titles[0] || rows[len(rows)-1].title != g.titles[1] {
					t.Fatalf("rows %+v: want %q first and %q last\n%s", rows, g.titles[0], g.titles[1], text)
				}

				// Titles say what to do, briefly.
				for _, r := range rows {
					last, _ := utf8.DecodeLastRuneInString(r.title)
					if utf8.RuneCountInString(r.title) > 40 || unicode.IsPunct(last) || strings.Contains(r.title, "Workout") {
						t.Errorf("title %q: want at most 40 letters, no trailing punctuation, what to do", r.title)
					}
				}

				// Times: after the margin from waking, ending an hour before bed.
				earliest, latest := clock("06:30")+g.afterWake, clock(c.bed)-60
				for _, r := range rows {
					if at := clock(r.at); at < earliest || at+r.minutes > latest {
						t.Errorf("%q at %s for %d min: want from %02d:%02d, ending by %02d:%02d",
							r.title, r.at, r.minutes, earliest/60, earliest%60, latest/60, latest%60)
					}
				}

				// At most one line about conflicts, and only when something moved; never a time it denies.
				if len(other) > 1 || strings.Contains(text, "Note:") {
					t.Errorf("lines besides the rows: %q", other)
				}
				if c.cal == nil && len(other) != 0 {
					t.Errorf("nothing was in the way, yet: %q", other)
				}
				if c.cal != nil {
					if len(other) != 1 || !strings.HasPrefix(other[0], "I moved ") || !strings.Contains(other[0], "“Swim with Anna”") {
						t.Fatalf("want one line on the sessions moved for the swim, got %q", other)
					}
					if m := regexp.MustCompile(`^I moved every session from (\d\d:\d\d) `).FindStringSubmatch(other[0]); m != nil {
						for _, r := range rows {
							if r.at == m[1] {
								t.Errorf("%q says every session left %s, yet %q is listed there", other[0], m[1], r.title)
							}
						}
					}
				}

				// The plan in the state is what the text shows.
				var st State
				if err := json.Unmarshal(proposed.State, &st); err != nil || st.PendingPlan == nil {
					t.Fatalf("state %s: %v", proposed.State, err)
				}
				if n := len(st.PendingPlan.Plan.ConflictsDetected); n > 1 {
					t.Errorf("%d conflicts in the plan; want at most the one line shown", n)
				}
				for i, k := range st.PendingPlan.Plan.ProposedTasks {
					r := rows[i]
					if k.Title != r.title || k.SuggestedTime != r.at || k.DurationMinutes != r.minutes || k.WeekRange[0] != r.first || k.WeekRange[1] != r.last {
						t.Errorf("task %+v is listed as %+v", k, r)
					}
				}

				// The tasks created on approval are exactly at the times shown.
				approved := planTurn(t, profile, c.cal, "Approve the plan", "approve_plan", proposed.State)
				if len(approved.Tasks) == 0 {
					t.Fatalf("approval created no tasks: %q", approved.Replies[0].Content)
				}
				start, _ := time.ParseInLocation(time.DateOnly, st.PendingPlan.Start, berlin)
				for _, k := range approved.Tasks {
					l := k.ScheduledAt.In(berlin)
					week := int(l.Sub(start).Hours()/24)/7 + 1
					i := slices.IndexFunc(rows, func(r planRow) bool { return r.first <= week && week <= r.last })
					if i < 0 || rows[i].title != k.Title || rows[i].at != l.Format("15:04") || !slices.Contains(rows[i].days, l.Weekday()) {
						t.Errorf("task %q at %s (week %d) is not a listed session", k.Title, l.Format("Mon 2 Jan 15:04"), week)
					}
					for _, b := range c.cal {
						if k.ScheduledAt.Before(b.ScheduledAt.Add(time.Duration(b.DurationMinutes)*time.Minute+15*time.Minute)) &&
							b.ScheduledAt.Before(k.ScheduledAt.Add(time.Duration(k.DurationMinutes)*time.Minute+15*time.Minute)) {
							t.Errorf("task %q at %s meets %q at %s", k.Title, l.Format("Mon 2 Jan 15:04"), b.Title, b.ScheduledAt.In(berlin).Format("15:04"))
						}
					}
					if wd := l.Weekday(); wd != time.Saturday && wd != time.Sunday {
						if m := l.Hour()*60 + l.Minute(); m < 17*60 && m+k.DurationMinutes > 9*60 {
							t.Errorf("task %q at %s is in work hours", k.Title, l.Format("Mon 2 Jan 15:04"))
						}
					}
				}
			})
		}
	}
}
