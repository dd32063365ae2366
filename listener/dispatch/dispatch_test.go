package dispatch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flux-companion/flux/internal/testwait"
	"github.com/flux-companion/flux/listener/clock"
	"github.com/flux-companion/flux/sql/pgtest"
	"github.com/flux-companion/flux/sql/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// scripted is a Sender whose results the test decides, per call.
type scripted struct {
	mu      sync.Mutex
	results []Result // consumed in order; the last one repeats
	calls   int
	active  atomic.Int32
	peak    atomic.Int32
	hold    time.Duration
}

func (s *scripted) Send(ctx context.Context, it store.OutboxItem) Result {
	n := s.active.Add(1)
	defer s.active.Add(-1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(s.hold)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.results[min(s.calls, len(s.results)-1)]
	s.calls++
	return r
}

type fixture struct {
	pool  *pgxpool.Pool
	store *store.Store
	clock *clock.Clock
}

// setup makes n tasks whose push rung is due, claimed into the outbox, for a user with a push
// subscription and a verified phone.
func setup(t *testing.T, n int) fixture {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	for _, sql := range []string{
		`insert into auth.users (id, email) values (gen_random_uuid(), 'lee@test.flux.local')`,
		`update public.users set phone_number = '+4915100000010'`,
		`update public.users set phone_verified = true, whatsapp_opt_in_at = now()`,
		`insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
		 select id, 'https://push.example.invalid/lee', repeat('B', 87), repeat('a', 22) from public.users`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `insert into public.tasks (user_id, title, scheduled_at)
		select (select id from public.users), 'task ' || i, now() + interval '1 hour' from generate_series(1, $1::int) i`, n); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `select flux.set_time_warp(interval '50 minutes')`); err != nil {
		t.Fatal(err)
	}
	c := clock.New()
	if err := c.Load(ctx, pool); err != nil {
		t.Fatal(err)
	}
	s := store.New(pool)
	if got, err := s.ClaimEscalations(ctx, 10000); err != nil || len(got) != n {
		t.Fatalf("claimed %d (%v), want %d", len(got), err, n)
	}
	return fixture{pool, s, c}
}

func (f fixture) run(t *testing.T, senders map[string]Sender, cfg Config) {
	t.Helper()
	f.runLogged(t, senders, cfg, io.Discard)
}

