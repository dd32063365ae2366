// Package agentrun is the contract between the agents and the database: what a run of the
// agents reads (Input) and what it writes (Output). The store fills and applies these; the
// agent graph computes one from the other. It imports nothing of either side, as River keeps
// its job types in rivertype.
package agentrun

import (
	"encoding/json"
	"time"
)

// Run is a claimed unit of agent work: one user message.
type Run struct {
	MessageID      string
	ConversationID string
	UserID         string
	Attempts       int
}

// Input is what the database knows that a turn needs.
type Input struct {
	Content, Action       string
	ActionGoalID          string // the goal a system message's action is about ("" if none)
	ActionTaskID          string // the task a system message's action is about ("" if none)
	SentAt                time.Time
	ConversationID        string
	ThreadID, ContextType string
	Timezone              string
	Onboarded             bool
	Profile, State        json.RawMessage
	TokensThisMonth       int64
	Now                   time.Time        // the one clock, warp included
	History               []HistoryMessage // oldest first, from the latest summary
	Calendar              []BookedTask
	ActiveGoals           int
	// Email and Phone are never sent anywhere: the graph redacts them (and the profile's
	// name) from every prompt.
	Email, Phone string
	Goals        []GoalRef     // open goals: active and pipeline
	Outcomes     []TaskOutcome // settled time tasks of the last 12 weeks, newest first
	Patterns     []Pattern
}

// HistoryMessage is an earlier message of the conversation.
type HistoryMessage struct {
	Role, Content string
	At            time.Time
}

// GoalRef is an open goal.
type GoalRef struct {
	ID, Title, Status string
	Tags              []string
	ParentID          string
	PipelineOrder     int
	Plan              json.RawMessage // "null" when the goal has none
}

// TaskOutcome is a settled task.
type TaskOutcome struct {
	ScheduledAt time.Time
	Done        bool
	Tags        []string
}

// Pattern is a stored behaviour pattern.
type Pattern struct {
	Type, Description string
	Data              json.RawMessage
	Confidence        float64
}

// BookedTask is a pending or rescheduled task in the planning horizon.
type BookedTask struct {
	ID, Title, Status, GoalID string
	ScheduledAt               time.Time
	DurationMinutes           int
}

// Output is everything one run writes, in one transaction with the run's finish.
type Output struct {
	Replies   []Reply
	State     json.RawMessage // the conversation's agent state after the turn
	Goals     []NewGoal       // in order: parents before their pipeline children
	Tasks     []NewTask
	Profile   json.RawMessage // when not nil, replaces users.profile (onboarding)
	Timezone  string          // when not "", the user's confirmed timezone (onboarding)
	Onboarded bool            // onboarding finished with this turn
	Phone     string          // when not "", the user's new phone number (unverified; onboarding)
	Tokens    map[string]int  // provider -> tokens spent by this turn

	Reschedules []Reschedule // confirmed moves of pending tasks
	Cancels     []string     // ids of pending tasks whose cancellation the user confirmed
	PlanSwaps   []PlanSwap   // approved changes of an active goal's plan
	Trace       json.RawMessage
}

// Reschedule moves a pending task; its reminder ladder starts again for the new time (a held
// ladder, after a reminder was answered "reschedule", too).
type Reschedule struct {
	TaskID string
	At     time.Time
}

// PlanSwap replaces an active goal's plan: its pending tasks from From on are cancelled (unless
// another active goal shares them) and the turn's Tasks for the goal take their place.
type PlanSwap struct {
	GoalID, Title, Description string
	Tags                       []string
	Plan                       json.RawMessage
	From                       time.Time
}

// Reply is an assistant (or summary) message.
type Reply struct {
	Role     string // assistant (default) or summary
	Content  string
	Node     string
	Tokens   int
	Provider string
	Metadata json.RawMessage
}

// NewGoal is a goal the turn creates; ID is chosen by the caller so tasks and pipeline
// children can point at it.
type NewGoal struct {
	ID, Title, Description string
	Tags                   []string
	Status                 string // active or pipeline
	ParentID               string
	PipelineOrder          int
	TargetWeeks            int
	Plan                   json.RawMessage
}

// NewTask is a task the turn creates.
type NewTask struct {
	GoalID, Title, Description string
	ScheduledAt                time.Time
	DurationMinutes            int
	RecurrenceRule             string
}
