package graph

import (
	"fmt"
	"strings"

	"github.com/flux-companion/flux/agentsvc/plan"
)

// propose shows a plan for approval and keeps it pending. lead is the planner's own words.
func (t *turn) propose(pp PendingPlan, lead string) {
	t.state.PendingPlan = &pp
	p := pp.Plan
	var b strings.Builder
	if lead != "" {
		b.WriteString(lead + "\n")
	}
	what := "Here is a 6-week plan for “%s”"
	switch {
	case pp.Sprint > 0:
		what = fmt.Sprintf("Step %d is next. Here is its 6-week plan, “%%s”", pp.Sprint)
	case pp.GoalID != "":
		what = "Here is the new 6-week plan for “%s”"
	}
	fmt.Fprintf(&b, what+" (%s), starting %s. People keep over 70%% of their focused 6-week sprints, so it starts almost too easy and ramps up:\n",
		p.GoalTitle, strings.Join(p.Tags, ", "), pp.Start)
	if !p.FeasibleIn6Weeks && len(p.MicroGoalRoadmap) > 1 {
		fmt.Fprintf(&b, "This goal needs more than one sprint, so it becomes %d six-week steps; this plan is the first:\n", len(p.MicroGoalRoadmap))
		for _, g := range p.MicroGoalRoadmap {
			fmt.Fprintf(&b, "%d. %s (%d weeks)\n", g.PipelineOrder, g.Title, g.TargetWeeks)
		}
	}
	for _, k := range p.ProposedTasks {
		fmt.Fprintf(&b, "- %s, %s at %s — %s", plan.WeekLabel(k.WeekRange[0], k.WeekRange[1]), daysLabel(k.ScheduledDays),
			k.SuggestedTime, k.Title)
		if !strings.Contains(k.Title, fmt.Sprintf("%d min", k.DurationMinutes)) {
			fmt.Fprintf(&b, ", %d min", k.DurationMinutes)
		}
		b.WriteString("\n")
	}
	// Placement leaves at most one conflict, a sentence about what it moved; a model's plan
	// placed elsewhere may carry more, and one line is still enough to read.
	if len(p.ConflictsDetected) > 0 {
		b.WriteString(p.ConflictsDetected[0].Message + "\n")
	}
	b.WriteString("Reply “approve” to schedule it (or press Approve), tell me what to change, or “no” to drop it.")
	if pp.GoalID == "" && t.in.ActiveGoals >= MaxActiveGoals {
		fmt.Fprintf(&b, " Note: you already have %d active goals, the most Flux keeps at once; finish or abandon one before approving.", t.in.ActiveGoals)
	}
	t.replyAs(t.planMode(&pp), b.String(), "goal_planner", map[string]any{"kind": "plan", "plan": p, "start": pp.Start,
		"goal_id": pp.GoalID, "actions": []string{"approve_plan"}})
}

// daysLabel says scheduled days as people do: “every day”, “weekdays”, “weekends”, or the
// days themselves, “Mon/Wed/Fri”.
func daysLabel(days []string) string {
	switch strings.Join(days, "/") {
	case strings.Join(plan.Weekdays, "/"):
		return "every day"
	case strings.Join(plan.Weekdays[:5], "/"):
		return "weekdays"
	case strings.Join(plan.Weekdays[5:], "/"):
		return "weekends"
	case "":
		return "the days of its rule"
	}
	return strings.Join(days, "/")
}
