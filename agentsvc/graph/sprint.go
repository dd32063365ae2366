package graph

import (
	"context"

	"github.com/flux-companion/flux/agentsvc/agentrun"
	"github.com/flux-companion/flux/agentsvc/plan"
)

// ActionPlanMicroGoal is the action of the system message SQL writes when a sprint ends and
// the next micro-goal of its pipeline becomes active (migration 900, the sprint rule).
const ActionPlanMicroGoal = "plan_micro_goal"

// planMicroGoal plans the sprint of a micro-goal that just became active and proposes it;
// like every plan, nothing is scheduled until the user approves. The planner model plans it
// when there is one (the offline template otherwise, or when the models fail).
func (t *turn) planMicroGoal(ctx context.Context) error {
	g, parent := t.microGoal(t.in.ActionGoalID)
	if g == nil {
		t.reply("The next step of that goal is no longer active, so there is nothing to plan.", "goal_planner",
			map[string]any{"kind": "notice"})
		return nil
	}
	if done, err := t.withModel(ctx, "planning the sprint", func() error { return t.planSprint(ctx, g, parent) }); done {
		return err
	}
	p := plan.Template(plan.Categorize(g.Title+" "+parent), g.Title, plan.TemplateProfile{Chronotype: t.profile.Chronotype})
	p.Tags = sprintTags(p.Tags, g.Tags)
	return t.proposeTemplatePlan(p, PendingPlan{GoalID: g.ID, Sprint: g.PipelineOrder})
}

// planSprint asks the planner for one six-week sprint of the micro-goal, as a step of its
// umbrella goal. The micro-goal keeps its title and tags.
func (t *turn) planSprint(ctx context.Context, g *agentrun.GoalRef, parent string) error {
	input := map[string]any{"goal": g.Title, "part_of": parent, "step": g.PipelineOrder,
		"note": "This is one six-week step of a longer goal: plan this step only."}
	p, err := t.consultAndPlan(ctx, input, "", g.ID)
	if err != nil {
		return err
	}
	p.GoalTitle = g.Title
	p.Tags = sprintTags(p.Tags, g.Tags)
	p.FeasibleIn6Weeks, p.MicroGoalRoadmap = true, nil
	return t.proposePlaced(p, PendingPlan{GoalID: g.ID, Sprint: g.PipelineOrder})
}

// sprintTags: the goal's own tags when it has them (the umbrella was classified once).
func sprintTags(planned, goal []string) []string {
	if len(goal) > 0 {
		return goal
	}
	return planned
}

// microGoal finds the active micro-goal id names, and its umbrella's title.
func (t *turn) microGoal(id string) (*agentrun.GoalRef, string) {
	g := t.goal(id)
	if g == nil || g.Status != "active" || g.ParentID == "" {
		return nil, ""
	}
	if u := t.goal(g.ParentID); u != nil {
		return g, u.Title
	}
	return g, ""
}
