package graph

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/flux-companion/flux/agentsvc/agentrun"
	"github.com/flux-companion/flux/agentsvc/plan"
)

// approve writes the pending plan exactly as it was last proposed: a new goal (with its
// micro-goal pipeline when it needs more than one sprint) or the new plan of a modified goal,
// and every task of the sprint, DST-correct. The runner writes all of it in one transaction.
func (t *turn) approve() error {
	pp := t.state.PendingPlan
	m := t.planMode(pp)
	if pp.GoalID == "" && t.in.ActiveGoals >= MaxActiveGoals {
		t.replyAs(m, fmt.Sprintf("You already have %d active goals, the most Flux keeps at once. Finish or abandon one, then approve again.", t.in.ActiveGoals),
			"goal_planner", map[string]any{"kind": "notice", "reason": "active_goal_limit"})
		return nil
	}
	var modified *agentrun.GoalRef
	if pp.GoalID != "" {
		if modified = t.goal(pp.GoalID); modified == nil || modified.Status != "active" {
			t.state.PendingPlan = nil
			t.replyAs(m, "That goal is no longer active, so I dropped the new plan. Nothing was changed.", "goal_modifier",
				map[string]any{"kind": "notice"})
			return nil
		}
	}
	start, err := time.ParseInLocation(time.DateOnly, pp.Start, t.loc)
	if err != nil {
		return fmt.Errorf("graph: pending plan start %q: %w", pp.Start, err)
	}
	if tomorrow := t.sprintStart(); start.Before(tomorrow) {
		// Approved days later: the sprint starts tomorrow, not in the past.
		start = tomorrow
	}
	occ, err := plan.Materialize(pp.Plan, start, t.loc)
	if err != nil {
		return fmt.Errorf("graph: materialize plan: %w", err)
	}
	p := pp.Plan
	p.ApprovalStatus = plan.StatusApproved
	planJSON, err := json.Marshal(p)
	if err != nil {
		return err
	}

	// The goal the sprint's tasks belong to.
	var taskGoal string
	switch {
	case modified != nil:
		taskGoal = modified.ID
		t.out.PlanSwaps = append(t.out.PlanSwaps, agentrun.PlanSwap{GoalID: modified.ID, Title: p.GoalTitle,
			Description: p.GoalDescription, Tags: p.Tags, Plan: planJSON, From: t.in.Now})
	case !p.FeasibleIn6Weeks && len(p.MicroGoalRoadmap) > 1:
		// An umbrella goal and its micro-goals: the first active with this sprint's tasks, the
		// rest waiting in the pipeline until the one before completes.
		umbrella := uuid.NewString()
		weeks := 0
		for _, m := range p.MicroGoalRoadmap {
			weeks += m.TargetWeeks
		}
		t.out.Goals = append(t.out.Goals, agentrun.NewGoal{ID: umbrella, Title: p.GoalTitle, Description: p.GoalDescription,
			Tags: p.Tags, Status: "active", TargetWeeks: min(weeks, 52), Plan: planJSON})
		for _, m := range sortedRoadmap(p.MicroGoalRoadmap) {
			g := agentrun.NewGoal{ID: uuid.NewString(), Title: m.Title, Description: m.Description, Tags: p.Tags,
				Status: "pipeline", ParentID: umbrella, PipelineOrder: m.PipelineOrder, TargetWeeks: m.TargetWeeks}
			if m.PipelineOrder == 1 {
				g.Status, g.Plan, taskGoal = "active", planJSON, g.ID
			}
			t.out.Goals = append(t.out.Goals, g)
		}
	default:
		taskGoal = uuid.NewString()
		t.out.Goals = append(t.out.Goals, agentrun.NewGoal{ID: taskGoal, Title: p.GoalTitle, Description: p.GoalDescription,
			Tags: p.Tags, Status: "active", TargetWeeks: plan.SprintWeeks, Plan: planJSON})
	}
	for _, oc := range occ {
		t.out.Tasks = append(t.out.Tasks, agentrun.NewTask{GoalID: taskGoal, Title: oc.Title, Description: oc.Description,
			ScheduledAt: oc.At, DurationMinutes: int(oc.Duration / time.Minute), RecurrenceRule: oc.RRule})
	}
	t.state.PendingPlan = nil
	first := ""
	if len(occ) > 0 {
		first = " The first one is " + t.dayAt(occ[0].At) + "."
	}
	msg := fmt.Sprintf("Plan approved: “%s” is active with %d tasks over six weeks.%s", p.GoalTitle, len(occ), first)
	node := "goal_planner"
	switch {
	case pp.Sprint > 0:
		msg = fmt.Sprintf("Plan approved: step %d, “%s”, is under way with %d tasks over six weeks.%s", pp.Sprint, p.GoalTitle, len(occ), first)
	case modified != nil:
		msg = fmt.Sprintf("Plan changed: “%s” now has %d tasks over the next six weeks; its earlier upcoming tasks are cancelled.%s", p.GoalTitle, len(occ), first)
		node = "goal_modifier"
	}
	t.replyAs(m, msg, node, map[string]any{"kind": "plan_approved", "goal_id": taskGoal, "tasks": len(occ)})
	return nil
}

