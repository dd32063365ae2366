package chat

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flux-companion/flux/agentsvc/agentrun"
)

// mover is a test Agent that moves one task: to an hour ago when asked "to the past", else to
// an hour from now.
type mover struct{ task string }

func (m mover) Turn(_ context.Context, _ agentrun.Run, in agentrun.Input) (agentrun.Output, error) {
	at := in.Now.Add(time.Hour)
	if in.Content == "to the past" {
		at = in.Now.Add(-time.Hour)
	}
	return agentrun.Output{
		Reschedules: []agentrun.Reschedule{{TaskID: m.task, At: at}},
		Replies:     []agentrun.Reply{{Content: "moved"}},
	}, nil
}

// A move the database refuses (a time in the past; a task settled since the turn read it) fails
// that turn for good: a readable reply, the run failed and not retried, the task unmoved. The
// next move goes through.
func TestARefusedMoveFailsTheTurnForGood(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	var task string
	var due time.Time
	if err := f.pool.QueryRow(ctx, `insert into public.tasks (user_id, title, scheduled_at) values ($1, 'gym', now() + interval '1 day')
		returning id::text, scheduled_at`, f.user).Scan(&task, &due); err != nil {
		t.Fatal(err)
	}
	c := f.conversation(t)
	f.run(t, mover{task: task}, Config{})
	f.say(t, c, "to the past")
	f.waitIdle(t, 10*time.Second)
	if _, err := f.pool.Exec(ctx, `update public.tasks set status = 'done' where id = $1`, task); err != nil {
		t.Fatal(err)
	}
	f.say(t, c, "later")
	f.waitIdle(t, 10*time.Second)
	if _, err := f.pool.Exec(ctx, `update public.tasks set status = 'missed' where id = $1`, task); err != nil {
		t.Fatal(err)
	}
	f.say(t, c, "later")
	f.waitIdle(t, 10*time.Second)

	got := f.transcript(t, c)
	if len(got) != 6 || !strings.HasPrefix(got[1], "assistant: Sorry, I could not process that message") ||
		!strings.HasPrefix(got[3], "assistant: Sorry, I could not process that message") || got[5] != "assistant: moved" {
		t.Fatalf("transcript = %q, want two failure replies and then the move", got)
	}
	rows, err := f.pool.Query(ctx, `select r.status || ' ' || r.attempts || ' ' || r.error from flux.agent_runs r
		join public.messages m on m.id = r.message_id where r.conversation_id = $1 and r.status = 'failed' order by m.created_at`, c)
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		failed = append(failed, s)
	}
	if len(failed) != 2 || !strings.HasPrefix(failed[0], "failed 1 write: ") || !strings.Contains(failed[0], "22023") ||
		!strings.Contains(failed[1], "turn conflicts with a newer change") {
		t.Fatalf("failed runs = %q, want the refused time and the conflict, each failed at its first attempt", failed)
	}
	var status string
	var at time.Time
	if err := f.pool.QueryRow(ctx, `select status::text, scheduled_at from public.tasks where id = $1`, task).Scan(&status, &at); err != nil {
		t.Fatal(err)
	}
	if status != "pending" || !at.Before(due) {
		t.Fatalf("task %s at %s; want the missed task moved from %s to an hour from now", status, at, due)
	}
}
