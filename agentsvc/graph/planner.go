package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/flux-companion/flux/agentsvc/agentrun"
	"github.com/flux-companion/flux/agentsvc/llm"
	"github.com/flux-companion/flux/agentsvc/observe"
	"github.com/flux-companion/flux/agentsvc/plan"
	"github.com/flux-companion/flux/agentsvc/slots"
)

// planGoal plans a new goal, or (modify not nil) a new plan for an active goal, and proposes
// it. Nothing is written until the user approves.
func (t *turn) planGoal(ctx context.Context, goal string, modify *agentrun.GoalRef) error {
	input, classify, goalID := map[string]any{"goal": goal}, goal, ""
	if modify != nil {
		// The goal has its tags: nothing to classify.
		input, classify, goalID = map[string]any{"change": goal, "current_plan": modify.Plan, "goal_title": modify.Title}, "", modify.ID
	} else if t.atCap() {
		return nil
	}
	p, err := t.consultAndPlan(ctx, input, classify, goalID)
	if err != nil {
		return err
	}
	return t.proposePlaced(p, PendingPlan{GoalID: goalID})
}

// negotiate answers a message about the pending plan: the planner revises it, or reports
// that the user accepts it as it is (then exactly that plan is written) or gives it up.
func (t *turn) negotiate(ctx context.Context, text string) error {
	pp := t.state.PendingPlan
	input := map[string]any{"change": text, "current_plan": pp.Plan}
	p, err := t.consultAndPlan(ctx, input, "", pp.GoalID)
	if err != nil {
		return err
	}
	switch p.ApprovalStatus {
	case plan.StatusApproved:
		return t.approve()
	case plan.StatusAbandoned:
		t.dropPlan(t.mode)
		return nil
	}
	p.Tags = pp.Plan.Tags // classified once, when the goal was first planned
	if pp.Sprint > 0 {
		// A step of a longer goal stays that step.
		p.GoalTitle, p.FeasibleIn6Weeks, p.MicroGoalRoadmap = pp.Plan.GoalTitle, true, nil
	}
	return t.proposePlaced(p, PendingPlan{GoalID: pp.GoalID, Sprint: pp.Sprint})
}

// proposePlaced places a planner's plan with the slot finder and proposes it as pp (which
// names the goal it is for, if any).
func (t *turn) proposePlaced(p plan.Plan, pp PendingPlan) error {
	start := t.sprintStart()
	placed, start, err := placeOn(t.planningCalendar(pp.GoalID), p, start)
	if errors.Is(err, errNoRoom) {
		t.reply(fmt.Sprintf("I could not fit “%s” into your calendar without double-booking (%v). "+
			"Tell me which days or times could be freed, or ask for fewer sessions.", p.GoalTitle, err), "goal_planner",
			map[string]any{"kind": "question"})
		return nil
	}
	if err != nil {
		return err
	}
	placed.ApprovalStatus = plan.StatusPending
	if err := placed.Validate(); err != nil {
		return fmt.Errorf("graph: placed plan: %w", err)
	}
	pp.Plan, pp.Start = placed, start.Format(time.DateOnly)
	t.propose(pp, p.PlanSummary)
	return nil
}

// planningCalendar is the calendar a plan is placed in: a modified goal's own upcoming tasks
// are left out, because approving the new plan cancels them.
func (t *turn) planningCalendar(goalID string) *slots.Calendar {
	return t.calendar(func(b agentrun.BookedTask) bool {
		return goalID != "" && b.GoalID == goalID && !b.ScheduledAt.Before(t.in.Now)
	})
}

