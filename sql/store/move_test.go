package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flux-companion/flux/agentsvc/agentrun"
	"github.com/flux-companion/flux/sql/pgerr"
	"github.com/flux-companion/flux/sql/store"
)

// A turn moves a task with flux.move_task, the function the app's confirm_reschedule calls: a
// missed or rescheduled task moves as a pending one does. A settled task is a conflict, and a
// time in the past a refusal: both fail the turn for good (listener/chat fails the run with a
// readable reply), and nothing of the turn is written.
func TestATurnMovesATaskAsTheAppDoes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, s, taskID, due := setup(t)
	// Each turn in its own conversation: a failed turn's run stays open and would hold the next.
	turn := func(at time.Time) error {
		t.Helper()
		var conv string
		if err := pool.QueryRow(ctx, `
			with c as (insert into public.conversations (user_id) select user_id from public.tasks where id = $1 returning id, user_id)
			insert into public.messages (conversation_id, user_id, content) select id, user_id, 'move it' from c
			returning conversation_id::text`, taskID).Scan(&conv); err != nil {
			t.Fatal(err)
		}
		run, ok, err := s.ClaimAgentRun(ctx, "test", time.Minute, conv)
		if err != nil || !ok {
			t.Fatalf("claim: %v %v", ok, err)
		}
		return s.ApplyTurn(ctx, run, "test", agentrun.Output{
			Reschedules: []agentrun.Reschedule{{TaskID: taskID, At: at}},
			Replies:     []agentrun.Reply{{Content: "moved"}},
		})
	}
	setStatus := func(status string) {
		t.Helper()
		if _, err := pool.Exec(ctx, `update public.tasks set status = $2::public.task_status where id = $1`, taskID, status); err != nil {
			t.Fatal(err)
		}
	}
	written := func() (status string, at time.Time, replies int) {
		t.Helper()
		if err := pool.QueryRow(ctx, `select t.status::text, t.scheduled_at,
			(select count(*) from public.messages m where m.content = 'moved')
			from public.tasks t where t.id = $1`, taskID).Scan(&status, &at, &replies); err != nil {
			t.Fatal(err)
		}
		return status, at, replies
	}

	for i, from := range []string{"missed", "rescheduled"} {
		setStatus(from)
		at := due.Add(time.Duration(i+1) * 24 * time.Hour)
		if err := turn(at); err != nil {
			t.Fatalf("moving a %s task: %v", from, err)
		}
		if status, got, replies := written(); status != "pending" || !got.Equal(at) || replies != i+1 {
			t.Fatalf("a %s task moved: %s at %s, %d replies; want pending at %s", from, status, got, replies, at)
		}
	}

	setStatus("done")
	if err := turn(due.Add(72 * time.Hour)); !errors.Is(err, store.ErrTurnConflict) {
		t.Fatalf("moving a done task: %v, want ErrTurnConflict", err)
	}
	setStatus("pending")
	err := turn(time.Now().Add(-time.Hour))
	if !pgerr.Permanent(err) || errors.Is(err, store.ErrTurnConflict) {
		t.Fatalf("moving a task to the past: %v, want the database's refusal (a permanent error)", err)
	}
	if status, got, replies := written(); status != "pending" || !got.Equal(due.Add(48*time.Hour)) || replies != 2 {
		t.Fatalf("after two refused turns: %s at %s, %d replies; want both unwritten", status, got, replies)
	}
}
