package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

var (
	qClaimAgentRun = query("claim_agent_run")
	qTurnInput     = query("turn_input")
	qTurnHistory   = query("turn_history")
	qTurnCalendar  = query("turn_calendar")
)

// ErrLeaseLost means another runner holds the run now: the turn's writes were rolled back.
var ErrLeaseLost = errors.New("store: agent run lease lost")

// AgentRun is a claimed unit of agent work: one user message.
type AgentRun struct {
	MessageID      string
	ConversationID string
	UserID         string
	Attempts       int
}

// ClaimAgentRun claims the next run, of conversation when it is not "" (see
// flux.claim_agent_run). ok is false when there is none.
func (s *Store) ClaimAgentRun(ctx context.Context, owner string, lease time.Duration, conversation string) (AgentRun, bool, error) {
	var r AgentRun
	err := s.db.QueryRow(ctx, qClaimAgentRun, owner, lease, nullIfEmpty(conversation)).
		Scan(&r.MessageID, &r.ConversationID, &r.UserID, &r.Attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return AgentRun{}, false, nil
	}
	if err != nil {
		return AgentRun{}, false, fmt.Errorf("store: claim agent run: %w", err)
	}
	return r, true, nil
}

// ExtendAgentRun renews a run's lease; false when it was lost.
func (s *Store) ExtendAgentRun(ctx context.Context, messageID, owner string, lease time.Duration) (bool, error) {
	var ok *bool
	if err := s.db.QueryRow(ctx, "select flux.extend_agent_run($1, $2, $3)", messageID, owner, lease).Scan(&ok); err != nil {
		return false, fmt.Errorf("store: extend agent run %s: %w", messageID, err)
	}
	return ok != nil && *ok, nil
}

// ReleaseAgentRun hands an unfinished run back for the next claim.
func (s *Store) ReleaseAgentRun(ctx context.Context, messageID, owner string) error {
	if _, err := s.db.Exec(ctx, "select flux.release_agent_run($1, $2)", messageID, owner); err != nil {
		return fmt.Errorf("store: release agent run %s: %w", messageID, err)
	}
	return nil
}

// FailAgentRun ends a run that cannot be answered, leaving reply (or the default) for the user.
func (s *Store) FailAgentRun(ctx context.Context, messageID, owner, reason, reply string) (bool, error) {
	var ok bool
	q := "select flux.fail_agent_run($1, $2, $3)"
	args := []any{messageID, owner, reason}
	if reply != "" {
		q = "select flux.fail_agent_run($1, $2, $3, $4)"
		args = append(args, reply)
	}
	if err := s.db.QueryRow(ctx, q, args...).Scan(&ok); err != nil {
		return false, fmt.Errorf("store: fail agent run %s: %w", messageID, err)
	}
	return ok, nil
}

// TurnInput is what the database knows that a turn needs.
type TurnInput struct {
	Content, Action       string
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
}

// HistoryMessage is an earlier message of the conversation.
type HistoryMessage struct{ Role, Content string }

// BookedTask is a pending or rescheduled task in the planning horizon.
type BookedTask struct {
	ID, Title, Status, GoalID string
	ScheduledAt               time.Time
	DurationMinutes           int
}

// LoadTurn reads a run's input: its message, the conversation so far (at most history
// messages), and the user's booked time until horizon from now.
func (s *Store) LoadTurn(ctx context.Context, run AgentRun, history int, horizon time.Duration) (TurnInput, error) {
	var in TurnInput
	err := s.db.QueryRow(ctx, qTurnInput, run.MessageID).Scan(&in.Content, &in.Action, &in.SentAt,
		&in.ConversationID, &in.ThreadID, &in.ContextType, &in.Timezone, &in.Onboarded, &in.Profile,
		&in.TokensThisMonth, &in.State, &in.Now, &in.ActiveGoals)
	if err != nil {
		return in, fmt.Errorf("store: load turn of message %s: %w", run.MessageID, err)
	}
	rows, err := s.db.Query(ctx, qTurnHistory, in.ConversationID, run.MessageID, history)
	if err != nil {
		return in, fmt.Errorf("store: history of conversation %s: %w", in.ConversationID, err)
	}
	newestFirst, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (HistoryMessage, error) {
		var m HistoryMessage
		return m, r.Scan(&m.Role, &m.Content)
	})
	if err != nil {
		return in, fmt.Errorf("store: history of conversation %s: %w", in.ConversationID, err)
	}
	for i := len(newestFirst) - 1; i >= 0; i-- {
		in.History = append(in.History, newestFirst[i])
	}
	rows, err = s.db.Query(ctx, qTurnCalendar, run.UserID, in.Now.Add(horizon))
	if err != nil {
		return in, fmt.Errorf("store: calendar of user %s: %w", run.UserID, err)
	}
	in.Calendar, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (BookedTask, error) {
		var t BookedTask
		return t, r.Scan(&t.ID, &t.Title, &t.ScheduledAt, &t.DurationMinutes, &t.Status, &t.GoalID)
	})
	if err != nil {
		return in, fmt.Errorf("store: calendar of user %s: %w", run.UserID, err)
	}
	return in, nil
}