func (f fixture) runLogged(t *testing.T, senders map[string]Sender, cfg Config, logs io.Writer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg.Owner = "test"
	d := New(f.store, senders, cfg, f.clock, slog.New(slog.NewJSONHandler(logs, nil)), nil)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var pending int
	if !testwait.Until(testwait.Timeout, func() bool {
		if err := f.pool.QueryRow(context.Background(), `select count(*) from public.dispatch_log where status = 'pending'`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		return pending == 0
	}) {
		t.Fatalf("%d outbox rows still pending after 30s", pending)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
}

func (f fixture) rows(t *testing.T) (status string, attempts int, errText string) {
	t.Helper()
	var e *string
	if err := f.pool.QueryRow(context.Background(), `select status, attempts, error from public.dispatch_log`).Scan(&status, &attempts, &e); err != nil {
		t.Fatal(err)
	}
	if e != nil {
		errText = *e
	}
	return
}

func TestRetryableFailureIsRetriedThenSent(t *testing.T) {
	t.Parallel()
	f := setup(t, 1)
	push := &scripted{results: []Result{{Err: errors.New("push service: 503"), Retryable: true}, {}}}
	f.run(t, map[string]Sender{"push": push}, Config{BaseBackoff: 10 * time.Millisecond})
	if status, attempts, _ := f.rows(t); status != "dispatched" || attempts != 2 {
		t.Fatalf("row %s after %d attempts, want dispatched after 2", status, attempts)
	}
	var logged int
	_ = f.pool.QueryRow(context.Background(), `select count(*) from public.notification_log where channel = 'push'`).Scan(&logged)
	if logged != 1 {
		t.Fatalf("%d push notifications logged, want 1", logged)
	}
}

func TestPermanentFailureIsRecordedWithItsError(t *testing.T) {
	t.Parallel()
	f := setup(t, 1)
	push := &scripted{results: []Result{{Err: errors.New("push service: 400 payload too large")}}}
	f.run(t, map[string]Sender{"push": push}, Config{})
	if status, attempts, errText := f.rows(t); status != "failed" || attempts != 1 || errText != "push service: 400 payload too large" {
		t.Fatalf("row %s/%d/%q", status, attempts, errText)
	}
}

func TestRetriesGiveUpAtMaxAttempts(t *testing.T) {
	t.Parallel()
	f := setup(t, 1)
	push := &scripted{results: []Result{{Err: errors.New("twilio: 503"), Retryable: true}}}
	f.run(t, map[string]Sender{"push": push}, Config{MaxAttempts: 3, BaseBackoff: 5 * time.Millisecond})
	if status, attempts, errText := f.rows(t); status != "failed" || attempts != 3 || errText != "gave up after 3 attempts: twilio: 503" {
		t.Fatalf("row %s/%d/%q", status, attempts, errText)
	}
}

func TestAChannelWithoutProviderFailsClearly(t *testing.T) {
	t.Parallel()
	f := setup(t, 1)
	f.run(t, map[string]Sender{}, Config{})
	if status, _, errText := f.rows(t); status != "failed" || errText != "no push provider configured" {
		t.Fatalf("row %s/%q", status, errText)
	}
}

func TestConcurrencyIsBounded(t *testing.T) {
	t.Parallel()
	f := setup(t, 40)
	push := &scripted{results: []Result{{}}, hold: 20 * time.Millisecond}
	f.run(t, map[string]Sender{"push": push}, Config{Workers: 4})
	if peak := push.peak.Load(); peak > 4 || peak < 2 {
		t.Fatalf("peak concurrency %d, want between 2 and the 4 workers", peak)
	}
	var sent int
	_ = f.pool.QueryRow(context.Background(), `select count(*) from public.dispatch_log where status = 'dispatched'`).Scan(&sent)
	if sent != 40 || push.calls != 40 {
		t.Fatalf("%d dispatched, %d sends; want 40 and 40 (each exactly once)", sent, push.calls)
	}
}

// A transient failure while recording outcomes (here a trigger that refuses updates until the
// test lifts it) is retried: the send is recorded once, not repeated after the lease.
func TestRecordingSurvivesATransientFailure(t *testing.T) {
	t.Parallel()
	f := setup(t, 1)
	ctx := context.Background()
	for _, q := range []string{
		`create table public.outage (on_ boolean)`,
		`insert into public.outage values (true)`,
		`create function public.outage_guard() returns trigger language plpgsql as $$
		 begin
		   if exists (select 1 from public.outage) then raise exception 'simulated outage'; end if;
		   return new;
		 end $$`,
		`create trigger outage before update on public.dispatch_log for each row execute function public.outage_guard()`,
	} {
		if _, err := f.pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	sent := make(chan struct{})
	push := &scripted{results: []Result{{}}}
	go func() {
		<-sent
		time.Sleep(300 * time.Millisecond)
		_, _ = f.pool.Exec(ctx, `delete from public.outage`)
	}()
	// The lease itself is an update: let it through, then fail the recording.
	if _, err := f.pool.Exec(ctx, `delete from public.outage`); err != nil {
		t.Fatal(err)
	}
	items, err := f.store.ClaimOutbox(ctx, 1, time.Minute, "test")
	if err != nil || len(items) != 1 {
		t.Fatal(items, err)
	}
	if _, err := f.pool.Exec(ctx, `insert into public.outage values (true)`); err != nil {
		t.Fatal(err)
	}
	d := New(f.store, map[string]Sender{"push": push}, Config{Owner: "test"}, f.clock, slog.New(slog.NewJSONHandler(io.Discard, nil)), nil)
	results := make(chan attempt, 1)
	results <- d.send(ctx, leased{OutboxItem: items[0]})
	close(results)
	close(sent)
	d.record(ctx, results) // returns once recorded (or after giving up)
	if status, attempts, _ := f.rows(t); status != "dispatched" || attempts != 1 {
		t.Fatalf("row %s after %d attempts, want dispatched on the first", status, attempts)
	}
}

// A rung whose task was answered after it was queued is not sent, and says why in one log line.
func TestAnsweredTaskIsSkippedWithALogLine(t *testing.T) {
	t.Parallel()
	f := setup(t, 1)
	var task string
	if err := f.pool.QueryRow(context.Background(), `update public.tasks set status = 'done' returning id::text`).Scan(&task); err != nil {
		t.Fatal(err)
	}
	sender := &scripted{results: []Result{{Err: errors.New("a skipped rung was sent")}}}
	var logs bytes.Buffer
	f.runLogged(t, map[string]Sender{"push": sender}, Config{}, &logs)
	if status, _, errText := f.rows(t); status != "skipped" || errText != "task is done before send" {
		t.Fatalf("row %s %q, want skipped because the task is done", status, errText)
	}
	if sender.calls != 0 {
		t.Fatalf("sent %d times", sender.calls)
	}
	var line map[string]any
	for _, l := range strings.Split(logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "rung skipped" {
			line = m
		}
	}
	if line == nil || line["task_id"] != task || line["channel"] != "push" || line["reason"] != "task is done before send" {
		t.Fatalf("no log line says the rung was skipped and why: %s", logs.String())
	}
}

// panicking is a sender with a bug: it panics on its first n sends.
type panicking struct{ left atomic.Int32 }

func (p *panicking) Send(context.Context, store.OutboxItem) Result {
	if p.left.Add(-1) >= 0 {
		panic("nil map in a sender")
	}
	return Result{}
}

// A panic in a sender fails that attempt, which is retried; the worker and the other sends go on.
func TestAPanickingSenderFailsOnlyThatAttempt(t *testing.T) {
	t.Parallel()
	f := setup(t, 3)
	p := &panicking{}
	p.left.Store(1)
	f.run(t, map[string]Sender{"push": p}, Config{Workers: 1, BaseBackoff: 10 * time.Millisecond})
	var sent, retried int
	if err := f.pool.QueryRow(context.Background(),
		`select count(*) filter (where status = 'dispatched'), count(*) filter (where attempts = 2) from public.dispatch_log`).Scan(&sent, &retried); err != nil {
		t.Fatal(err)
	}
	if sent != 3 || retried != 1 {
		t.Fatalf("%d of 3 sent, %d retried; want all sent and the one that panicked retried once", sent, retried)
	}
}
