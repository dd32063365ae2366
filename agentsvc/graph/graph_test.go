package graph

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/flux-companion/flux/agentsvc/agentrun"
)

// turn runs one offline turn for a Berlin user at now, with state carried from before.
func offlineTurn(t *testing.T, now time.Time, content, action string, state json.RawMessage, activeGoals int) agentrun.Output {
	t.Helper()
	out, err := (&Graph{}).Turn(context.Background(), agentrun.Run{}, agentrun.Input{
		Content: content, Action: action, Timezone: "Europe/Berlin", Onboarded: true, Profile: json.RawMessage(`{"chronotype": "evening"}`),
		State: state, Now: now, ActiveGoals: activeGoals,
	})
	if err != nil {
		t.Fatalf("%q: %v", content, err)
	}
	if len(out.Replies) != 1 || !strings.HasSuffix(out.Replies[0].Content, OfflineNote) {
		t.Fatalf("%q: replies %+v, want one labelled offline", content, out.Replies)
	}
	return out
}

func TestOfflinePlanNegotiation(t *testing.T) {
	t.Parallel()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 3, 20, 10, 0, 0, 0, berlin) // the sprint crosses the 29 March DST change

	proposed := offlineTurn(t, now, "I want to run a 5K", "", nil, 0)
	if len(proposed.Goals) != 0 || len(proposed.Tasks) != 0 || !strings.Contains(string(proposed.State), `"pending_plan"`) {
		t.Fatalf("a proposal writes nothing but its state: %+v", proposed)
	}
	// "no" drops it.
	dropped := offlineTurn(t, now, "no thanks", "", proposed.State, 0)
	if strings.Contains(string(dropped.State), "pending_plan") || len(dropped.Tasks) != 0 {
		t.Errorf("no: state %s, %d tasks", dropped.State, len(dropped.Tasks))
	}
	// A change request is not an approval.
	changed := offlineTurn(t, now, "ok, but make it mornings", "", proposed.State, 0)
	if len(changed.Goals) != 0 || !strings.Contains(string(changed.State), "pending_plan") ||
		!strings.HasPrefix(changed.Replies[0].Content, "Without the AI planner I cannot change the plan for “Run a 5K”.") {
		t.Errorf("\"ok, but ...\": %d goals, reply %q", len(changed.Goals), changed.Replies[0].Content)
	}
	// At the cap, approval is refused and the plan stays pending.
	capped := offlineTurn(t, now, "yes", "", proposed.State, MaxActiveGoals)
	if len(capped.Goals) != 0 || !strings.Contains(string(capped.State), "pending_plan") {
		t.Errorf("approval at the cap wrote %d goals; state %s", len(capped.Goals), capped.State)
	}
	// The button, two days later: the sprint starts tomorrow, never in the past.
	later := now.AddDate(0, 0, 2)
	approved := offlineTurn(t, later, "Approve the plan", "approve_plan", proposed.State, 2)
	if len(approved.Goals) != 1 || approved.Goals[0].Status != "active" || len(approved.Tasks) == 0 {
		t.Fatalf("approval: %d goals, %d tasks", len(approved.Goals), len(approved.Tasks))
	}
	first := approved.Tasks[0].ScheduledAt.In(berlin)
	if y, m, d := first.Date(); time.Date(y, m, d, 0, 0, 0, 0, berlin).Before(time.Date(2026, 3, 23, 0, 0, 0, 0, berlin)) {
		t.Errorf("first task %s: before the day after approval", first)
	}
	for _, k := range approved.Tasks {
		if k.GoalID != approved.Goals[0].ID {
			t.Fatalf("task %+v not linked to the goal", k)
		}
		if l := k.ScheduledAt.In(berlin); l.Format("15:04") != "19:00" {
			t.Errorf("task at %s local: an evening person's template runs at 19:00 across DST", l)
		}
	}
	if strings.Contains(string(approved.State), "pending_plan") {
		t.Error("the plan is still pending after approval")
	}
	// The button with nothing pending changes nothing.
	again := offlineTurn(t, later, "Approve the plan", "approve_plan", approved.State, 3)
	if len(again.Goals)+len(again.Tasks) != 0 {
		t.Error("a second press wrote again")
	}
}

