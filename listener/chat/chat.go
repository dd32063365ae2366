// Package chat runs the agents for new chat messages: it claims agent runs from the database
// (flux.claim_agent_run), one conversation at a time and in order, asks the Agent for the
// turn, and writes the turn with the run's finish in one transaction (store.ApplyTurn).
//
// Work arrives as a wake-up (the change feed saw a user message, a NOTIFY hint from the
// replica that leads the feed) or on the sweep; the runs table is the truth, so a lost wake-up
// only delays a reply until the sweep. The feed's wake-ups name their transactions (Expect):
// the feed sees a commit before the runner's claim can, so the claim waits to see it. A conversation is worked by one goroutine at a time:
// after a turn it claims that conversation's next message directly, which keeps a burst of
// messages in order without a round through the scheduler. Different conversations run
// concurrently, up to Workers.
//
// Failure handling, by cause:
//   - the agent fails (the model and the offline fallback could not answer, invalid state):
//     the run is failed with a readable reply and nothing else is written;
//   - the database refuses the turn for good (a constraint, a trigger's check): the same;
//   - the database is unreachable, or the service stops mid-run: the run is handed back
//     (or its lease runs out) and claimed again, by this or another replica;
//   - another runner took the run over (our lease ran out): our writes are rolled back.
//
// So each message is answered exactly once, or gets one readable failure reply.
package chat

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/flux-companion/flux/agentsvc/agentrun"
	"github.com/flux-companion/flux/listener/report"
	"github.com/flux-companion/flux/listener/tracing"
	"github.com/flux-companion/flux/sql/pgerr"
	"github.com/flux-companion/flux/sql/store"
)

// Agent answers one turn. It must not write to the database: the runner writes the turn.
type Agent interface {
	Turn(ctx context.Context, run agentrun.Run, in agentrun.Input) (agentrun.Output, error)
}

// Config of a Runner. Zero values take the defaults.
type Config struct {
	Owner   string        // lease owner name; unique per process
	Workers int           // conversations answered at once; default 8
	Lease   time.Duration // renewed every third of it while a turn runs; default 2m
	Sweep   time.Duration // claim without a wake-up this often; default 30s
	History int           // earlier messages given to the agents; default 40
	Horizon time.Duration // booked time given to the planner; default 6 weeks
	Report  *report.Reporter
}

// Runner claims and answers agent runs.
type Runner struct {
	store *store.Store
	agent Agent
	cfg   Config
	log   *slog.Logger
	wake  chan struct{}
	slots chan struct{} // a token per worker; a conversation holds one while it runs

	mu   sync.Mutex
	xids []uint32 // transactions the next claim waits to see (Expect)
}

// New returns a Runner.
func New(st *store.Store, agent Agent, cfg Config, log *slog.Logger) *Runner {
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.Sweep <= 0 {
		cfg.Sweep = 30 * time.Second
	}
	if cfg.History <= 0 {
		cfg.History = 40
	}
	if cfg.Horizon <= 0 {
		cfg.Horizon = 6 * 7 * 24 * time.Hour
	}
	return &Runner{store: st, agent: agent, cfg: cfg, log: log,
		wake: make(chan struct{}, 1), slots: make(chan struct{}, cfg.Workers)}
}

// Expect wakes the runner for messages the change feed saw committed in transactions xids. The
// feed decodes a commit a moment before the committing session makes it visible to others, so
// the next claim first waits until those transactions are visible (store.WaitVisible). It never
// blocks.
func (r *Runner) Expect(xids ...uint32) {
	r.mu.Lock()
	for _, x := range xids {
		if !slices.Contains(r.xids, x) {
			r.xids = append(r.xids, x)
		}
	}
	r.mu.Unlock()
	r.Wake()
}

// Wake asks the runner to claim now. It never blocks.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run claims and answers runs until ctx ends, then waits for the turns in progress to be
// written or handed back.
func (r *Runner) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	sweep := time.NewTicker(r.cfg.Sweep)
	defer sweep.Stop()
	for {
		r.fill(ctx, &wg)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.wake:
		case <-sweep.C:
		}
	}
}

// fill claims runs while a worker is free, once the messages it was told of are visible.
func (r *Runner) fill(ctx context.Context, wg *sync.WaitGroup) {
	r.mu.Lock()
	xids := r.xids
	r.xids = nil
	r.mu.Unlock()
	if len(xids) > 0 {
		if visible, err := r.store.WaitVisible(ctx, xids, 10*time.Second); err != nil || !visible {
			r.log.WarnContext(ctx, "messages the change feed saw are not visible yet; claiming anyway", "xids", xids, "error", err)
		}
	}
	for ctx.Err() == nil {
		select {
		case r.slots <- struct{}{}:
		default:
			return // every worker busy; a finishing conversation wakes us
		}
		run, ok, err := r.store.ClaimAgentRun(ctx, r.cfg.Owner, r.cfg.Lease, "")
		if err != nil || !ok {
			<-r.slots
			if err != nil && ctx.Err() == nil {
				r.log.ErrorContext(ctx, "claim agent run; the sweep will retry", "error", err)
			}
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.conversation(ctx, run)
		}()
	}
}

// conversation answers run, then the conversation's next messages, holding one worker slot.
func (r *Runner) conversation(ctx context.Context, run agentrun.Run) {
	defer func() {
		<-r.slots
		r.Wake() // a worker is free: other conversations may be waiting
	}()
	for {
		r.answer(ctx, run)
		if ctx.Err() != nil {
			return
		}
		next, ok, err := r.store.ClaimAgentRun(ctx, r.cfg.Owner, r.cfg.Lease, run.ConversationID)
		if err != nil {
			r.log.ErrorContext(ctx, "claim the next message of a conversation; the sweep will retry",
				"conversation", run.ConversationID, "error", err)
			return
		}
		if !ok {
			return
		}
		run = next
	}
}

