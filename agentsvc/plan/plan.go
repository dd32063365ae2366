package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/flux-companion/flux/agentsvc/timeparse"
)

// Limits of the contract. They are stated in the schema's descriptions too.
const (
	SprintWeeks      = 6   // a plan is one 6-week sprint
	MaxTags          = 3   // tags per goal
	MaxProposedTasks = 20  // keeps a plan card readable and a sprint sustainable
	MaxMicroGoals    = 10  // a pipeline of ten 6-week sprints is already over a year
	MaxConflicts     = 50  // far more than a real week holds; bounds a runaway answer
	MinTaskMinutes   = 5   // shorter is not a session
	MaxTaskMinutes   = 480 // longer is not a habit
	MaxTitleLen      = 200 // runes
	MaxTextLen       = 2000
)

// Approval statuses of a plan.
const (
	StatusPending     = "pending"
	StatusApproved    = "approved"
	StatusNegotiating = "negotiating"
	StatusAbandoned   = "abandoned"
)

// ApprovalStatuses are the valid approval_status values.
var ApprovalStatuses = []string{StatusPending, StatusApproved, StatusNegotiating, StatusAbandoned}

// Taxonomy is the classifier's fixed tag set, in the order docs/product.md lists it.
var Taxonomy = []string{
	"Health", "Fitness", "Nutrition", "Mental Health", "Career", "Learning", "Financial",
	"Relationships", "Creativity", "Productivity", "Spirituality", "Home", "Travel", "Other",
}

// Weekdays are the valid scheduled_days names, Monday first.
var Weekdays = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// Plan is the Goal Planner's answer.
type Plan struct {
	GoalTitle         string         `json:"goal_title"`
	GoalDescription   string         `json:"goal_description"`
	Tags              []string       `json:"tags"` // 1-3 from Taxonomy
	FeasibleIn6Weeks  bool           `json:"goal_feasible_in_6_weeks"`
	MicroGoalRoadmap  []MicroGoal    `json:"micro_goal_roadmap"`
	ProposedTasks     []ProposedTask `json:"proposed_tasks"`
	ConflictsDetected []Conflict     `json:"conflicts_detected"`
	PlanSummary       string         `json:"plan_summary"`
	ApprovalStatus    string         `json:"approval_status"` // one of ApprovalStatuses
}

// Clone is a deep copy of the plan.
func (p Plan) Clone() Plan {
	p.Tags, p.MicroGoalRoadmap = slices.Clone(p.Tags), slices.Clone(p.MicroGoalRoadmap)
	p.ProposedTasks, p.ConflictsDetected = slices.Clone(p.ProposedTasks), slices.Clone(p.ConflictsDetected)
	for i := range p.ProposedTasks {
		k := &p.ProposedTasks[i]
		k.ScheduledDays, k.WeekRange = slices.Clone(k.ScheduledDays), slices.Clone(k.WeekRange)
	}
	return p
}

// MicroGoal is one 6-week step of a goal that needs longer than one sprint.
type MicroGoal struct {
	Title         string `json:"title"`
	Description   string `json:"description"`
	PipelineOrder int    `json:"pipeline_order"` // 1..n, 1 is activated first
	TargetWeeks   int    `json:"target_weeks"`   // 1..6
}

// ProposedTask is one recurring task of the sprint.
type ProposedTask struct {
	Title           string   `json:"title"`
	Description     string   `json:"description"`
	ScheduledDays   []string `json:"scheduled_days"`   // Weekdays names
	SuggestedTime   string   `json:"suggested_time"`   // user-local "HH:MM"
	DurationMinutes int      `json:"duration_minutes"` // MinTaskMinutes..MaxTaskMinutes
	RecurrenceRule  string   `json:"recurrence_rule"`  // RRULE body, "" = weekly on ScheduledDays
	WeekRange       []int    `json:"week_range"`       // [first, last], 1 <= first <= last <= 6
}

// Conflict is an existing task the plan collides with.
type Conflict struct {
	ExistingTaskTitle string `json:"existing_task_title"`
	ScheduledAt       string `json:"scheduled_at"` // RFC 3339
	Message           string `json:"message"`
}

