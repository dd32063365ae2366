package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/flux-companion/flux/agentsvc/agentrun"
	"github.com/flux-companion/flux/sql/pgerr"
)

var (
	qClaimAgentRun        = query("claim_agent_run")
	qExtendAgentRun       = query("extend_agent_run")
	qReleaseAgentRun      = query("release_agent_run")
	qFailAgentRun         = query("fail_agent_run")
	qFinishAgentRun       = query("finish_agent_run")
	qTurnInput            = query("turn_input")
	qTurnHistory          = query("turn_history")
	qTurnCalendar         = query("turn_calendar")
	qTurnGoals            = query("turn_goals")
	qTurnOutcomes         = query("turn_outcomes")
	qTurnPatterns         = query("turn_patterns")
	qSwapPlan             = query("swap_plan")
	qSwapPlanCancel       = query("swap_plan_cancel")
	qMoveTask             = query("move_task")
	qCancelTask           = query("cancel_task")
	qInsertGoal           = query("insert_goal")
	qInsertTasks          = query("insert_tasks")
	qInsertReply          = query("insert_reply")
	qSaveAgentState       = query("save_agent_state")
	qUpdateUser           = query("update_user")
	qUpdatePhone          = query("update_phone")
	qApplyWhatsAppConsent = query("apply_whatsapp_consent")
	qAddTokenUsage        = query("add_token_usage")
)

var (
	// ErrLeaseLost means another runner holds the run now: the turn's writes were rolled back.
	ErrLeaseLost = errors.New("store: agent run lease lost")
	// ErrTurnConflict means the turn changes a row that changed since the turn read it (a task
	// to move was settled meanwhile, a goal to re-plan was abandoned): nothing was written, and
	// running the turn again would meet the same conflict.
	ErrTurnConflict = errors.New("store: turn conflicts with a newer change")
)

// ClaimAgentRun claims the next run, of conversation when it is not "" (see
// flux.claim_agent_run). ok is false when there is none.
func (s *Store) ClaimAgentRun(ctx context.Context, owner string, lease time.Duration, conversation string) (agentrun.Run, bool, error) {
	var r agentrun.Run
	err := s.db.QueryRow(ctx, qClaimAgentRun, owner, lease, nullIfEmpty(conversation)).
		Scan(&r.MessageID, &r.ConversationID, &r.UserID, &r.Attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return agentrun.Run{}, false, nil
	}
	if err != nil {
		return agentrun.Run{}, false, fmt.Errorf("store: claim agent run: %w", err)
	}
	return r, true, nil
}

// ExtendAgentRun renews a run's lease; false when it was lost.
func (s *Store) ExtendAgentRun(ctx context.Context, messageID, owner string, lease time.Duration) (bool, error) {
	ok, err := one[*bool](ctx, s.db, "extend agent run "+messageID, qExtendAgentRun, messageID, owner, lease)
	return ok != nil && *ok, err
}

// ReleaseAgentRun hands an unfinished run back for the next claim.
func (s *Store) ReleaseAgentRun(ctx context.Context, messageID, owner string) error {
	return exec(ctx, s.db, "release agent run "+messageID, qReleaseAgentRun, messageID, owner)
}

// FailAgentRun ends a run that cannot be answered, leaving reply (or the default) for the user.
func (s *Store) FailAgentRun(ctx context.Context, messageID, owner, reason, reply string) (bool, error) {
	return one[bool](ctx, s.db, "fail agent run "+messageID, qFailAgentRun, messageID, owner, reason, reply)
}

// LoadTurn reads a run's input: its message, the conversation so far (at most history
// messages), and the user's booked time until horizon from now.
func (s *Store) LoadTurn(ctx context.Context, run agentrun.Run, history int, horizon time.Duration) (agentrun.Input, error) {
	var in agentrun.Input
	err := s.db.QueryRow(ctx, qTurnInput, run.MessageID).Scan(&in.Content, &in.Action, &in.SentAt,
		&in.ConversationID, &in.ThreadID, &in.ContextType, &in.Timezone, &in.Onboarded, &in.Profile,
		&in.TokensThisMonth, &in.State, &in.Now, &in.ActiveGoals, &in.Email, &in.Phone, &in.ActionGoalID, &in.ActionTaskID)
	if err != nil {
		return in, fmt.Errorf("store: load turn of message %s: %w", run.MessageID, err)
	}
	// One round trip for the rest: it is all read on every turn.
	batch := &pgx.Batch{}
	batch.Queue(qTurnHistory, in.ConversationID, run.MessageID, history).
		Query(into(&in.History, func(r pgx.CollectableRow) (agentrun.HistoryMessage, error) {
			var m agentrun.HistoryMessage
			return m, r.Scan(&m.Role, &m.Content, &m.At)
		}))
	batch.Queue(qTurnCalendar, run.UserID, in.Now.Add(horizon)).
		Query(into(&in.Calendar, func(r pgx.CollectableRow) (agentrun.BookedTask, error) {
			var t agentrun.BookedTask
			return t, r.Scan(&t.ID, &t.Title, &t.ScheduledAt, &t.DurationMinutes, &t.Status, &t.GoalID)
		}))
	batch.Queue(qTurnGoals, run.UserID).
		Query(into(&in.Goals, func(r pgx.CollectableRow) (agentrun.GoalRef, error) {
			var g agentrun.GoalRef
			return g, r.Scan(&g.ID, &g.Title, &g.Status, &g.Tags, &g.ParentID, &g.PipelineOrder, &g.Plan)
		}))
	batch.Queue(qTurnOutcomes, run.UserID).
		Query(into(&in.Outcomes, func(r pgx.CollectableRow) (agentrun.TaskOutcome, error) {
			var o agentrun.TaskOutcome
			return o, r.Scan(&o.ScheduledAt, &o.Done, &o.Tags)
		}))
	batch.Queue(qTurnPatterns, run.UserID).
		Query(into(&in.Patterns, func(r pgx.CollectableRow) (agentrun.Pattern, error) {
			var p agentrun.Pattern
			return p, r.Scan(&p.Type, &p.Description, &p.Data, &p.Confidence)
		}))
	if err := s.db.SendBatch(ctx, batch).Close(); err != nil {
		return in, fmt.Errorf("store: turn context of message %s: %w", run.MessageID, err)
	}
	return in, nil
}

