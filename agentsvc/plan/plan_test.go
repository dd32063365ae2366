package plan

import (
	"errors"
	"strings"
	"testing"
)

// goodPlan is a valid plan; each call returns a fresh copy to mutate.
func goodPlan() Plan {
	return Plan{
		GoalTitle:        "Run a 5K",
		GoalDescription:  "Run 5 km without stopping.",
		Tags:             []string{"Fitness", "Health"},
		FeasibleIn6Weeks: true,
		MicroGoalRoadmap: []MicroGoal{{Title: "Run a 5K", Description: "Couch to 5K", PipelineOrder: 1, TargetWeeks: 6}},
		ProposedTasks: []ProposedTask{
			{Title: "Easy run", Description: "Walk-run intervals", ScheduledDays: []string{"Mon", "Wed", "Fri"},
				SuggestedTime: "07:00", DurationMinutes: 15, RecurrenceRule: "", WeekRange: []int{1, 2}},
			{Title: "Longer run", Description: "Steady pace", ScheduledDays: []string{"Mon", "Wed", "Fri"},
				SuggestedTime: "07:00", DurationMinutes: 30, RecurrenceRule: "FREQ=WEEKLY;BYDAY=MO,WE,FR", WeekRange: []int{3, 6}},
		},
		ConflictsDetected: []Conflict{{ExistingTaskTitle: "Team standup", ScheduledAt: "2026-03-16T08:00:00Z",
			Message: "Runs end before the standup."}},
		PlanSummary:    "Three short runs a week, growing to 30 minutes.",
		ApprovalStatus: StatusPending,
	}
}

