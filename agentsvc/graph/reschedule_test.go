package graph

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flux-companion/flux/sql/store"
)

// A reminder answered "reschedule" end to end: SQL holds the ladder and queues the action, the
// graph proposes the next free slot, and a yes moves the task onto a fresh ladder.
func TestE2ERescheduleAnswerProposesASlotAndYesMovesIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newE2E(t, &Graph{}, "e2e-reschedule@test.flux.local", "Europe/Berlin", true)
	// Due three minutes ago: the push and the WhatsApp reminder are out, and the answer is "2".
	var task string
	var due, now time.Time
	must(t, e.pool.QueryRow(ctx, `insert into public.tasks (user_id, title, scheduled_at)
		values ($1, 'Walk', date_trunc('minute', flux.now()) - interval '3 minutes')
		returning id::text, scheduled_at, flux.now()`, e.user).Scan(&task, &due, &now))
	result, err := store.New(e.pool).RecordResponse(ctx, task, "reschedule", "whatsapp", "SMe2e-reschedule")
	if err != nil || result != store.Recorded {
		t.Fatalf("record response: %q %v", result, err)
	}

	// The ladder is held at the auto-miss rung at the end of the task's day in Berlin.
	l := due.In(berlin)
	hold := time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, berlin)
	if soonest := now.Add(6 * time.Minute); hold.Before(soonest) {
		hold = soonest
	}
	var stage string
	var at time.Time
	must(t, e.pool.QueryRow(ctx, `select escalation_stage, escalation_due_at from public.tasks where id = $1`, task).Scan(&stage, &at))
	if stage != "auto_miss" || !at.Equal(hold) {
		t.Fatalf("ladder after the answer: %s at %s, want auto_miss at %s", stage, at, hold)
	}

	e.settle(t)
	content, meta := e.lastReply(t)
	proposed, err := time.Parse(time.RFC3339, asString(meta["proposed_at"]))
	if err != nil || meta["kind"] != "question" || meta["task_id"] != task || meta["offline"] != true {
		t.Fatalf("reply %q meta %v: want a proposal for the task", content, meta)
	}
	if !proposed.After(now) || !strings.Contains(content, "“Walk”") || !strings.Contains(content, proposed.In(berlin).Format("15:04")) {
		t.Fatalf("reply %q: want the proposed time %s (after now, %s)", content, proposed.In(berlin), now.In(berlin))
	}
	if n := e.count(t, `select count(*) from public.tasks where user_id = $1 and scheduled_at <> '`+due.Format(time.RFC3339)+`'`); n != 0 {
		t.Fatal("the proposal moved the task before the user said yes")
	}

	e.say(t, "yes")
	content, meta = e.lastReply(t)
	if meta["kind"] != "task_rescheduled" || !strings.Contains(content, proposed.In(berlin).Format("15:04")) {
		t.Fatalf("confirmation %q meta %v", content, meta)
	}
	var status string
	var scheduled time.Time
	must(t, e.pool.QueryRow(ctx, `select status, scheduled_at, escalation_stage, escalation_due_at from public.tasks where id = $1`,
		task).Scan(&status, &scheduled, &stage, &at))
	// A normal ladder for the new time: its first rung is the push, 10 minutes before.
	if status != "pending" || !scheduled.Equal(proposed) || stage != "push" || !at.Equal(proposed.Add(-10*time.Minute)) {
		t.Fatalf("after yes: %s at %s, ladder %s at %s; want pending at %s with the push at %s",
			status, scheduled, stage, at, proposed, proposed.Add(-10*time.Minute))
	}
}

// The proposal needs no model: with one configured, the turn still asks none and is not
// labelled offline. A task settled before its turn gets a notice instead.
func TestE2ERescheduleActionWithoutModelCalls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, g := newScripted(t)
	e := newE2E(t, g, "e2e-reschedule-model@test.flux.local", "America/New_York", true)
	var open, settled string
	must(t, e.pool.QueryRow(ctx, `insert into public.tasks (user_id, title, scheduled_at)
		values ($1, 'Stretch', flux.now() + interval '5 minutes') returning id::text`, e.user).Scan(&open))
	must(t, e.pool.QueryRow(ctx, `insert into public.tasks (user_id, title, scheduled_at, status)
		values ($1, 'Old', flux.now() - interval '1 hour', 'done') returning id::text`, e.user).Scan(&settled))
	_, err := store.New(e.pool).RecordResponse(ctx, open, "reschedule", "push", "")
	must(t, err)
	e.settle(t)
	content, meta := e.lastReply(t)
	if meta["task_id"] != open || meta["proposed_at"] == nil || meta["offline"] == true || strings.Contains(content, OfflineNote) {
		t.Fatalf("reply %q meta %v", content, meta)
	}
	if n := len(fake.srv.Requests()); n != 0 {
		t.Fatalf("%d model calls for a proposal", n)
	}

	// An action about a task that is no longer open (written as SQL writes it).
	e.exec(t, `select flux.queue_agent_action($1, 'reschedule', 'Reschedule requested: “Old”.',
		jsonb_build_object('action', 'reschedule_task', 'task_id', $2::text))`, e.user, settled)
	e.settle(t)
	if content, meta := e.lastReply(t); meta["kind"] != "notice" || !strings.Contains(content, "no longer open") {
		t.Fatalf("reply %q meta %v: want a notice", content, meta)
	}
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

// A fired location task answered "reschedule" is only stopped (its next trigger arms it again),
// but the proposal is made all the same, and a yes turns it into a time task with a ladder.
func TestE2ERescheduleAnswerToALocationTask(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newE2E(t, &Graph{}, "e2e-reschedule-location@test.flux.local", "Europe/Berlin", true)
	var task string
	must(t, e.pool.QueryRow(ctx, `insert into public.tasks (user_id, title, trigger_type, location_trigger)
		values ($1, 'Take the bins out', 'location', '{"place": "home", "event": "leave"}') returning id::text`, e.user).Scan(&task))
	e.as(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `select public.simulate_location_trigger('home', 'leave')`)
		return err
	})
	_, err := store.New(e.pool).RecordResponse(ctx, task, "reschedule", "push", "")
	must(t, err)
	if n := e.count(t, `select count(*) from public.tasks where user_id = $1 and escalation_stage is null and status = 'pending'`); n != 1 {
		t.Fatal("a location task's ladder must stop (no end-of-day hold: its auto-miss rung restarts the ladder)")
	}
	e.settle(t)
	_, meta := e.lastReply(t)
	proposed, err := time.Parse(time.RFC3339, asString(meta["proposed_at"]))
	if err != nil || meta["task_id"] != task {
		t.Fatalf("meta %v: want a proposal", meta)
	}
	e.say(t, "yes")
	var trigger, stage string
	var at time.Time
	must(t, e.pool.QueryRow(ctx, `select trigger_type, escalation_stage, escalation_due_at from public.tasks where id = $1`,
		task).Scan(&trigger, &stage, &at))
	if trigger != "time" || stage != "push" || !at.Equal(proposed.Add(-10*time.Minute)) {
		t.Fatalf("after yes: %s task, ladder %s at %s; want a time task with the push at %s", trigger, stage, at, proposed.Add(-10*time.Minute))
	}
}
