package feed

import (
	"cmp"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flux-companion/flux/internal/testwait"
	"github.com/flux-companion/flux/sql/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var slotSeq atomic.Int64

// Tasks are named by their title in these tests, but the feed carries only the columns the
// listener reads: a task's id is the md5 of its title, so a change's id gives its title back.
var titles sync.Map // id -> title

// taskID is the id of the task with this title (md5(title)::uuid in SQL).
func taskID(title string) string {
	h := fmt.Sprintf("%x", md5.Sum([]byte(title)))
	id := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	titles.Store(id, title)
	return id
}

// title of a change's task ("" when no test named it).
func title(c Change) string {
	t, _ := titles.Load(c.Get("id"))
	s, _ := t.(string)
	return s
}

// recorder is a Handler that keeps what it got; failOnce makes the first Handle of a title fail.
type recorder struct {
	mu       sync.Mutex
	changes  []Change
	catchUps int
	failOnce string
	failed   bool
}

func (r *recorder) CatchUp(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.catchUps++
	return nil
}

func (r *recorder) Handle(_ context.Context, cs []Change) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range cs {
		if r.failOnce != "" && !r.failed && title(c) == r.failOnce {
			r.failed = true
			return errors.New("handler failed")
		}
	}
	r.changes = append(r.changes, cs...)
	return nil
}

// titles of the task changes seen, with their op.
func (r *recorder) titles() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.changes {
		if c.Table == "tasks" {
			out = append(out, c.Op+":"+title(c))
		}
	}
	return out
}

type env struct {
	url  string
	pool *pgxpool.Pool
	slot string
	user string
}

func setup(t testing.TB) env {
	t.Helper()
	url := pgtest.DB(t)
	pool := pgtest.PoolOn(t, url)
	e := env{url: url, pool: pool, slot: fmt.Sprintf("feed_test_%d_%d", time.Now().UnixNano()%1e6, slotSeq.Add(1))}
	if err := pool.QueryRow(context.Background(),
		`insert into auth.users (id, email) values (gen_random_uuid(), 'feed@test.flux.local') returning id::text`).Scan(&e.user); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e env) start(t testing.TB, h Handler, cfg Config) (*Feed, func()) {
	t.Helper()
	cfg.DatabaseURL, cfg.Slot = cmp.Or(cfg.DatabaseURL, e.url), e.slot
	return run(t, h, cfg)
}

// run runs a feed (quiet unless cfg.Log is set, status updates every 200 ms unless set) until the
// returned stop, or the end of the test.
func run(t testing.TB, h Handler, cfg Config) (*Feed, func()) {
	cfg.Log = cmp.Or(cfg.Log, slog.New(slog.DiscardHandler))
	cfg.StatusInterval = cmp.Or(cfg.StatusInterval, 200*time.Millisecond)
	f := New(cfg, h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = f.Run(ctx); close(done) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return f, stop
}

// streaming starts a feed on the test's slot and waits until it streams.
func (e env) streaming(t *testing.T, h Handler, cfg Config) (*Feed, func()) {
	t.Helper()
	f, stop := e.start(t, h, cfg)
	testwait.For(t, "streaming", f.Streaming)
	return f, stop
}

func (e env) task(t *testing.T, title string) {
	t.Helper()
	if _, err := e.pool.Exec(context.Background(),
		`insert into public.tasks (id, user_id, title, scheduled_at) values ($1, $2, $3, now() + interval '1 hour')`, taskID(title), e.user, title); err != nil {
		t.Fatal(err)
	}
}

func TestDeliversCommittedChangesAfterCatchUp(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := &recorder{}
	e.streaming(t, r, Config{})
	e.task(t, "Stretch")
	testwait.For(t, "the insert", func() bool { return len(r.titles()) == 1 })
	if got := r.titles(); got[0] != "insert:Stretch" || r.catchUps != 1 {
		t.Fatalf("changes %v, catch-ups %d", got, r.catchUps)
	}
	r.mu.Lock()
	c := r.changes[0]
	r.mu.Unlock()
	due, err := c.Time("escalation_due_at")
	var want time.Time
	if qerr := e.pool.QueryRow(context.Background(), `select escalation_due_at from public.tasks where title = 'Stretch'`).Scan(&want); qerr != nil {
		t.Fatal(qerr)
	}
	// Only the published columns arrive: an absent one reads as "" and not NULL.
	if c.Get("id") != taskID("Stretch") || err != nil || !due.Equal(want) || c.IsNull("escalation_due_at") ||
		c.Get("title") != "" || c.IsNull("title") {
		t.Fatalf("row = %+v, due %v (%v), want %v", c, due, err, want)
	}
	// A rolled-back transaction never reaches the feed.
	tx, err := e.pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(context.Background(), `insert into public.tasks (id, user_id, title, scheduled_at) values ($1, $2, 'Ghost', now())`, taskID("Ghost"), e.user); err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback(context.Background())
	e.task(t, "After")
	testwait.For(t, "the next insert", func() bool { return len(r.titles()) == 2 })
	if got := r.titles(); got[1] != "insert:After" {
		t.Fatalf("changes %v", got)
	}
	// A task that leaves pending has no deadline: the update carries a NULL.
	if _, err := e.pool.Exec(context.Background(), `update public.tasks set status = 'cancelled' where id = $1`, taskID("Stretch")); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the update", func() bool { return len(r.titles()) == 3 })
	r.mu.Lock()
	c = r.changes[len(r.changes)-1]
	r.mu.Unlock()
	if c.Op != "update" || title(c) != "Stretch" || !c.IsNull("escalation_due_at") {
		t.Fatalf("update = %+v", c)
	}
}

// The slot keeps what happened while nobody listened; what was confirmed is not sent again.
func TestResumesWhereItLeftOff(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r1 := &recorder{}
	f1, stop1 := e.streaming(t, r1, Config{})
	e.task(t, "Before")
	testwait.For(t, "the first change", func() bool { return len(r1.titles()) == 1 })
	testwait.For(t, "its confirmation", func() bool { return confirmedFlush(t, e) >= uint64(f1.Confirmed()) && f1.Confirmed() > 0 })
	stop1()

	e.task(t, "While down 1")
	e.task(t, "While down 2")
	r2 := &recorder{}
	e.start(t, r2, Config{})
	testwait.For(t, "changes made while down", func() bool { return len(r2.titles()) == 2 })
	if got := strings.Join(r2.titles(), ","); got != "insert:While down 1,insert:While down 2" {
		t.Fatalf("after restart: %s", got)
	}
}

// A handler error ends the stream before the LSN is confirmed: the transaction comes again.
func TestHandlerFailureRedelivers(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := &recorder{failOnce: "Flaky"}
	e.streaming(t, r, Config{RetryMax: 200 * time.Millisecond})
	e.task(t, "Flaky")
	testwait.For(t, "redelivery", func() bool { return len(r.titles()) == 1 })
	if !r.failed || r.catchUps < 2 {
		t.Fatalf("failed=%v catchUps=%d: want a failure and a reconnection with catch-up", r.failed, r.catchUps)
	}
}

// Two replicas: one streams; when it goes, the other takes over and nothing is lost.
func TestOneLeaderAndFailover(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ra, rb := &recorder{}, &recorder{}
	_, stopA := e.streaming(t, ra, Config{})
	fb, _ := e.start(t, rb, Config{})
	time.Sleep(300 * time.Millisecond)
	if fb.Leader() {
		t.Fatal("two leaders")
	}
	e.task(t, "To A")
	testwait.For(t, "A's change", func() bool { return len(ra.titles()) == 1 })
	stopA() // a graceful stop confirms what A handled
	e.task(t, "To B")
	testwait.For(t, "failover", func() bool { return fb.Streaming() && len(rb.titles()) >= 1 })
	if got := strings.Join(rb.titles(), ","); got != "insert:To B" || len(ra.titles()) != 1 {
		t.Fatalf("A saw %v, B saw %s: want B to get only what A did not confirm", ra.titles(), got)
	}
}

func confirmedFlush(t *testing.T, e env) uint64 {
	t.Helper()
	var lsn string
	if err := e.pool.QueryRow(context.Background(), `select coalesce(confirmed_flush_lsn::text, '0/0') from pg_replication_slots where slot_name = $1`, e.slot).Scan(&lsn); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return 0
		}
		t.Fatal(err)
	}
	n, _ := pglogrepl.ParseLSN(lsn)
	return uint64(n)
}