// consultAndPlan is the goal planner. It consults the classifier (a model), the pattern
// observer and the slot finder concurrently; the planner's own model call starts as soon as
// the two deterministic consultations are in (microseconds), so it overlaps the classifier,
// and a plan turn costs the orchestrator, the classifier and the planner: three calls. The
// results are merged: the classifier's tags win, the slot finder then places the tasks.
// classify is the goal to tag, "" when its tags are known.
func (t *turn) consultAndPlan(ctx context.Context, input map[string]any, classify, goalID string) (plan.Plan, error) {
	var (
		tags    []string
		drafted plan.Plan
	)
	launched := time.Now()
	g, gctx := newGroup(ctx)
	if classify != "" {
		g.Go(func() error {
			var err error
			tags, err = t.classify(gctx, launched, classify)
			if err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
				// The planner's own tags stand in; a missing tag is no reason to fail the plan.
				t.log.WarnContext(ctx, "classifier failed; using the planner's tags", "error", err)
				return nil
			}
			return err
		})
	}
	g.Go(func() error {
		var (
			report observe.Report
			busy   []map[string]any
		)
		inner, _ := newGroup(gctx)
		inner.Go(func() error {
			_, end := t.trace.spanFrom(gctx, "pattern_observer", launched)
			report = t.observe()
			end(Span{})
			return nil
		})
		inner.Go(func() error {
			_, end := t.trace.spanFrom(gctx, "slot_finder", launched)
			busy = t.busySummary(goalID)
			end(Span{})
			return nil
		})
		_ = inner.Wait()
		input["patterns"] = report
		input["busy"] = busy
		t.planningContext(input)
		var err error
		drafted, _, err = ask(gctx, t, "goal_planner", llm.Planner, plannerPrompt, input,
			func(p *plan.Plan) error { return p.Validate() }, llm.Schema(plan.SchemaName, plan.Schema()))
		return err
	})
	if err := g.Wait(); err != nil {
		return plan.Plan{}, err
	}
	if len(tags) > 0 {
		drafted.Tags = tags
	}
	return drafted, nil
}

// planningContext adds what every planner call needs: dates, zone, profile without personal
// details, the active goal count.
func (t *turn) planningContext(input map[string]any) {
	now := t.in.Now.In(t.loc)
	prof := map[string]any{"chronotype": t.profile.Chronotype}
	if w := t.profile.SleepWindow; w != nil {
		prof["sleep_window"] = map[string]string{"start": w.Start, "end": w.End}
	}
	if w := t.profile.WorkHours; w != nil {
		prof["work_hours"] = map[string]any{"start": w.Start, "end": w.End, "days": w.Days}
	}
	input["today_local"] = now.Format("Monday 2006-01-02")
	input["timezone"] = t.in.Timezone
	input["sprint_start"] = t.sprintStart().Format("Monday 2006-01-02")
	input["profile"] = prof
	input["active_goals"] = t.in.ActiveGoals
}

// busySummary lists booked tasks for the planner (the slot finder enforces them anyway).
func (t *turn) busySummary(goalID string) []map[string]any {
	var out []map[string]any
	for _, b := range t.in.Calendar {
		if len(out) == 60 {
			break
		}
		if goalID != "" && b.GoalID == goalID {
			continue
		}
		out = append(out, map[string]any{"title": b.Title, "local": b.ScheduledAt.In(t.loc).Format("Mon 2006-01-02 15:04"), "minutes": b.DurationMinutes})
	}
	return out
}

type classification struct {
	Tags []string `json:"tags"`
}

var classifierSchema = json.RawMessage(`{"type":"object","additionalProperties":false,"required":["tags"],
"properties":{"tags":{"type":"array","items":{"type":"string","enum":["Health","Fitness","Nutrition","Mental Health","Career",
"Learning","Financial","Relationships","Creativity","Productivity","Spirituality","Home","Travel","Other"]}}}}`)

// classify asks the classifier for 1–3 taxonomy tags.
func (t *turn) classify(ctx context.Context, launched time.Time, goal string) ([]string, error) {
	c, _, err := askFrom(ctx, t, launched, "classifier", llm.Classifier, classifierPrompt, map[string]string{"goal": goal},
		func(c *classification) error {
			if n := len(c.Tags); n < 1 || n > plan.MaxTags {
				return fmt.Errorf("tags: got %d, want 1 to %d", n, plan.MaxTags)
			}
			for i, tag := range c.Tags {
				if !slices.Contains(plan.Taxonomy, tag) {
					return fmt.Errorf("tags[%d] %q is not in the taxonomy", i, tag)
				}
				if slices.Index(c.Tags, tag) != i {
					return fmt.Errorf("tags[%d] %q is repeated", i, tag)
				}
			}
			return nil
		}, llm.Schema("goal_tags", classifierSchema))
	return c.Tags, err
}
