package main

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flux-companion/flux/agentsvc/graph"
	"github.com/flux-companion/flux/agentsvc/llmfake"
	"github.com/flux-companion/flux/internal/testwait"
	"github.com/flux-companion/flux/listener/bench"
	"github.com/flux-companion/flux/listener/logtest"
	"github.com/flux-companion/flux/sql/pgtest"
)

// TestChatKilledMidRunAnswersEveryMessageOnce: the listener is killed with SIGKILL while its
// agents wait on the model, then started again. Every user message gets exactly one answer,
// two messages sent at once into one conversation are answered in order, and the turns the
// dead process was running wrote nothing.
func TestChatKilledMidRunAnswersEveryMessageOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.DB(t)
	pool := pgtest.PoolOn(t, url)

	fake, err := llmfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	slowPlanner := make(chan struct{}) // closed once the first process is dead
	if err := bench.ScriptModels(fake, func() time.Duration {
		select {
		case <-slowPlanner:
			return 0
		default:
			return time.Minute // in flight when the kill lands
		}
	}); err != nil {
		t.Fatal(err)
	}

	user := onboardedUser(t, pool, "crashchat@test.flux.local", "Europe/Berlin")
	var convs []string
	for range 3 {
		var c string
		if err := pool.QueryRow(ctx, `insert into public.conversations (user_id) values ($1) returning id::text`, user).Scan(&c); err != nil {
			t.Fatal(err)
		}
		convs = append(convs, c)
	}

	slot := fmt.Sprintf("chatcrash_%d", time.Now().UnixNano()%1e9)
	start := func() (*exec.Cmd, *logtest.Buffer) {
		return listen(t, url, slot, "FLUX_ROLES=feed,http,agents", "FLUX_AGENT_LEASE=2s", "FLUX_AGENT_SWEEP=200ms",
			"OPENROUTER_API_KEY=test-key", "OPENROUTER_BASE_URL="+fake.URL())
	}
	first, firstOut := start()

	// Conversation 0 gets two messages at once; the others one goal each.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, m := range []struct{ conv, text string }{
			{convs[0], "I want to run a 5K"}, {convs[0], "remind me to call mom at 5pm"},
			{convs[1], "I want to run a 5K"}, {convs[2], "I want to run a 5K"},
		} {
			if _, err := tx.Exec(ctx, `insert into public.messages (conversation_id, user_id, content, created_at)
				values ($1, $2, $3, clock_timestamp())`, m.conv, user, m.text); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Kill once all three goal turns wait on the planner.
	waiting := 0
	if !testwait.Until(time.Minute, func() bool {
		waiting = 0
		for _, r := range fake.Requests() {
			if graph.AgentOf(r.Messages[0].Content) == "planner" && r.End.IsZero() {
				waiting++
			}
		}
		return waiting == 3
	}) {
		t.Fatalf("%d planner calls in flight; listener output:\n%s", waiting, firstOut.String())
	}
	kill(t, first)
	close(slowPlanner)
	if replies := count(t, pool, `select count(*) from public.messages where user_id = $1 and role <> 'user'`, user); replies != 0 {
		t.Fatalf("%d replies before the restart: the dead turns must not have written", replies)
	}

	second, secondOut := start()
	defer stop(t, second, secondOut)
	waitNone(t, time.Minute, secondOut, "runs not done after the restart",
		pool, `select count(*) from flux.agent_runs where user_id = $1 and status <> 'done'`, user)

	for i, c := range convs {
		rows, err := pool.Query(ctx, `select role, coalesce(metadata ->> 'kind', '') from public.messages
			where conversation_id = $1 order by created_at, id`, c)
		if err != nil {
			t.Fatal(err)
		}
		type line struct{ Role, Kind string }
		lines, err := pgx.CollectRows(rows, pgx.RowToStructByPos[line])
		if err != nil {
			t.Fatal(err)
		}
		want := []line{{"user", ""}, {"assistant", "plan"}}
		if i == 0 {
			// Both user messages were inserted before any answer; the answers follow in order.
			want = []line{{"user", ""}, {"user", ""}, {"assistant", "plan"}, {"assistant", "task_created"}}
		}
		if fmt.Sprint(lines) != fmt.Sprint(want) {
			t.Errorf("conversation %d: %v, want %v (each message answered once, in order)", i, lines, want)
		}
	}
	if tasks := count(t, pool, `select count(*) from public.tasks where user_id = $1`, user); tasks != 1 {
		t.Errorf("%d tasks, want the one reminder (plans wait for approval)", tasks)
	}
}