// FieldError is one problem in a plan. Its message names the JSON field and
// quotes the value, because it is shown to the model as a correction.
type FieldError struct {
	Field  string // JSON path, e.g. proposed_tasks[2].suggested_time
	Value  any    // the offending value as decoded
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s %s: %s", e.Field, quote(e.Value), e.Reason)
}

// quote renders v as JSON, as the model wrote it, shortening long strings so a
// correction prompt stays small.
func quote(v any) string {
	if s, ok := v.(string); ok && utf8.RuneCountInString(s) > 60 {
		v = string([]rune(s)[:60]) + "…"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Validate reports every problem of p as *FieldError values joined with
// errors.Join, or nil. It does not change p.
func (p *Plan) Validate() error {
	v := &validator{}
	v.title("goal_title", p.GoalTitle)
	v.text("goal_description", p.GoalDescription, false)
	v.tags(p.Tags)
	v.roadmap(p.FeasibleIn6Weeks, p.MicroGoalRoadmap)

	if !slices.Contains(ApprovalStatuses, p.ApprovalStatus) {
		v.add("approval_status", p.ApprovalStatus, "want one of "+strings.Join(ApprovalStatuses, ", "))
	}
	switch n := len(p.ProposedTasks); {
	case n > MaxProposedTasks:
		v.add("proposed_tasks", n, fmt.Sprintf("at most %d tasks", MaxProposedTasks))
	case n == 0 && p.ApprovalStatus != StatusAbandoned:
		// Only an abandoned plan may have nothing to do.
		v.add("proposed_tasks", n, "at least one task unless approval_status is abandoned")
	}
	for i, t := range p.ProposedTasks {
		v.task(fmt.Sprintf("proposed_tasks[%d]", i), t)
	}
	if n := len(p.ConflictsDetected); n > MaxConflicts {
		v.add("conflicts_detected", n, fmt.Sprintf("at most %d conflicts", MaxConflicts))
	}
	for i, c := range p.ConflictsDetected {
		f := fmt.Sprintf("conflicts_detected[%d]", i)
		v.title(f+".existing_task_title", c.ExistingTaskTitle)
		if _, err := time.Parse(time.RFC3339, c.ScheduledAt); err != nil {
			v.add(f+".scheduled_at", c.ScheduledAt, `want an RFC 3339 time, e.g. "2026-03-16T07:00:00Z"`)
		}
		v.text(f+".message", c.Message, true)
	}
	v.text("plan_summary", p.PlanSummary, true)
	return errors.Join(v.errs...)
}

type validator struct{ errs []error }

func (v *validator) add(field string, value any, reason string) {
	v.errs = append(v.errs, &FieldError{Field: field, Value: value, Reason: reason})
}

func (v *validator) title(field, s string) {
	switch {
	case strings.TrimSpace(s) == "":
		v.add(field, s, "must not be empty")
	case utf8.RuneCountInString(s) > MaxTitleLen:
		v.add(field, s, fmt.Sprintf("at most %d characters", MaxTitleLen))
	}
}

func (v *validator) text(field, s string, required bool) {
	switch {
	case required && strings.TrimSpace(s) == "":
		v.add(field, s, "must not be empty")
	case utf8.RuneCountInString(s) > MaxTextLen:
		v.add(field, s, fmt.Sprintf("at most %d characters", MaxTextLen))
	}
}

func (v *validator) tags(tags []string) {
	if len(tags) < 1 || len(tags) > MaxTags {
		v.add("tags", tags, fmt.Sprintf("want 1 to %d tags", MaxTags))
	}
	for i, t := range tags {
		f := fmt.Sprintf("tags[%d]", i)
		switch {
		case !slices.Contains(Taxonomy, t):
			v.add(f, t, "not in the taxonomy: "+strings.Join(Taxonomy, ", "))
		case slices.Contains(tags[:i], t):
			v.add(f, t, "duplicate tag")
		}
	}
}

func (v *validator) roadmap(feasible bool, goals []MicroGoal) {
	// One sprint needs no pipeline; a longer goal is a pipeline of at least two.
	switch n := len(goals); {
	case n > MaxMicroGoals:
		v.add("micro_goal_roadmap", n, fmt.Sprintf("at most %d micro-goals", MaxMicroGoals))
	case feasible && n > 1:
		v.add("micro_goal_roadmap", n, "goal_feasible_in_6_weeks is true, so the roadmap has at most one micro-goal")
	case !feasible && n < 2:
		v.add("micro_goal_roadmap", n, "goal_feasible_in_6_weeks is false, so the roadmap needs at least two 6-week micro-goals")
	}
	seen := make(map[int]bool, len(goals))
	for i, g := range goals {
		f := fmt.Sprintf("micro_goal_roadmap[%d]", i)
		v.title(f+".title", g.Title)
		v.text(f+".description", g.Description, false)
		switch {
		case g.PipelineOrder < 1 || g.PipelineOrder > len(goals):
			v.add(f+".pipeline_order", g.PipelineOrder, fmt.Sprintf("pipeline orders are 1 to %d, each once", len(goals)))
		case seen[g.PipelineOrder]:
			v.add(f+".pipeline_order", g.PipelineOrder, "duplicate pipeline_order")
		}
		seen[g.PipelineOrder] = true
		if g.TargetWeeks < 1 || g.TargetWeeks > SprintWeeks {
			v.add(f+".target_weeks", g.TargetWeeks, fmt.Sprintf("want 1 to %d", SprintWeeks))
		}
	}
}

func (v *validator) task(f string, t ProposedTask) {
	v.title(f+".title", t.Title)
	v.text(f+".description", t.Description, false)

	days := make([]time.Weekday, 0, len(t.ScheduledDays))
	for i, d := range t.ScheduledDays {
		wd, ok := parseWeekday(d)
		switch {
		case !ok:
			v.add(fmt.Sprintf("%s.scheduled_days[%d]", f, i), d, "want one of "+strings.Join(Weekdays, ", "))
		case slices.Contains(days, wd):
			v.add(fmt.Sprintf("%s.scheduled_days[%d]", f, i), d, "duplicate day")
		default:
			days = append(days, wd)
		}
	}
	if _, _, ok := timeparse.HHMM(t.SuggestedTime); !ok {
		v.add(f+".suggested_time", t.SuggestedTime, `want 24-hour local time HH:MM, e.g. "07:00" or "18:30"`)
	}
	if t.DurationMinutes < MinTaskMinutes || t.DurationMinutes > MaxTaskMinutes {
		v.add(f+".duration_minutes", t.DurationMinutes, fmt.Sprintf("want %d to %d minutes", MinTaskMinutes, MaxTaskMinutes))
	}
	if len(t.WeekRange) != 2 {
		v.add(f+".week_range", t.WeekRange, fmt.Sprintf("want two weeks [first, last], each 1 to %d", SprintWeeks))
	} else if a, b := t.WeekRange[0], t.WeekRange[1]; a < 1 || b > SprintWeeks || a > b {
		v.add(f+".week_range", t.WeekRange, fmt.Sprintf("want [first, last] with 1 <= first <= last <= %d", SprintWeeks))
	}

	if strings.TrimSpace(t.RecurrenceRule) == "" {
		if len(t.ScheduledDays) == 0 {
			v.add(f+".scheduled_days", t.ScheduledDays, "at least one day when recurrence_rule is empty")
		}
		return
	}
	r, err := parseRule(t.RecurrenceRule, time.UTC)
	if err != nil {
		v.add(f+".recurrence_rule", t.RecurrenceRule, err.Error())
		return
	}
	if msg := r.daysConflict(days, len(t.ScheduledDays)); msg != "" {
		v.add(f+".recurrence_rule", t.RecurrenceRule, msg)
	}
}

// parseWeekday accepts exactly the names in Weekdays, as the schema's enum does.
func parseWeekday(s string) (time.Weekday, bool) {
	wd, _, _, ok := timeparse.WeekdayWord(s)
	return wd, ok && wd.String()[:3] == s
}