func TestOfflineReminders(t *testing.T) {
	t.Parallel()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, berlin)
	for _, tc := range []struct {
		say   string
		tasks int
		first string // local
		reply string
	}{
		{"remind me to call mom at 5pm", 1, "2026-11-25 17:00", "Reminder set: “Call mom” today at 17:00."},
		{"take vitamins tomorrow at 8", 1, "2026-11-26 08:00", "Reminder set: “Take vitamins” tomorrow at 08:00."},
		{"every Monday at 7 gym", 6, "2026-11-30 07:00", "Reminder set: “Gym”, every Monday at 07:00"},
		{"remind me to pay rent", 0, "", "When should I remind you to pay rent?"},
		{"hello there", 0, "", "I can set reminders"},
	} {
		out := offlineTurn(t, now, tc.say, "", nil, 0)
		if len(out.Tasks) != tc.tasks || !strings.HasPrefix(out.Replies[0].Content, tc.reply) {
			t.Errorf("%q: %d tasks, reply %q; want %d, %q", tc.say, len(out.Tasks), out.Replies[0].Content, tc.tasks, tc.reply)
			continue
		}
		if tc.tasks > 0 {
			if got := out.Tasks[0].ScheduledAt.In(berlin).Format("2006-01-02 15:04"); got != tc.first {
				t.Errorf("%q: first at %s, want %s", tc.say, got, tc.first)
			}
		}
	}
}

func TestGoalTitle(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"I want to run a 5K.":           "Run a 5K",
		"i want to überwinden my fear!": "Überwinden my fear",
		"help me":                       "Help me",
		"":                              "My goal",
	} {
		if got := goalTitle(in); got != want {
			t.Errorf("goalTitle(%q) = %q, want %q", in, got, want)
		}
	}
	if got := []rune(goalTitle(strings.Repeat("é", 200))); len(got) != 120 || string(got[1:]) != strings.Repeat("é", 119) {
		t.Errorf("a long title is cut at 120 letters, not in the middle of one: %q", string(got))
	}
}

// The snapshot a failed model path is undone with shares nothing with the state it copies.
func TestStateCloneIsDeep(t *testing.T) {
	t.Parallel()
	var st State
	must(t, json.Unmarshal([]byte(`{"pending_plan": {"plan": {"tags": ["Fitness"], "proposed_tasks": [{"scheduled_days": ["Mon"],
		"week_range": [1, 6]}], "micro_goal_roadmap": [{"title": "a"}], "conflicts_detected": [{"message": "m"}]}},
		"pending_task": {"title": "t"}, "pending_reschedule": {"task_id": "r"}, "pending_cancel": {"task_id": "c"},
		"onboarding": {"profile": {"sleep_window": {"start": "23:00", "end": "07:00"}, "work_hours": {"days": ["Mon"]},
		"locations": {"home": "h"}, "existing_commitments": [{"days": ["Tue"]}], "whatsapp_consent": true}}}`), &st))
	before, _ := json.Marshal(st)
	c := st.clone()
	if got, _ := json.Marshal(c); string(got) != string(before) {
		t.Fatalf("clone %s, want %s", got, before)
	}
	k, p := &c.PendingPlan.Plan, &c.Onboarding.Profile
	k.Tags[0], k.ProposedTasks[0].ScheduledDays[0], k.ProposedTasks[0].WeekRange[0] = "x", "x", 9
	k.MicroGoalRoadmap[0].Title, k.ConflictsDetected[0].Message = "x", "x"
	c.PendingTask.Title, c.PendingReschedule.TaskID, c.PendingCancel.TaskID = "x", "x", "x"
	p.SleepWindow.Start, p.WorkHours.Days[0], p.Locations["home"], p.Commitments[0].Days[0] = "x", "x", "x", "x"
	*p.WhatsAppConsent = false
	if after, _ := json.Marshal(st); string(after) != string(before) {
		t.Errorf("changing the clone changed the state:\n%s\nwas\n%s", after, before)
	}
}