// Turn is everything one run writes, in one transaction with the run's finish.
type Turn struct {
	Replies   []Reply
	State     json.RawMessage // the conversation's agent state after the turn
	Goals     []NewGoal       // in order: parents before their pipeline children
	Tasks     []NewTask
	Profile   json.RawMessage // when not nil, replaces users.profile (onboarding)
	Timezone  string          // when not "", the user's confirmed timezone (onboarding)
	Onboarded bool            // onboarding finished with this turn
	Tokens    map[string]int  // provider -> tokens spent by this turn
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

// ApplyTurn writes a turn and finishes its run in one transaction. It returns ErrLeaseLost,
// having written nothing, when owner no longer holds the run.
func (s *Store) ApplyTurn(ctx context.Context, run AgentRun, owner string, t Turn) error {
	b, ok := s.db.(interface {
		Begin(context.Context) (pgx.Tx, error)
	})
	if !ok {
		return errors.New("store: ApplyTurn needs a pool or connection")
	}
	err := pgx.BeginFunc(ctx, b, func(tx pgx.Tx) error {
		var finished bool
		if err := tx.QueryRow(ctx, "select flux.finish_agent_run($1, $2)", run.MessageID, owner).Scan(&finished); err != nil {
			return err
		}
		if !finished {
			return ErrLeaseLost
		}
		batch := &pgx.Batch{}
		for _, g := range t.Goals {
			batch.Queue(`insert into public.goals (id, user_id, title, description, class_tags, status, parent_goal_id, pipeline_order, target_weeks, plan)
				values ($1, $2, $3, nullif($4, ''), $5, $6, nullif($7, '')::uuid, nullif($8, 0), $9, $10)`,
				g.ID, run.UserID, g.Title, g.Description, g.Tags, g.Status, g.ParentID, g.PipelineOrder, g.TargetWeeks, g.Plan)
		}
		for _, k := range t.Tasks {
			batch.Queue(`insert into public.tasks (user_id, goal_id, title, description, scheduled_at, duration_minutes, recurrence_rule)
				values ($1, nullif($2, '')::uuid, $3, nullif($4, ''), $5, $6, nullif($7, ''))`,
				run.UserID, k.GoalID, k.Title, k.Description, k.ScheduledAt, k.DurationMinutes, k.RecurrenceRule)
		}
		for _, r := range t.Replies {
			role := r.Role
			if role == "" {
				role = "assistant"
			}
			meta := r.Metadata
			if meta == nil {
				meta = json.RawMessage(`{}`)
			}
			batch.Queue(`insert into public.messages (conversation_id, user_id, role, content, agent_node, tokens_used, provider, metadata)
				values ($1, $2, $3, $4, nullif($5, ''), $6, nullif($7, ''), $8)`,
				run.ConversationID, run.UserID, role, r.Content, r.Node, r.Tokens, r.Provider, meta)
		}
		if t.State != nil {
			batch.Queue(`insert into flux.agent_state (thread_id, user_id, state)
				select c.thread_id, c.user_id, $2 from public.conversations c where c.id = $1
				on conflict (thread_id) do update set state = excluded.state, updated_at = flux.now()`,
				run.ConversationID, t.State)
		}
		if t.Profile != nil || t.Timezone != "" || t.Onboarded {
			batch.Queue(`update public.users
				set profile = coalesce($2, profile), timezone = coalesce(nullif($3, ''), timezone),
				    onboarded = onboarded or $4
				where id = $1`, run.UserID, t.Profile, t.Timezone, t.Onboarded)
		}
		for provider, n := range t.Tokens {
			if n > 0 {
				batch.Queue(`select flux.add_token_usage($1, $2, $3)`, run.UserID, provider, n)
			}
		}
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil && !errors.Is(err, ErrLeaseLost) {
		return fmt.Errorf("store: apply turn of message %s: %w", run.MessageID, err)
	}
	return err
}