// answer runs one turn and writes it, or fails or hands back the run (see the package doc).
//
// The turn is one trace: a root span chat.turn (the message, its conversation and the run's
// attempt, by id) with agentrun.load, agentrun.turn (the agent's nodes and model calls under
// it) and agentrun.apply, the transaction that writes the reply, or agentrun.fail or
// agentrun.release; every line logged here carries its trace id.
func (r *Runner) answer(ctx context.Context, run agentrun.Run) {
	ctx, span := tracing.Start(ctx, "chat.turn", tracing.MessageIDKey.String(run.MessageID),
		tracing.ConversationIDKey.String(run.ConversationID), tracing.RunAttemptKey.Int(run.Attempts))
	outcome, failed := "answered", error(nil)
	defer func() {
		span.SetAttributes(tracing.OutcomeKey.String(outcome))
		tracing.End(span, failed)
	}()
	log := r.log.With("run", run.MessageID, "conversation", run.ConversationID, "user", run.UserID, "attempt", run.Attempts)
	started := time.Now()
	turnCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go r.keepLease(turnCtx, cancel, run, log)

	in, err := traced(turnCtx, "agentrun.load", func(ctx context.Context) (agentrun.Input, error) {
		return r.store.LoadTurn(ctx, run, r.cfg.History, r.cfg.Horizon)
	})
	var turn agentrun.Output
	if err == nil {
		// A panic in the agents fails this turn (a readable reply), not the runner.
		turn, err = traced(turnCtx, "agentrun.turn", func(ctx context.Context) (turn agentrun.Output, err error) {
			err = r.cfg.Report.Protect(ctx, log, "chat turn", func() (err error) {
				turn, err = r.agent.Turn(ctx, run, in)
				return err
			})
			return turn, err
		})
		if err != nil && turnCtx.Err() == nil {
			// The agent could not answer (its own fallbacks included): a readable reply.
			outcome, failed = "failed", err
			log.ErrorContext(ctx, "agent turn failed", "error", err)
			r.fail(ctx, run, "agent: "+err.Error(), log)
			return
		}
	}
	if err == nil {
		_, err = traced(turnCtx, "agentrun.apply", func(ctx context.Context) (struct{}, error) {
			return struct{}{}, r.store.ApplyTurn(ctx, run, r.cfg.Owner, turn)
		})
	}
	switch {
	case err == nil:
		span.SetAttributes(attribute.Int("flux.replies", len(turn.Replies)), attribute.Int("flux.goals", len(turn.Goals)),
			attribute.Int("flux.tasks", len(turn.Tasks)))
		log.InfoContext(ctx, "turn answered", "replies", len(turn.Replies), "goals", len(turn.Goals),
			"tasks", len(turn.Tasks), "ms", time.Since(started).Milliseconds())
	case errors.Is(err, store.ErrLeaseLost) || errors.Is(context.Cause(turnCtx), store.ErrLeaseLost):
		outcome = "lease_lost"
		log.WarnContext(ctx, "lease lost mid-turn; another runner answers this message", "error", err)
	case permanent(err):
		outcome, failed = "refused", err
		log.ErrorContext(ctx, "turn refused by the database", "error", err)
		r.fail(ctx, run, "write: "+err.Error(), log)
	default:
		// Stopping, or the database is away: hand the run back; if even that fails, its lease
		// runs out and the next claim takes it.
		outcome, failed = "handed_back", err
		log.WarnContext(ctx, "turn not finished; handing the run back", "error", err)
		hctx, hcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer hcancel()
		if _, err := traced(hctx, "agentrun.release", func(ctx context.Context) (struct{}, error) {
			return struct{}{}, r.store.ReleaseAgentRun(ctx, run.MessageID, r.cfg.Owner)
		}); err != nil {
			log.WarnContext(ctx, "hand back failed; the lease will expire", "error", err)
		}
	}
}

// traced runs f in a child span called name, which ends with f's error (its type only).
func traced[T any](ctx context.Context, name string, f func(context.Context) (T, error)) (T, error) {
	ctx, span := tracing.Start(ctx, name)
	v, err := f(ctx)
	tracing.End(span, err)
	return v, err
}

// keepLease renews the run's lease while the turn runs and cancels the turn when it is lost.
func (r *Runner) keepLease(ctx context.Context, cancel context.CancelCauseFunc, run agentrun.Run, log *slog.Logger) {
	t := time.NewTicker(r.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok, err := r.store.ExtendAgentRun(ctx, run.MessageID, r.cfg.Owner, r.cfg.Lease)
		if err != nil {
			if ctx.Err() == nil {
				log.WarnContext(ctx, "renew agent run lease", "error", err)
			}
			continue
		}
		if !ok {
			cancel(store.ErrLeaseLost)
			return
		}
	}
}

func (r *Runner) fail(ctx context.Context, run agentrun.Run, reason string, log *slog.Logger) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := traced(fctx, "agentrun.fail", func(ctx context.Context) (bool, error) {
		return r.store.FailAgentRun(ctx, run.MessageID, r.cfg.Owner, reason, "")
	}); err != nil {
		log.ErrorContext(ctx, "record failed run; it will be claimed again", "error", err)
	}
}

// permanent reports an error that repeating the same turn cannot fix: a row the turn depends
// on changed, or the database refused the data (pgerr.Permanent).
func permanent(err error) bool {
	return errors.Is(err, store.ErrTurnConflict) || pgerr.Permanent(err)
}
