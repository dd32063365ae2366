// Package bench measures the escalation path end to end on this machine: a throwaway PostgreSQL,
// the service as `flux listen` runs it, and the local fakes for the providers.
//
// Two phases:
//   - throughput: Tasks tasks whose push and WhatsApp rungs are all due at once (each user has
//     a verified phone and no browser, so the push rung is skipped and the WhatsApp rung is
//     sent); steps/s is rungs taken by the claims divided by the time until the outbox is
//     drained and every send recorded;
//   - latency: WhatsApp rungs falling due at Rate per second in real time; due-to-dispatch is
//     dispatched_at - due_at of each send, both read from the one SQL clock.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flux-companion/flux/listener/channel"
	"github.com/flux-companion/flux/listener/dispatch"
	"github.com/flux-companion/flux/listener/service"
	"github.com/flux-companion/flux/listener/twilioclient"
	"github.com/flux-companion/flux/listener/twiliofake"
	"github.com/flux-companion/flux/sql/localpg"
	"github.com/flux-companion/flux/sql/migrate"
	"github.com/flux-companion/flux/sql/store"
)

// Config of a run.
type Config struct {
	Tasks    int           // throughput phase; default 20,000
	Users    int           // default 1,000
	Rate     int           // latency phase, rungs falling due per second; default 1,000
	Duration time.Duration // latency phase length; default 10s
	Workers  int           // dispatch workers; default 32
	// NoProvider records every WhatsApp rung as sent without a request to the fake Twilio: what
	// the database, the feed and the dispatcher cost without the provider's round trip.
	NoProvider bool
	Out        io.Writer // progress and results
}

// Result of a run.
type Result struct {
	Steps    int
	StepRate float64 // rungs per second through claim, outbox, send and record
	P50, P99 time.Duration
	Samples  int
	Messages int // messages the fake Twilio accepted
}

const token = "benchtoken0123456789abcdef012345"

// Run runs both phases and prints a summary whose last line is
// "escalation: <N> steps/s, due-to-dispatch p50 <X> ms p99 <Y> ms".
func Run(ctx context.Context, cfg Config) (Result, error) {
	orDefault(&cfg.Tasks, 20000)
	orDefault(&cfg.Users, 1000)
	orDefault(&cfg.Rate, 1000)
	orDefault(&cfg.Duration, 10*time.Second)
	orDefault(&cfg.Workers, 32)
	out := cfg.Out
	fmt.Fprintf(out, "machine: %s\n", machine())

	url, pool, stopDB, err := StartDatabase(ctx, nil)
	if err != nil {
		return Result{}, err
	}
	defer stopDB()
	tw, err := twiliofake.Start(token)
	if err != nil {
		return Result{}, err
	}
	defer tw.Close()

	if err := seedUsers(ctx, pool, cfg.Users); err != nil {
		return Result{}, err
	}

	// Throughput: every task's push rung (skipped) and WhatsApp rung (sent) are due at start.
	if _, err := pool.Exec(ctx, `
		insert into public.tasks (user_id, title, scheduled_at)
		select u.ids[i % $2 + 1], 'bench ' || i, now() - interval '61 minutes'
		from generate_series(1, $1::int) i, (select array_agg(id order by id) as ids from public.users) u`,
		cfg.Tasks, cfg.Users); err != nil {
		return Result{}, fmt.Errorf("bench: tasks: %w", err)
	}
	var senders map[string]dispatch.Sender
	label, sends := "escalation", "WhatsApp sends"
	if cfg.NoProvider {
		senders = map[string]dispatch.Sender{"whatsapp": new(nullSender)}
		label, sends = "escalation (no provider)", "WhatsApp rungs recorded as sent without a request"
	}
	stop, err := startService(ctx, url, tw, cfg.Workers, senders)
	if err != nil {
		return Result{}, err
	}
	defer stop()
	started := time.Now()
	if err := waitDrained(ctx, pool); err != nil {
		return Result{}, err
	}
	elapsed := time.Since(started)
	res := Result{Steps: 2 * cfg.Tasks}
	res.StepRate = float64(res.Steps) / elapsed.Seconds()
	fmt.Fprintf(out, "throughput: %d rungs (%d skipped pushes, %d %s) in %s: %.0f steps/s\n",
		res.Steps, cfg.Tasks, cfg.Tasks, sends, elapsed.Round(time.Millisecond), res.StepRate)

	// Latency: WhatsApp rungs falling due at Rate/s from a few seconds ahead, in real time.
	n := cfg.Rate * int(cfg.Duration/time.Second)
	lead := 3 * time.Second
	if _, err := pool.Exec(ctx, `
		insert into public.tasks (user_id, title, scheduled_at)
		select u.ids[i % $2 + 1], 'steady ' || i,
		       now() + $3::interval - interval '60 minutes' + (i::bigint * 1000000 / $4) * interval '1 microsecond'
		from generate_series(1, $1::int) i, (select array_agg(id order by id) as ids from public.users) u`,
		n, cfg.Users, lead, cfg.Rate); err != nil {
		return Result{}, fmt.Errorf("bench: steady tasks: %w", err)
	}
	// The rungs are in the future at first: let them all fall due, then wait for the last sends.
	select {
	case <-ctx.Done():
		return Result{}, ctx.Err()
	case <-time.After(lead + cfg.Duration):
	}
	if err := waitDrained(ctx, pool); err != nil {
		return Result{}, err
	}
	// Idle: nothing due. The service should run no queries but its sweeps (the dispatcher's
	// every 30 s, the deadline refill every 7.5 min); the feed's keepalives are not transactions.
	idle, err := idleTransactions(ctx, pool, 10*time.Second)
	stop()
	if err != nil {
		return Result{}, err
	}
	fmt.Fprintf(out, "idle: %d transactions in 10s with nothing due (the benchmark's own two reads excluded)\n", idle)
	lags, err := steadyLags(ctx, pool)
	if err != nil {
		return Result{}, err
	}
	res.Samples, res.Messages = len(lags), len(tw.Requests())
	res.P50, res.P99 = percentile(lags, 0.50), percentile(lags, 0.99)
	fmt.Fprintf(out, "latency: %d WhatsApp rungs due at %d/s: due-to-dispatch %s\n", len(lags), cfg.Rate, spread(lags))
	fmt.Fprintf(out, "%s: %.0f steps/s, due-to-dispatch p50 %.1f ms p99 %.1f ms\n",
		label, res.StepRate, ms(res.P50), ms(res.P99))
	return res, nil
}

