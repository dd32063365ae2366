package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flux-companion/flux/internal/testwait"
	"github.com/flux-companion/flux/listener/logtest"
	"github.com/flux-companion/flux/listener/twiliofake"
	"github.com/flux-companion/flux/sql/pgtest"
)

// TestKilledMidBurstLosesNothing: 5,000 WhatsApp reminders fall due at once; the listener is
// killed with SIGKILL in the middle of sending them and started again. Every reminder must go
// out, each outbox row must end dispatched exactly once, and every reminder sent twice must be
// one that was in flight (leased, attempt 2) when the process died.
func TestKilledMidBurstLosesNothing(t *testing.T) {
	t.Parallel()
	const tasks, users = 5000, 100
	ctx := context.Background()
	url := pgtest.DB(t)
	pool := pgtest.PoolOn(t, url)
	const token = "crashtoken0123456789abcdef012345"
	tw, err := twiliofake.Start(token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tw.Close)
	tw.SetLatency(20 * time.Millisecond) // a send takes a while, as against the real API

	for _, q := range []string{
		`insert into auth.users (id, email) select gen_random_uuid(), 'burst' || i || '@test.flux.local' from generate_series(1, ` + fmt.Sprint(users) + `) i`,
		`update public.users set phone_number = '+49151' || lpad(substr(email, 6, strpos(email, '@') - 6), 7, '0')`,
		`update public.users set phone_verified = true, whatsapp_opt_in_at = now()`,
		// No push subscription: the push rung is skipped and the burst is WhatsApp only.
		`insert into public.tasks (user_id, title, scheduled_at)
		 select u.id, 'burst-' || lpad(i::text, 4, '0'), date_trunc('day', now()) + interval '1 day 10 hours'
		 from generate_series(1, ` + fmt.Sprint(tasks) + `) i
		 join lateral (select id from public.users order by email offset (i % ` + fmt.Sprint(users) + `) limit 1) u on true`,
		// Everything's WhatsApp rung is due: T + window.
		`select flux.set_time_warp(date_trunc('day', now()) + interval '1 day 10 hours 2 minutes' - now())`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}

	slot := fmt.Sprintf("crash_test_%d", time.Now().UnixNano()%1e9)
	start := func() (*exec.Cmd, *logtest.Buffer) {
		return listen(t, url, slot, "FLUX_PUBLIC_BASE_URL=http://127.0.0.1:9", "FLUX_DISPATCH_LEASE=3s",
			"TWILIO_ACCOUNT_SID="+twiliofake.AccountSID, "TWILIO_AUTH_TOKEN="+token, "TWILIO_API_BASE_URL="+tw.URL(),
			"TWILIO_WHATSAPP_FROM=+14155238886", "TWILIO_VOICE_FROM=+15005550006",
			"TWILIO_CONTENT_SID_REMINDER="+tw.AddReminderTemplate())
	}

	first, firstOut := start()
	// Kill in the middle of the burst, right after seeing rows leased: their sends take 20 ms,
	// so they are still in flight a moment later when the signal lands.
	leased := func() int {
		return count(t, pool, `select count(*) from public.dispatch_log where status = 'pending' and lease_until is not null`)
	}
	if !testwait.Until(2*time.Minute, func() bool { return len(tw.Messages()) >= tasks/4 && leased() > 0 }) {
		t.Fatalf("the burst did not start; listener output:\n%s", firstOut.String())
	}
	kill(t, first)
	sentAtKill := len(tw.Messages())
	// Leases outlive the process: these rows were being sent when it died.
	inFlight := leased()
	t.Logf("killed after %d of %d sends, %d leased rows in flight", sentAtKill, tasks, inFlight)
	if sentAtKill >= tasks || inFlight == 0 {
		t.Fatal("the kill did not land mid-send: nothing was tested")
	}

	second, secondOut := start()
	defer stop(t, second, secondOut)
	waitNone(t, 3*time.Minute, secondOut, "outbox rows still pending after restart",
		pool, `select count(*) from public.dispatch_log where status = 'pending'`)

	var rows, dispatched, retried int
	if err := pool.QueryRow(ctx, `
		select count(*), count(*) filter (where status = 'dispatched'), count(*) filter (where attempts > 1)
		from public.dispatch_log where channel = 'whatsapp'`).Scan(&rows, &dispatched, &retried); err != nil {
		t.Fatal(err)
	}
	if rows != tasks || dispatched != tasks {
		t.Fatalf("%d WhatsApp outbox rows, %d dispatched; want %d of each (one per task, none lost)", rows, dispatched, tasks)
	}

	sends := map[string]int{}
	for _, m := range tw.Messages() {
		title := strings.TrimPrefix(strings.SplitN(m.Body, " (", 2)[0], "Flux reminder: ")
		sends[title]++
	}
	dups := 0
	for i := 1; i <= tasks; i++ {
		n := sends[fmt.Sprintf("burst-%04d", i)]
		if n == 0 {
			t.Fatalf("burst-%04d was never sent", i)
		}
		dups += n - 1
	}
	// A duplicate comes only from a row whose first attempt was in flight at the kill: it was
	// leased again (attempts > 1) after its lease ran out.
	if dups > retried || dups > inFlight {
		t.Fatalf("%d duplicate sends, but only %d rows were retried and %d were in flight at the kill", dups, retried, inFlight)
	}
	t.Logf("%d sends for %d reminders: %d duplicates, all from the %d rows in flight at the kill", len(tw.Messages()), tasks, dups, inFlight)
}

// listen runs this test binary as `flux listen` on the database at url and the slot, in a child
// process the test can SIGKILL (see TestMain), with env added to its environment; its output
// goes to the buffer. It is killed when the test ends if it still runs.
func listen(t *testing.T, url, slot string, env ...string) (*exec.Cmd, *logtest.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "listen")
	out := &logtest.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), "FLUX_TEST_AS_FLUX=1", "DATABASE_URL="+url, "FLUX_SLOT="+slot, "FLUX_HTTP_ADDR=127.0.0.1:0")
	cmd.Env = append(cmd.Env, env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, out
}

// kill ends a listener with SIGKILL: no deferred cleanup of its own runs.
func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// stop ends a listener with SIGTERM and fails the test unless it stops cleanly.
func stop(t *testing.T, cmd *exec.Cmd, out *logtest.Buffer) {
	t.Helper()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("the restarted listener did not stop cleanly: %v\n%s", err, out.String())
	}
}

// waitNone polls the count query until it is 0 and fails the test with the listener's output if
// it is not within timeout, saying "<count> <what>".
func waitNone(t *testing.T, timeout time.Duration, out *logtest.Buffer, what string, pool *pgxpool.Pool, query string, args ...any) {
	t.Helper()
	n := 0
	if !testwait.Until(timeout, func() bool { n = count(t, pool, query, args...); return n == 0 }) {
		t.Fatalf("%d %s; output:\n%s", n, what, out.String())
	}
}