// into is a batch callback that collects the rows into *dst.
func into[T any](dst *[]T, scan pgx.RowToFunc[T]) func(pgx.Rows) error {
	return func(rows pgx.Rows) (err error) {
		*dst, err = pgx.CollectRows(rows, scan)
		return err
	}
}

// ApplyTurn writes a turn and finishes its run in one transaction. It returns ErrLeaseLost,
// having written nothing, when owner no longer holds the run.
func (s *Store) ApplyTurn(ctx context.Context, run agentrun.Run, owner string, t agentrun.Output) error {
	b, ok := s.db.(interface {
		Begin(context.Context) (pgx.Tx, error)
	})
	if !ok {
		return errors.New("store: ApplyTurn needs a pool or connection")
	}
	err := pgx.BeginFunc(ctx, b, func(tx pgx.Tx) error {
		var finished bool
		if err := tx.QueryRow(ctx, qFinishAgentRun, run.MessageID, owner, t.Trace).Scan(&finished); err != nil {
			return err
		}
		if !finished {
			return ErrLeaseLost
		}
		batch := &pgx.Batch{}
		for _, sw := range t.PlanSwaps {
			batch.Queue(qSwapPlan, sw.GoalID, run.UserID, sw.Plan, sw.Title, sw.Description, sw.Tags).Exec(changed("goal", sw.GoalID))
			batch.Queue(qSwapPlanCancel, sw.GoalID, run.UserID, sw.From)
		}
		for _, r := range t.Reschedules {
			batch.Queue(qMoveTask, run.UserID, r.TaskID, r.At).QueryRow(func(row pgx.Row) error { return refused(row.Scan()) })
		}
		for _, id := range t.Cancels {
			// A task settled meanwhile fails the turn as a move does.
			batch.Queue(qCancelTask, id, run.UserID).Exec(changed("task", id))
		}
		for _, g := range t.Goals {
			batch.Queue(qInsertGoal, g.ID, run.UserID, g.Title, g.Description, g.Tags, g.Status, g.ParentID,
				g.PipelineOrder, g.TargetWeeks, g.Plan)
		}
		if len(t.Tasks) > 0 {
			n := len(t.Tasks)
			goals, titles, descs := make([]string, n), make([]string, n), make([]string, n)
			ats, mins, rules := make([]time.Time, n), make([]int32, n), make([]string, n)
			for i, k := range t.Tasks {
				goals[i], titles[i], descs[i] = k.GoalID, k.Title, k.Description
				ats[i], mins[i], rules[i] = k.ScheduledAt, int32(k.DurationMinutes), k.RecurrenceRule
			}
			batch.Queue(qInsertTasks, run.UserID, goals, titles, descs, ats, mins, rules)
		}
		for i, r := range t.Replies {
			role := r.Role
			if role == "" {
				role = "assistant"
			}
			meta := r.Metadata
			if meta == nil {
				meta = json.RawMessage(`{}`)
			}
			batch.Queue(qInsertReply, run.ConversationID, run.UserID, role, r.Content, r.Node, r.Tokens, r.Provider, meta, i)
		}
		if t.State != nil {
			batch.Queue(qSaveAgentState, run.ConversationID, t.State)
		}
		if t.Profile != nil || t.Timezone != "" || t.Onboarded {
			batch.Queue(qUpdateUser, run.UserID, t.Profile, t.Timezone, t.Onboarded)
		}
		if t.Phone != "" {
			batch.Queue(qUpdatePhone, run.UserID, t.Phone)
		}
		if t.Profile != nil {
			// A WhatsApp consent in the profile is applied by flux.confirm_phone; when the number
			// was verified before onboarding finished, it applies now.
			batch.Queue(qApplyWhatsAppConsent, run.UserID)
		}
		if len(t.Tokens) > 0 {
			providers, counts := make([]string, 0, len(t.Tokens)), make([]int32, 0, len(t.Tokens))
			for p, n := range t.Tokens {
				if n > 0 {
					providers, counts = append(providers, p), append(counts, int32(n))
				}
			}
			batch.Queue(qAddTokenUsage, run.UserID, providers, counts)
		}
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil && !errors.Is(err, ErrLeaseLost) {
		return fmt.Errorf("store: apply turn of message %s: %w", run.MessageID, err)
	}
	return err
}

// refused fails the turn when a function refused a row the turn depends on (flux.move_task: the
// task is no longer the user's, or no longer open).
func refused(err error) error {
	if pgerr.Refused(err) {
		return fmt.Errorf("%w: %w", ErrTurnConflict, err)
	}
	return err
}

// changed fails the turn when an update it depends on found no row.
func changed(what, id string) func(pgconn.CommandTag) error {
	return func(ct pgconn.CommandTag) error {
		if ct.RowsAffected() == 0 {
			return fmt.Errorf("%w: %s %s is no longer open", ErrTurnConflict, what, id)
		}
		return nil
	}
}