func seedUsers(ctx context.Context, pool *pgxpool.Pool, users int) error {
	for _, q := range []string{
		fmt.Sprintf(`insert into auth.users (id, email) select gen_random_uuid(), 'bench' || i || '@bench.flux.local' from generate_series(1, %d) i`, users),
		`update public.users set phone_number = '+49151' || lpad(substr(email, 6, strpos(email, '@') - 6), 7, '0')`,
		`update public.users set phone_verified = true, whatsapp_opt_in_at = now()`,
		// A one-hour window keeps the later rungs (call at T + 2h) out of both phases.
		`update public.users set notification_preferences = notification_preferences || '{"escalation_window_minutes": 60}'`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			return fmt.Errorf("bench: users: %w", err)
		}
	}
	return nil
}

// nullSender answers every send at once with a unique message SID (notification_log keeps
// one row per SID, so a repeated one would make recording cheaper than it is).
type nullSender struct{ n atomic.Int64 }

func (s *nullSender) Send(context.Context, store.OutboxItem) dispatch.Result {
	return dispatch.Result{ExternalID: fmt.Sprintf("SM%032x", s.n.Add(1))}
}

func startService(ctx context.Context, url string, tw *twiliofake.Server, workers int, senders map[string]dispatch.Sender) (stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return RunService(ctx, service.Config{
		DatabaseURL: url, Listener: ln, PublicBaseURL: "http://" + ln.Addr().String(),
		Twilio:       twilioclient.Config{AccountSID: twiliofake.AccountSID, AuthToken: token, APIBaseURL: tw.URL()},
		WhatsAppFrom: "+14155238886", VoiceFrom: "+15005550006",
		WhatsAppTemplates: channel.Templates{Reminder: tw.AddReminderTemplate()},
		Dispatch:          dispatch.Config{Owner: "bench", Workers: workers}, Senders: senders,
		Log: warnLog,
	}, serviceFailed), nil
}

