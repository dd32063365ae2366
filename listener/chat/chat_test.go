package chat

import (
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

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flux-companion/flux/agentsvc/agentrun"
	"github.com/flux-companion/flux/internal/testwait"
	"github.com/flux-companion/flux/sql/pgtest"
	"github.com/flux-companion/flux/sql/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

// echo is a test Agent: it answers "echo: <message>", records the order it saw messages in
// per conversation and how many turns ran at once, and can be told to fail or to hang.
type echo struct {
	mu     sync.Mutex
	seen   map[string][]string // conversation -> contents, in the order answered
	active atomic.Int32
	peak   atomic.Int32
	delay  time.Duration
	hang   func(content string) bool // block until the turn's context ends
	fail   func(content string) bool
	panic  func(content string) bool // a bug in the agents
	task   bool                      // also create a task, to prove the turn is written in one transaction
}

func (e *echo) Turn(ctx context.Context, run agentrun.Run, in agentrun.Input) (agentrun.Output, error) {
	n := e.active.Add(1)
	defer e.active.Add(-1)
	for p := e.peak.Load(); n > p && !e.peak.CompareAndSwap(p, n); p = e.peak.Load() {
	}
	if e.hang != nil && e.hang(in.Content) {
		<-ctx.Done()
		return agentrun.Output{}, ctx.Err()
	}
	if e.fail != nil && e.fail(in.Content) {
		return agentrun.Output{}, errors.New("the model and the fallback both failed")
	}
	if e.panic != nil && e.panic(in.Content) {
		panic("index out of range in the planner")
	}
	select {
	case <-time.After(e.delay):
	case <-ctx.Done():
		return agentrun.Output{}, ctx.Err()
	}
	e.mu.Lock()
	if e.seen == nil {
		e.seen = map[string][]string{}
	}
	e.seen[in.ConversationID] = append(e.seen[in.ConversationID], in.Content)
	e.mu.Unlock()
	t := agentrun.Output{
		Replies: []agentrun.Reply{{Content: "echo: " + in.Content, Node: "echo"}},
		State:   json.RawMessage(`{"last": ` + mustJSON(in.Content) + `}`),
		Tokens:  map[string]int{"openrouter": 10},
	}
	if e.task {
		t.Tasks = []agentrun.NewTask{{Title: in.Content, ScheduledAt: in.Now.Add(time.Hour), DurationMinutes: 30}}
	}
	return t, nil
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

type fixture struct {
	pool    *pgxpool.Pool
	store   *store.Store
	user    string
	mu      sync.Mutex
	runners []*Runner
}

func setup(t *testing.T) *fixture {
	t.Helper()
	pool := pgtest.Pool(t)
	var user string
	if err := pool.QueryRow(context.Background(),
		`insert into auth.users (id, email) values (gen_random_uuid(), 'chat@test.flux.local') returning id::text`).Scan(&user); err != nil {
		t.Fatal(err)
	}
	return &fixture{pool: pool, store: store.New(pool), user: user}
}

func (f *fixture) conversation(t *testing.T) string {
	t.Helper()
	var id string
	if err := f.pool.QueryRow(context.Background(),
		`insert into public.conversations (user_id) values ($1) returning id::text`, f.user).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// say inserts user messages into a conversation in one transaction, as a client sending them
// back to back would, one created_at apart so their order is defined, then wakes the runners
// as the change feed would.
func (f *fixture) say(t *testing.T, conversation string, contents ...string) {
	t.Helper()
	err := pgx.BeginFunc(context.Background(), f.pool, func(tx pgx.Tx) error {
		for _, c := range contents {
			if _, err := tx.Exec(context.Background(),
				`insert into public.messages (conversation_id, user_id, content, created_at)
				 values ($1, $2, $3, clock_timestamp())`, conversation, f.user, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.runners {
		r.Wake()
	}
}

func (f *fixture) run(t *testing.T, agent Agent, cfg Config) (stop func()) {
	t.Helper()
	if cfg.Owner == "" {
		cfg.Owner = "test-" + t.Name()
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := New(f.store, agent, cfg, quiet)
	f.mu.Lock()
	f.runners = append(f.runners, r)
	f.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	r.Wake()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("runner: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitIdle waits until no run is pending or running.
func (f *fixture) waitIdle(t *testing.T, within time.Duration) {
	t.Helper()
	var open int
	if !testwait.Until(within, func() bool {
		if err := f.pool.QueryRow(context.Background(),
			`select count(*) from flux.agent_runs where status in ('pending', 'running')`).Scan(&open); err != nil {
			t.Fatal(err)
		}
		return open == 0
	}) {
		t.Fatalf("%d runs still open after %s", open, within)
	}
}

// transcript is a conversation's messages, oldest first, as "role: content".
func (f *fixture) transcript(t *testing.T, conversation string) []string {
	t.Helper()
	rows, err := f.pool.Query(context.Background(),
		`select role || ': ' || content from public.messages where conversation_id = $1 order by created_at, id`, conversation)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func TestMessagesOfOneConversationAreAnsweredInOrderAndConversationsConcurrently(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.conversation(t), f.conversation(t)
	agent := &echo{delay: 50 * time.Millisecond}
	f.run(t, agent, Config{Workers: 4})
	f.say(t, a, "one", "two", "three")
	f.say(t, b, "uno", "dos")
	f.waitIdle(t, 10*time.Second)

	want := []string{"user: one", "assistant: echo: one", "user: two", "assistant: echo: two", "user: three", "assistant: echo: three"}
	// The user messages were inserted together, so the replies follow them: compare per role.
	got := f.transcript(t, a)
	if len(got) != len(want) {
		t.Fatalf("conversation a = %q, want %q (in some interleaving)", got, want)
	}
	if seen := agent.seen[a]; strings.Join(seen, ",") != "one,two,three" {
		t.Errorf("conversation a answered in order %q, want one,two,three", seen)
	}
	var replies []string
	for _, l := range got {
		if strings.HasPrefix(l, "assistant: ") {
			replies = append(replies, l)
		}
	}
	if strings.Join(replies, "|") != "assistant: echo: one|assistant: echo: two|assistant: echo: three" {
		t.Errorf("replies of a = %q", replies)
	}
	if seen := agent.seen[b]; strings.Join(seen, ",") != "uno,dos" {
		t.Errorf("conversation b answered in order %q", seen)
	}
	if p := agent.peak.Load(); p < 2 {
		t.Errorf("at most %d turn at once: two conversations should run concurrently", p)
	}
	var status string
	var state string
	if err := f.pool.QueryRow(context.Background(),
		`select c.agent_status, s.state ->> 'last' from public.conversations c join flux.agent_state s using (thread_id) where c.id = $1`, a).
		Scan(&status, &state); err != nil {
		t.Fatal(err)
	}
	if status != "idle" || state != "three" {
		t.Errorf("conversation a: status %q, state.last %q; want idle, three", status, state)
	}
	var tokens int
	if err := f.pool.QueryRow(context.Background(),
		`select (monthly_token_usage ->> 'total')::int from public.users where id = $1`, f.user).Scan(&tokens); err != nil {
		t.Fatal(err)
	}
	if tokens != 50 {
		t.Errorf("token usage = %d, want 5 turns × 10", tokens)
	}
}

func TestAFailedTurnLeavesAReadableReplyAndNothingElse(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c := f.conversation(t)
	agent := &echo{task: true, fail: func(s string) bool { return s == "break" }}
	f.run(t, agent, Config{})
	f.say(t, c, "break", "fine")
	f.waitIdle(t, 10*time.Second)
	got := f.transcript(t, c)
	if len(got) != 4 || got[0] != "user: break" || got[1] != "user: fine" ||
		!strings.HasPrefix(got[2], "assistant: Sorry, I could not process that message") || got[3] != "assistant: echo: fine" {
		t.Fatalf("transcript = %q, want the failure reply and then the next answer", got)
	}
	var tasks int
	if err := f.pool.QueryRow(context.Background(), `select count(*) from public.tasks where user_id = $1`, f.user).Scan(&tasks); err != nil {
		t.Fatal(err)
	}
	if tasks != 1 {
		t.Errorf("%d tasks, want 1: the failed turn writes none, the next one its one", tasks)
	}
	var status, reason string
	if err := f.pool.QueryRow(context.Background(),
		`select r.status, r.error from flux.agent_runs r join public.messages m on m.id = r.message_id where m.content = 'break'`).
		Scan(&status, &reason); err != nil {
		t.Fatal(err)
	}
	if status != "failed" || !strings.Contains(reason, "the model and the fallback both failed") {
		t.Errorf("failed run: %s %q", status, reason)
	}
}

// A panic in the agents fails that turn with a readable reply; the runner and every other
// conversation go on.
func TestAPanickingTurnFailsAloneAndTheRunnerGoesOn(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c1, c2 := f.conversation(t), f.conversation(t)
	agent := &echo{panic: func(s string) bool { return s == "crash" }}
	f.run(t, agent, Config{})
	f.say(t, c1, "crash", "after")
	f.say(t, c2, "other")
	f.waitIdle(t, 10*time.Second)
	got := f.transcript(t, c1)
	if len(got) != 4 || !strings.HasPrefix(got[2], "assistant: Sorry, I could not process that message") || got[3] != "assistant: echo: after" {
		t.Fatalf("transcript = %q, want the failure reply and then the next answer", got)
	}
	if got := f.transcript(t, c2); len(got) != 2 || got[1] != "assistant: echo: other" {
		t.Fatalf("the other conversation: %q", got)
	}
	var reason string
	if err := f.pool.QueryRow(context.Background(),
		`select r.error from flux.agent_runs r join public.messages m on m.id = r.message_id where m.content = 'crash'`).Scan(&reason); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(reason, "panic") {
		t.Errorf("failed run's reason %q does not say it panicked", reason)
	}
}

func TestAStoppedRunnerHandsItsRunBackAndItIsAnsweredOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c := f.conversation(t)
	first := &echo{hang: func(string) bool { return true }}
	stop := f.run(t, first, Config{Owner: "first"})
	f.say(t, c, "hello")
	testwait.For(t, "the turn to start", func() bool { return first.active.Load() == 1 })
	stop() // mid-turn: the turn is cancelled and the run handed back

	second := &echo{}
	f.run(t, second, Config{Owner: "second"})
	f.waitIdle(t, 10*time.Second)
	if got := f.transcript(t, c); strings.Join(got, "|") != "user: hello|assistant: echo: hello" {
		t.Errorf("transcript = %q, want one answer", got)
	}
	var attempts int
	if err := f.pool.QueryRow(context.Background(), `select attempts from flux.agent_runs`).Scan(&attempts); err != nil {
		t.Fatal(err)
	}
	if attempts != 1 {
		t.Errorf("attempts = %d; a handed-back run does not count the attempt", attempts)
	}
}

func TestARunOfACrashedRunnerIsTakenOverAndItsLateWriteIsRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c := f.conversation(t)
	f.say(t, c, "are you there?")
	ctx := context.Background()
	// A runner that crashed mid-turn: it claimed the run, then nothing (no hand-back).
	dead, ok, err := f.store.ClaimAgentRun(ctx, "dead", 300*time.Millisecond, "")
	if err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	f.run(t, &echo{}, Config{Owner: "alive", Sweep: 100 * time.Millisecond})
	f.waitIdle(t, 10*time.Second)
	// The crashed runner's turn, if it ever got written, would be a second answer: refused.
	err = f.store.ApplyTurn(ctx, dead, "dead", agentrun.Output{Replies: []agentrun.Reply{{Content: "late answer"}}})
	if !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("late write: %v, want ErrLeaseLost", err)
	}
	if got := f.transcript(t, c); strings.Join(got, "|") != "user: are you there?|assistant: echo: are you there?" {
		t.Errorf("transcript = %q, want exactly one answer", got)
	}
}

func TestALongTurnKeepsItsLease(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c := f.conversation(t)
	slow := &echo{delay: 900 * time.Millisecond}
	f.run(t, slow, Config{Owner: "slow", Lease: 300 * time.Millisecond})
	f.say(t, c, "think hard")
	testwait.For(t, "the turn to start", func() bool { return slow.active.Load() == 1 })
	// A second runner would take the run over if the slow one stopped renewing its lease.
	other := &echo{}
	f.run(t, other, Config{Owner: "other", Sweep: 50 * time.Millisecond})
	f.waitIdle(t, 10*time.Second)
	if len(other.seen) != 0 {
		t.Errorf("the other runner answered %v: the slow turn's lease was not kept", other.seen)
	}
	if got := f.transcript(t, c); len(got) != 2 {
		t.Errorf("transcript = %q, want one answer", got)
	}
}

// PostgreSQL restarts while a turn is running: the turn's write fails, nothing is half-written,
// and once the database is back the runner answers that message exactly once, and the next.
func TestARunnerSurvivesADatabaseRestart(t *testing.T) {
	t.Parallel()
	db := pgtest.NewRestartable(t)
	ctx := context.Background()
	pool := pgtest.PoolOn(t, db.URL())
	f := &fixture{pool: pool, store: store.New(pool)}
	if err := pool.QueryRow(ctx, `insert into auth.users (id, email) values (gen_random_uuid(), 'restart@test.flux.local') returning id::text`).Scan(&f.user); err != nil {
		t.Fatal(err)
	}
	c := f.conversation(t)
	gate := make(chan struct{})
	agent := &echo{task: true}
	var first atomic.Bool
	agent.hang = func(string) bool {
		if first.CompareAndSwap(false, true) {
			<-gate // the first turn waits until the database is down
		}
		return false
	}
	f.run(t, agent, Config{Owner: "restart", Lease: time.Second, Sweep: 100 * time.Millisecond})
	f.say(t, c, "before the restart")
	testwait.For(t, "the turn to start", func() bool { return agent.active.Load() == 1 })
	db.Stop()
	close(gate) // the turn finishes while the database is away: its write fails
	time.Sleep(300 * time.Millisecond)
	db.Start()
	f.waitIdle(t, 30*time.Second)
	f.say(t, c, "after the restart")
	f.waitIdle(t, 30*time.Second)
	want := "user: before the restart|assistant: echo: before the restart|user: after the restart|assistant: echo: after the restart"
	if got := f.transcript(t, c); strings.Join(got, "|") != want {
		t.Errorf("transcript = %q, want each message answered once", got)
	}
	var tasks int
	if err := pool.QueryRow(ctx, `select count(*) from public.tasks`).Scan(&tasks); err != nil {
		t.Fatal(err)
	}
	if tasks != 2 {
		t.Errorf("%d tasks, want one per answered turn", tasks)
	}
}