// dropPlan gives the pending plan up, saying so in mode m.
func (t *turn) dropPlan(m mode) {
	title := t.state.PendingPlan.Plan.GoalTitle
	t.state.PendingPlan = nil
	t.replyAs(m, fmt.Sprintf("Okay, I dropped the plan for “%s”. Nothing was scheduled.", title), "goal_planner",
		map[string]any{"kind": "plan_dropped"})
}

func sortedRoadmap(in []plan.MicroGoal) []plan.MicroGoal {
	out := make([]plan.MicroGoal, len(in))
	for _, m := range in {
		out[m.PipelineOrder-1] = m // Validate guarantees 1..n, each once
	}
	return out
}

// proposeReschedule proposes moving a task to at, or to the nearest free time that day when
// at is taken. Nothing moves until the user confirms.
func (t *turn) proposeReschedule(taskID string, at time.Time) error {
	task, ok := t.booked(taskID)
	if !ok {
		t.state.PendingReschedule = nil
		t.reply("I cannot find that task among your upcoming ones any more; nothing was moved.", "reschedule",
			map[string]any{"kind": "notice"})
		return nil
	}
	// What follows needs no model, so it is labelled offline only when none is configured,
	// whichever route the turn took.
	m := t.deterministic()
	cal := t.calendarWithout(taskID)
	d := time.Duration(task.DurationMinutes) * time.Minute
	lead := ""
	if at.Before(t.in.Now) {
		at = t.in.Now
	}
	// A time the user named is honoured unless it meets another task; only then the slot
	// finder looks for the nearest free time, that day first.
	if c := cal.Conflicts([]time.Time{at}, d); len(c) > 0 {
		next, found := cal.Next(at, d, true)
		if !found {
			next, found = cal.Next(at, d, false)
		}
		if !found {
			t.replyAs(m, fmt.Sprintf("I found no free time for “%s” soon after %s. Which other time would suit you?",
				task.Title, at.In(t.loc).Format("Mon 2 Jan 15:04")), "reschedule", map[string]any{"kind": "question", "field": "time"})
			t.state.PendingReschedule = &PendingReschedule{TaskID: taskID, Title: task.Title}
			return nil
		}
		lead = fmt.Sprintf("%s is taken by “%s”. ", at.In(t.loc).Format("15:04"), c[0].ExistingTitle)
		at = next
	}
	t.state.PendingReschedule = &PendingReschedule{TaskID: taskID, Title: task.Title, At: at.UTC()}
	t.state.PendingCancel = nil
	t.replyAs(m, fmt.Sprintf("%sMove “%s” to %s? Reply “yes” to confirm, or name another time.", lead, task.Title,
		strings.TrimPrefix(t.dayAt(at), "on ")), "reschedule",
		map[string]any{"kind": "question", "field": "confirm", "proposal": "reschedule", "task_id": taskID, "proposed_at": at.UTC().Format(time.RFC3339)})
	return nil
}

// applyReschedule moves the task as proposed; its reminder ladder restarts for the new time.
func (t *turn) applyReschedule() error {
	pr := t.state.PendingReschedule
	t.state.PendingReschedule = nil
	if _, ok := t.booked(pr.TaskID); !ok {
		t.reply(fmt.Sprintf("“%s” is no longer open, so nothing was moved.", pr.Title), "reschedule", map[string]any{"kind": "notice"})
		return nil
	}
	t.out.Reschedules = append(t.out.Reschedules, agentrun.Reschedule{TaskID: pr.TaskID, At: pr.At})
	t.reply(fmt.Sprintf("Done: “%s” is now %s.", pr.Title, t.dayAt(pr.At)), "reschedule",
		map[string]any{"kind": "task_rescheduled", "task_id": pr.TaskID, "at": pr.At.Format(time.RFC3339)})
	return nil
}

// goal is the turn's goal of id; nil when there is none.
func (t *turn) goal(id string) *agentrun.GoalRef {
	if i := slices.IndexFunc(t.in.Goals, func(g agentrun.GoalRef) bool { return g.ID == id }); i >= 0 {
		return &t.in.Goals[i]
	}
	return nil
}

func (t *turn) booked(id string) (agentrun.BookedTask, bool) {
	for _, b := range t.in.Calendar {
		if b.ID == id {
			return b, true
		}
	}
	return agentrun.BookedTask{}, false
}