func TestValidateAcceptsGoodPlans(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mut  func(*Plan)
	}{
		{"as is", func(*Plan) {}},
		{"abandoned without tasks", func(p *Plan) { p.ApprovalStatus = StatusAbandoned; p.ProposedTasks = nil }},
		{"empty roadmap", func(p *Plan) { p.MicroGoalRoadmap = nil }},
		{"pipeline of two", func(p *Plan) {
			p.FeasibleIn6Weeks = false
			p.MicroGoalRoadmap = []MicroGoal{
				{Title: "Half marathon", PipelineOrder: 2, TargetWeeks: 6},
				{Title: "10K", PipelineOrder: 1, TargetWeeks: 6},
			}
		}},
		{"rrule with prefix and lower case", func(p *Plan) { p.ProposedTasks[1].RecurrenceRule = "rrule:freq=weekly;byday=mo,we,fr;" }},
		{"daily rule, no days", func(p *Plan) {
			p.ProposedTasks[1].RecurrenceRule = "FREQ=DAILY;INTERVAL=2"
			p.ProposedTasks[1].ScheduledDays = []string{}
		}},
		{"daily rule, all days", func(p *Plan) {
			p.ProposedTasks[1].RecurrenceRule = "FREQ=DAILY"
			p.ProposedTasks[1].ScheduledDays = Weekdays
		}},
		{"weekly rule without BYDAY uses days", func(p *Plan) { p.ProposedTasks[1].RecurrenceRule = "FREQ=WEEKLY;COUNT=6" }},
		{"monthly first Monday", func(p *Plan) {
			p.ProposedTasks[1].RecurrenceRule = "FREQ=MONTHLY;BYDAY=1MO"
			p.ProposedTasks[1].ScheduledDays = []string{"Mon"}
		}},
		{"until", func(p *Plan) { p.ProposedTasks[1].RecurrenceRule = "FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20260430T000000Z" }},
		{"bounds", func(p *Plan) {
			p.ProposedTasks[0].DurationMinutes = 5
			p.ProposedTasks[1].DurationMinutes = 480
			p.ProposedTasks[0].SuggestedTime = "00:00"
			p.ProposedTasks[1].SuggestedTime = "23:59"
			p.ProposedTasks[0].WeekRange = []int{1, 1}
			p.Tags = []string{"Fitness", "Health", "Mental Health"}
			p.GoalTitle = strings.Repeat("é", MaxTitleLen)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := goodPlan()
			tt.mut(&p)
			if err := p.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	t.Parallel()
	task := func(i int, f func(*ProposedTask)) func(*Plan) {
		return func(p *Plan) { f(&p.ProposedTasks[i]) }
	}
	tests := []struct {
		name  string
		mut   func(*Plan)
		field string // the FieldError's field
		want  string // in its message, usually the quoted value
	}{
		{"approval enum", func(p *Plan) { p.ApprovalStatus = "accepted" }, "approval_status", `"accepted"`},
		{"approval empty", func(p *Plan) { p.ApprovalStatus = "" }, "approval_status", "pending, approved"},
		{"unknown tag", func(p *Plan) { p.Tags = []string{"Fitness", "Running"} }, "tags[1]", `"Running"`},
		{"tag case", func(p *Plan) { p.Tags = []string{"fitness"} }, "tags[0]", `"fitness"`},
		{"four tags", func(p *Plan) { p.Tags = []string{"Fitness", "Health", "Nutrition", "Other"} }, "tags", "1 to 3"},
		{"no tags", func(p *Plan) { p.Tags = nil }, "tags", "1 to 3"},
		{"duplicate tag", func(p *Plan) { p.Tags = []string{"Fitness", "Fitness"} }, "tags[1]", "duplicate"},
		{"empty goal title", func(p *Plan) { p.GoalTitle = "  " }, "goal_title", "empty"},
		{"long goal title", func(p *Plan) { p.GoalTitle = strings.Repeat("x", MaxTitleLen+1) }, "goal_title", "200"},
		{"empty summary", func(p *Plan) { p.PlanSummary = "" }, "plan_summary", "empty"},
		{"bad HH:MM 7pm", task(0, func(t *ProposedTask) { t.SuggestedTime = "7pm" }), "proposed_tasks[0].suggested_time", `"7pm"`},
		{"bad HH:MM 7:00", task(0, func(t *ProposedTask) { t.SuggestedTime = "7:00" }), "proposed_tasks[0].suggested_time", `"7:00"`},
		{"bad HH:MM 24:00", task(1, func(t *ProposedTask) { t.SuggestedTime = "24:00" }), "proposed_tasks[1].suggested_time", `"24:00"`},
		{"bad HH:MM seconds", task(1, func(t *ProposedTask) { t.SuggestedTime = "07:00:00" }), "proposed_tasks[1].suggested_time", `"07:00:00"`},
		{"bad weekday", task(0, func(t *ProposedTask) { t.ScheduledDays = []string{"Mon", "Monday"} }), "proposed_tasks[0].scheduled_days[1]", `"Monday"`},
		{"duplicate weekday", task(0, func(t *ProposedTask) { t.ScheduledDays = []string{"Mon", "Mon"} }), "proposed_tasks[0].scheduled_days[1]", "duplicate"},
		{"no days, no rule", task(0, func(t *ProposedTask) { t.ScheduledDays = nil }), "proposed_tasks[0].scheduled_days", "at least one day"},
		{"rrule garbage", task(1, func(t *ProposedTask) { t.RecurrenceRule = "every monday" }), "proposed_tasks[1].recurrence_rule", `"every monday"`},
		{"rrule unknown freq", task(1, func(t *ProposedTask) { t.RecurrenceRule = "FREQ=FORTNIGHTLY" }), "proposed_tasks[1].recurrence_rule", "FORTNIGHTLY"},
		{"rrule hourly", task(1, func(t *ProposedTask) { t.RecurrenceRule = "FREQ=HOURLY" }), "proposed_tasks[1].recurrence_rule", "FREQ=HOURLY is not allowed"},
		{"rrule minutely", task(1, func(t *ProposedTask) { t.RecurrenceRule = "FREQ=MINUTELY;INTERVAL=30" }), "proposed_tasks[1].recurrence_rule", "FREQ=MINUTELY"},
		{"rrule secondly", task(1, func(t *ProposedTask) { t.RecurrenceRule = "FREQ=SECONDLY" }), "proposed_tasks[1].recurrence_rule", "FREQ=SECONDLY"},
		{"rrule yearly", task(1, func(t *ProposedTask) { t.RecurrenceRule = "FREQ=YEARLY" }), "proposed_tasks[1].recurrence_rule", "FREQ=YEARLY"},
		{"rrule dtstart", task(1, func(t *ProposedTask) {
			t.RecurrenceRule = "DTSTART:20260316T070000Z\nRRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR"
		}), "proposed_tasks[1].recurrence_rule", "DTSTART"},
		{"rrule dtstart part", task(1, func(t *ProposedTask) { t.RecurrenceRule = "FREQ=WEEKLY;DTSTART=20260316T070000Z" }), "proposed_tasks[1].recurrence_rule", "DTSTART"},
		{"rrule byhour", task(1, func(t *ProposedTask) { t.RecurrenceRule = "FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=7" }), "proposed_tasks[1].recurrence_rule", "BYHOUR"},
		{"rrule weekly bysetpos", task(1, func(t *ProposedTask) { t.RecurrenceRule = "FREQ=WEEKLY;BYDAY=MO,WE,FR;BYSETPOS=1" }), "proposed_tasks[1].recurrence_rule", "BYSETPOS"},
		{"rrule bymonth", task(1, func(t *ProposedTask) { t.RecurrenceRule = "FREQ=WEEKLY;BYMONTH=3" }), "proposed_tasks[1].recurrence_rule", "BYMONTH"},
		{"rrule bad byday", task(1, func(t *ProposedTask) { t.RecurrenceRule = "FREQ=WEEKLY;BYDAY=XX" }), "proposed_tasks[1].recurrence_rule", "BYDAY=XX"},
		{"rrule bad bymonthday", task(1, func(t *ProposedTask) {
			t.RecurrenceRule = "FREQ=MONTHLY;BYMONTHDAY=32"
			t.ScheduledDays = nil
		}), "proposed_tasks[1].recurrence_rule", "bymonthday"},
		{"rrule zero interval", task(1, func(t *ProposedTask) { t.RecurrenceRule = "FREQ=WEEKLY;INTERVAL=0" }), "proposed_tasks[1].recurrence_rule", "INTERVAL=0"},
		{"rrule twice", task(1, func(t *ProposedTask) { t.RecurrenceRule = "FREQ=WEEKLY;FREQ=DAILY" }), "proposed_tasks[1].recurrence_rule", "twice"},
		{"rrule no freq", task(1, func(t *ProposedTask) { t.RecurrenceRule = "BYDAY=MO,WE,FR" }), "proposed_tasks[1].recurrence_rule", "FREQ"},
		{"byday vs days", task(1, func(t *ProposedTask) { t.RecurrenceRule = "FREQ=WEEKLY;BYDAY=TU,TH" }), "proposed_tasks[1].recurrence_rule", "does not match scheduled_days [Mon Wed Fri]"},
		{"daily vs some days", task(1, func(t *ProposedTask) { t.RecurrenceRule = "FREQ=DAILY" }), "proposed_tasks[1].recurrence_rule", "BYDAY=MO,WE,FR"},
		{"weekly without any days", task(1, func(t *ProposedTask) { t.RecurrenceRule = "FREQ=WEEKLY"; t.ScheduledDays = nil }), "proposed_tasks[1].recurrence_rule", "BYDAY or scheduled_days"},
		{"monthly with days", task(1, func(t *ProposedTask) { t.RecurrenceRule = "FREQ=MONTHLY;BYMONTHDAY=1" }), "proposed_tasks[1].recurrence_rule", "monthly"},
		{"week_range reversed", task(0, func(t *ProposedTask) { t.WeekRange = []int{4, 2} }), "proposed_tasks[0].week_range", "[4,2]"},
		{"week_range past 6", task(0, func(t *ProposedTask) { t.WeekRange = []int{5, 7} }), "proposed_tasks[0].week_range", "[5,7]"},
		{"week_range zero", task(0, func(t *ProposedTask) { t.WeekRange = []int{0, 2} }), "proposed_tasks[0].week_range", "[0,2]"},
		{"week_range one number", task(0, func(t *ProposedTask) { t.WeekRange = []int{3} }), "proposed_tasks[0].week_range", "[3]"},
		{"week_range missing", task(0, func(t *ProposedTask) { t.WeekRange = nil }), "proposed_tasks[0].week_range", "null"},
		{"duration too short", task(0, func(t *ProposedTask) { t.DurationMinutes = 4 }), "proposed_tasks[0].duration_minutes", "4: want 5 to 480"},
		{"duration too long", task(1, func(t *ProposedTask) { t.DurationMinutes = 481 }), "proposed_tasks[1].duration_minutes", "481"},
		{"empty task title", task(1, func(t *ProposedTask) { t.Title = "" }), "proposed_tasks[1].title", "empty"},
		{"too many tasks", func(p *Plan) {
			for len(p.ProposedTasks) <= MaxProposedTasks {
				p.ProposedTasks = append(p.ProposedTasks, p.ProposedTasks[0])
			}
		}, "proposed_tasks", "at most 20"},
		{"no tasks while pending", func(p *Plan) { p.ProposedTasks = []ProposedTask{} }, "proposed_tasks", "at least one"},
		{"pipeline order gap", func(p *Plan) {
			p.FeasibleIn6Weeks = false
			p.MicroGoalRoadmap = []MicroGoal{{Title: "a", PipelineOrder: 1, TargetWeeks: 6}, {Title: "b", PipelineOrder: 3, TargetWeeks: 6}}
		}, "micro_goal_roadmap[1].pipeline_order", "3"},
		{"pipeline order duplicate", func(p *Plan) {
			p.FeasibleIn6Weeks = false
			p.MicroGoalRoadmap = []MicroGoal{{Title: "a", PipelineOrder: 1, TargetWeeks: 6}, {Title: "b", PipelineOrder: 1, TargetWeeks: 6}}
		}, "micro_goal_roadmap[1].pipeline_order", "duplicate"},
		{"target weeks", func(p *Plan) { p.MicroGoalRoadmap[0].TargetWeeks = 8 }, "micro_goal_roadmap[0].target_weeks", "8"},
		{"infeasible needs pipeline", func(p *Plan) { p.FeasibleIn6Weeks = false }, "micro_goal_roadmap", "at least two"},
		{"feasible but pipeline", func(p *Plan) {
			p.MicroGoalRoadmap = append(p.MicroGoalRoadmap, MicroGoal{Title: "b", PipelineOrder: 2, TargetWeeks: 6})
		}, "micro_goal_roadmap", "at most one"},
		{"conflict time", func(p *Plan) { p.ConflictsDetected[0].ScheduledAt = "Monday 8am" }, "conflicts_detected[0].scheduled_at", `"Monday 8am"`},
		{"conflict title", func(p *Plan) { p.ConflictsDetected[0].ExistingTaskTitle = "" }, "conflicts_detected[0].existing_task_title", "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := goodPlan()
			tt.mut(&p)
			err := p.Validate()
			if err == nil {
				t.Fatal("Validate accepted the plan")
			}
			fe := fieldErrors(err)
			for _, e := range fe {
				if e.Field == tt.field {
					if !strings.Contains(e.Error(), tt.field) || !strings.Contains(e.Error(), tt.want) {
						t.Errorf("message %q does not name %s and %s", e.Error(), tt.field, tt.want)
					}
					return
				}
			}
			t.Errorf("no error for field %s; got:\n%v", tt.field, err)
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	p := goodPlan()
	p.ApprovalStatus = "ok"
	p.ProposedTasks[0].SuggestedTime = "7am"
	p.ProposedTasks[1].DurationMinutes = 0
	err := p.Validate()
	if got := len(fieldErrors(err)); got != 3 {
		t.Fatalf("got %d field errors, want 3:\n%v", got, err)
	}
	// One problem per line, so the correction prompt reads as a list.
	if lines := strings.Count(err.Error(), "\n") + 1; lines != 3 {
		t.Errorf("got %d lines, want 3:\n%v", lines, err)
	}
}

func TestFieldErrorShortensLongValues(t *testing.T) {
	t.Parallel()
	p := goodPlan()
	p.GoalTitle = strings.Repeat("x", 5000)
	err := p.Validate()
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("want a short error, got %d bytes: %.300v", len(err.Error()), err)
	}
}

func fieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		if fe, ok := err.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		} else if e := errors.Unwrap(err); e != nil {
			walk(e)
		}
	}
	walk(err)
	return out
}