// waitDrained waits until no rung is due and no outbox row is pending: both are index probes
// (the clock read once, as an init plan: flux.now() per row would scan the table),
// so watching costs the database next to nothing (a scan every few milliseconds would take a
// core from what is being measured).
func waitDrained(ctx context.Context, pool *pgxpool.Pool) error {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var busy bool
		err := pool.QueryRow(ctx, `
			select exists (select 1 from public.tasks where escalation_due_at <= (select flux.now()) and status = 'pending')
			    or exists (select 1 from public.dispatch_log where status = 'pending')`).Scan(&busy)
		if err != nil {
			return err
		}
		if !busy {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("bench: rungs still due or sends pending after 10 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// idleTransactions counts the transactions committed in the database during d.
func idleTransactions(ctx context.Context, pool *pgxpool.Pool, d time.Duration) (int64, error) {
	read := func() (int64, error) {
		var n int64
		// Statistics are flushed by each backend at the end of its transaction; ask for a fresh
		// snapshot so the reading is current.
		err := pool.QueryRow(ctx, `select pg_stat_clear_snapshot(), xact_commit from pg_stat_database where datname = current_database()`).Scan(nil, &n)
		return n, err
	}
	// Backends report their counters at most once a second and an idle one flushes what is
	// pending after 10 s (PostgreSQL 15): wait that out, or the busy phase's tail counts as idle.
	time.Sleep(11 * time.Second)
	before, err := read()
	if err != nil {
		return 0, err
	}
	time.Sleep(d)
	after, err := read()
	if err != nil {
		return 0, err
	}
	return after - before - 1, nil // the first read's own transaction
}

func steadyLags(ctx context.Context, pool *pgxpool.Pool) ([]time.Duration, error) {
	return sortedLags(ctx, pool, `
		select extract(epoch from d.dispatched_at - d.due_at)
		from public.dispatch_log d join public.tasks t on t.id = d.task_id
		where t.title like 'steady %' and d.channel = 'whatsapp' and d.status = 'dispatched'`,
		"a steady-state send has no dispatch time", "no steady-state sends recorded")
}

// sortedLags runs query, whose rows are durations in seconds, and returns them sorted. A NULL
// is the error null, and no row at all the error none.
func sortedLags(ctx context.Context, pool *pgxpool.Pool, query, null, none string) ([]time.Duration, error) {
	rows, err := pool.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	secs, err := pgx.CollectRows(rows, pgx.RowTo[*float64])
	if err != nil {
		return nil, err
	}
	if len(secs) == 0 {
		return nil, errors.New("bench: " + none)
	}
	lags := make([]time.Duration, len(secs))
	for i, s := range secs {
		if s == nil {
			return nil, errors.New("bench: " + null)
		}
		lags[i] = time.Duration(*s * float64(time.Second))
	}
	slices.Sort(lags)
	return lags, nil
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// spread is "p50 <X> p99 <Y> max <Z>" of a sorted sample.
func spread(sorted []time.Duration) string {
	at := func(p float64) time.Duration { return percentile(sorted, p).Round(time.Microsecond) }
	return fmt.Sprintf("p50 %s p99 %s max %s", at(0.50), at(0.99), at(1))
}

// orDefault sets a setting left at zero (or below) to its default.
func orDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// machine is where a benchmark runs: "<host>, <n> CPUs, <Go version>".
func machine() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s, %d CPUs, %s", host, runtime.NumCPU(), runtime.Version())
}

// The service's warnings and errors go to stderr, apart from the figures.
var warnLog = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// RunService runs the service with cfg in the background until stop, which hands failed the error
// it ended with, unless it just stopped; stop may be called again. flux demo runs its listener so.
func RunService(ctx context.Context, cfg service.Config, failed func(error)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- service.Run(ctx, cfg) }()
	return sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			failed(err)
		}
	})
}

// serviceFailed says on stderr, apart from the figures, that the service failed.
func serviceFailed(err error) { fmt.Fprintln(os.Stderr, "bench: service:", err) }

// StartDatabase starts a throwaway PostgreSQL with the extra settings, migrates it (--local) and
// opens a pool on it; stop closes both. flux demo runs on one too.
func StartDatabase(ctx context.Context, settings map[string]string) (url string, pool *pgxpool.Pool, stop func(), err error) {
	cluster, err := localpg.Start(ctx, localpg.Options{Settings: settings})
	if err != nil {
		return "", nil, nil, err
	}
	url = cluster.ConnString("postgres")
	if _, err := migrate.Up(ctx, url, migrate.Options{Local: true, Logger: slog.New(slog.DiscardHandler)}); err != nil {
		cluster.Stop()
		return "", nil, nil, err
	}
	if pool, err = pgxpool.New(ctx, url); err != nil {
		cluster.Stop()
		return "", nil, nil, err
	}
	return url, pool, func() { pool.Close(); cluster.Stop() }, nil
}