// A feed that cannot stream says why (Err) for as long as it cannot: between its retries the
// replica is not leader, so leadership and streaming alone looked healthy to /readyz.
func TestAFailingFeedSaysWhy(t *testing.T) {
	t.Parallel()
	e := setup(t)
	f, _ := e.streaming(t, &recorder{}, Config{Publication: "no_such_publication", RetryMax: 200 * time.Millisecond})
	if f.Err() != nil {
		t.Fatalf("streaming, yet Err = %v", f.Err())
	}
	e.task(t, "Water the plants") // decoding it needs the publication
	testwait.For(t, "the failure", func() bool { return f.Err() != nil })
	if !strings.Contains(f.Err().Error(), "no_such_publication") {
		t.Errorf("Err = %v, want the server's reason", f.Err())
	}
	for range 40 { // through its retries, each starting to stream and failing again, it stays failing
		if f.Err() == nil {
			t.Fatal("Err cleared while the feed still cannot stream")
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// BenchmarkLeaderTakeover measures how long the feed has no reader when its leader dies: every
// connection of the leader ends at once and it never comes back (as when its process is
// killed), and the time until the follower streams is one op.
func BenchmarkLeaderTakeover(b *testing.B) {
	e := setup(b)
	type replica struct {
		f    *Feed
		stop func()
	}
	start := func(app string) replica {
		f, stop := e.start(b, &recorder{}, Config{DatabaseURL: e.url + "&application_name=" + app, RetryMax: time.Second})
		return replica{f, stop}
	}
	kill := func(app string, r replica) {
		if _, err := e.pool.Exec(context.Background(),
			`select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1`, app); err != nil {
			b.Fatal(err)
		}
		r.stop() // its connections are gone already: nothing is confirmed or released on the way out
	}
	names := [2]string{"bench_feed_0", "bench_feed_1"}
	leader := start(names[0])
	testwait.For(b, "a leader", leader.f.Streaming)
	follower := start(names[1])
	time.Sleep(100 * time.Millisecond) // waiting in the lock
	b.ResetTimer()
	for i := range b.N {
		kill(names[i%2], leader)
		testwait.For(b, "the takeover", follower.f.Streaming)
		b.StopTimer()
		leader, follower = follower, start(names[i%2]) // the dead one comes back as the follower
		time.Sleep(100 * time.Millisecond)             // waiting in the lock
		b.StartTimer()
	}
}
