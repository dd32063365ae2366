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
)

var (
	qClaimAgentRun = query("claim_agent_run")
	qTurnInput     = query("turn_input")
	qTurnHistory   = query("turn_history")
	qTurnCalendar  = query("turn_calendar")
	qTurnGoals     = query("turn_goals")
	qTurnOutcomes  = query("turn_outcomes")
	qTurnPatterns  = query("turn_patterns")
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
	batch.Queue(qTurnHistory, in.ConversationID, run.MessageID, history).Query(func(rows pgx.Rows) error {
		var err error
		in.History, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (agentrun.HistoryMessage, error) {
			var m agentrun.HistoryMessage
			return m, r.Scan(&m.Role, &m.Content, &m.At)
		})
		return err
	})
	batch.Queue(qTurnCalendar, run.UserID, in.Now.Add(horizon)).Query(func(rows pgx.Rows) error {
		var err error
		in.Calendar, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (agentrun.BookedTask, error) {
			var t agentrun.BookedTask
			return t, r.Scan(&t.ID, &t.Title, &t.ScheduledAt, &t.DurationMinutes, &t.Status, &t.GoalID)
		})
		return err
	})
	batch.Queue(qTurnGoals, run.UserID).Query(func(rows pgx.Rows) error {
		var err error
		in.Goals, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (agentrun.GoalRef, error) {
			var g agentrun.GoalRef
			return g, r.Scan(&g.ID, &g.Title, &g.Status, &g.Tags, &g.ParentID, &g.PipelineOrder, &g.Plan)
		})
		return err
	})
	batch.Queue(qTurnOutcomes, run.UserID).Query(func(rows pgx.Rows) error {
		var err error
		in.Outcomes, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (agentrun.TaskOutcome, error) {
			var o agentrun.TaskOutcome
			return o, r.Scan(&o.ScheduledAt, &o.Done, &o.Tags)
		})
		return err
	})
	batch.Queue(qTurnPatterns, run.UserID).Query(func(rows pgx.Rows) error {
		var err error
		in.Patterns, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (agentrun.Pattern, error) {
			var p agentrun.Pattern
			return p, r.Scan(&p.Type, &p.Description, &p.Data, &p.Confidence)
		})
		return err
	})
	if err := s.db.SendBatch(ctx, batch).Close(); err != nil {
		return in, fmt.Errorf("store: turn context of message %s: %w", run.MessageID, err)
	}
	return in, nil
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
		if err := tx.QueryRow(ctx, "select flux.finish_agent_run($1, $2, $3)", run.MessageID, owner, t.Trace).Scan(&finished); err != nil {
			return err
		}
		if !finished {
			return ErrLeaseLost
		}
		batch := &pgx.Batch{}
		for _, sw := range t.PlanSwaps {
			batch.Queue(`update public.goals set plan = $3, title = $4, description = nullif($5, ''), class_tags = $6
				where id = $1 and user_id = $2 and status = 'active'`,
				sw.GoalID, run.UserID, sw.Plan, sw.Title, sw.Description, sw.Tags).Exec(changed("goal", sw.GoalID))
			batch.Queue(`update public.tasks t set status = 'cancelled'
				where t.goal_id = $1 and t.user_id = $2 and t.status = 'pending' and t.scheduled_at >= $3
				  and not exists (select 1 from public.goals g
				                  where g.id = any (t.shared_with_goal_ids) and g.id <> $1 and g.status = 'active')`,
				sw.GoalID, run.UserID, sw.From)
		}
		for _, r := range t.Reschedules {
			// The rule every move of a task keeps (a time in the future, within a year).
			batch.Queue(`select flux.check_reschedule_at($1, 'reschedule')`, r.At)
			// As confirm_reschedule: a location task moved to a time becomes a time task, or
			// the tasks_escalation trigger would start no ladder for it.
			batch.Queue(`update public.tasks set scheduled_at = $3, status = 'pending', trigger_type = 'time', location_trigger = null
				where id = $1 and user_id = $2 and status in ('pending', 'rescheduled')`,
				r.TaskID, run.UserID, r.At).Exec(changed("task", r.TaskID))
		}
		for _, id := range t.Cancels {
			// The statement a plan swap cancels with, for one task; a task settled meanwhile
			// fails the turn as a move does.
			batch.Queue(`update public.tasks set status = 'cancelled'
				where id = $1 and user_id = $2 and status in ('pending', 'rescheduled')`,
				id, run.UserID).Exec(changed("task", id))
		}
		for _, g := range t.Goals {
			batch.Queue(`insert into public.goals (id, user_id, title, description, class_tags, status, parent_goal_id, pipeline_order, target_weeks, plan)
				values ($1, $2, $3, nullif($4, ''), $5, $6, nullif($7, '')::uuid, nullif($8, 0), $9, $10)`,
				g.ID, run.UserID, g.Title, g.Description, g.Tags, g.Status, g.ParentID, g.PipelineOrder, g.TargetWeeks, g.Plan)
		}
		if len(t.Tasks) > 0 {
			// One statement for all of them: a plan approval writes dozens.
			n := len(t.Tasks)
			goals, titles, descs := make([]string, n), make([]string, n), make([]string, n)
			ats, mins, rules := make([]time.Time, n), make([]int32, n), make([]string, n)
			for i, k := range t.Tasks {
				goals[i], titles[i], descs[i] = k.GoalID, k.Title, k.Description
				ats[i], mins[i], rules[i] = k.ScheduledAt, int32(k.DurationMinutes), k.RecurrenceRule
			}
			batch.Queue(`insert into public.tasks (user_id, goal_id, title, description, scheduled_at, duration_minutes, recurrence_rule)
				select $1, nullif(g, '')::uuid, ti, nullif(d, ''), a, m, nullif(r, '')
				from unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::int[], $7::text[]) as x(g, ti, d, a, m, r)`,
				run.UserID, goals, titles, descs, ats, mins, rules)
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
			// A turn's replies share the transaction's time; a microsecond apart, they sort
			// in the order they were written (clients order by created_at).
			batch.Queue(`insert into public.messages (conversation_id, user_id, role, content, agent_node, tokens_used, provider, metadata, created_at)
				values ($1, $2, $3, $4, nullif($5, ''), $6, nullif($7, ''), $8, flux.now() + make_interval(secs => $9 / 1e6))`,
				run.ConversationID, run.UserID, role, r.Content, r.Node, r.Tokens, r.Provider, meta, i)
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
		if t.Phone != "" {
			// The users_phone_changed trigger clears verification and WhatsApp opt-in.
			batch.Queue(`update public.users set phone_number = $2 where id = $1 and phone_number is distinct from $2`,
				run.UserID, t.Phone)
		}
		if t.Profile != nil {
			// A WhatsApp consent in the profile is applied by flux.confirm_phone; when the number
			// was verified before onboarding finished, it applies now.
			batch.Queue(`select flux.apply_whatsapp_consent($1)`, run.UserID)
		}
		if len(t.Tokens) > 0 {
			providers, counts := make([]string, 0, len(t.Tokens)), make([]int32, 0, len(t.Tokens))
			for p, n := range t.Tokens {
				if n > 0 {
					providers, counts = append(providers, p), append(counts, int32(n))
				}
			}
			batch.Queue(`select flux.add_token_usage($1, p, n) from unnest($2::text[], $3::int[]) as x(p, n)`, run.UserID, providers, counts)
		}
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil && !errors.Is(err, ErrLeaseLost) {
		return fmt.Errorf("store: apply turn of message %s: %w", run.MessageID, err)
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
