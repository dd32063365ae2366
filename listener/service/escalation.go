package service

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/flux-companion/flux/listener/backoff"
	"github.com/flux-companion/flux/listener/clock"
	"github.com/flux-companion/flux/listener/deadline"
	"github.com/flux-companion/flux/listener/metrics"
	"github.com/flux-companion/flux/listener/tracing"
	"github.com/flux-companion/flux/sql/pgerr"
	"github.com/flux-companion/flux/sql/store"
)

// escalation keeps each task's next rung in the deadlines and, when one falls due, claims every
// due rung (flux.claim_escalations) and wakes the dispatchers for the outbox rows it wrote.
type escalation struct {
	store     *store.Store
	deadlines *deadline.Scheduler
	clock     *clock.Clock
	batch     int
	outbox    outbox
	metrics   *metrics.Metrics
	log       *slog.Logger

	mu    sync.Mutex
	xids  []uint32 // transactions the next claim waits to see (awaitXid)
	stuck int      // claims in a row after which a rung stayed due (rearm)
}

// stuckKey is the scheduler entry that brings the claim back for a rung left due (rearm).
const stuckKey = "claim: a rung stayed due"

// schedule sets task's next rung, seen by the change feed in transaction xid (zero due: none).
func (e *escalation) schedule(task string, due time.Time, xid uint32) {
	e.deadlines.Set(task, due)
	if !due.IsZero() && !due.After(e.clock.Now()) {
		e.awaitXid(xid) // due at once: the claim must wait until it can see the change
	}
}

// awaitXid makes the next claim wait until transaction xid is visible.
func (e *escalation) awaitXid(xid uint32) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !slices.Contains(e.xids, xid) {
		e.xids = append(e.xids, xid)
	}
}

// claim takes every due rung, batch after batch, and wakes the dispatchers for what it wrote.
// A rung the change feed just made due (a task moved to now, a ladder brought forward by a
// failed delivery) is claimed once its transaction is visible: the feed sees the commit first.
func (e *escalation) claim(ctx context.Context) {
	e.mu.Lock()
	xids := e.xids
	e.xids = nil
	e.mu.Unlock()
	if len(xids) > 0 {
		if visible, err := e.store.WaitVisible(ctx, xids, 5*time.Second); err != nil || !visible {
			e.log.WarnContext(ctx, "a change the feed saw is not visible yet; claiming anyway", "xids", xids, "error", err)
		}
	}
	for attempt := 1; ctx.Err() == nil; {
		// Each batch is a trace of its own (see claimBatch); its rungs' log lines carry it.
		cctx, rungs, err := e.claimBatch(ctx, attempt)
		if err != nil {
			// A user transaction settling many tasks can meet a claim in the opposite lock
			// order; the database picks a victim and the claim simply runs again.
			if pgerr.Transient(err) && attempt < 5 {
				attempt++
				continue
			}
			e.log.ErrorContext(cctx, "escalation claim failed; the sweeps will retry", "error", err)
			return
		}
		n := len(rungs)
		e.logRungs(cctx, rungs)
		e.metrics.Claimed(n)
		if n > 0 {
			e.outbox.wake()
		}
		if n < e.batch {
			e.rearm(ctx)
			return
		}
	}
}

// claimBatch claims one batch of due rungs in a span, escalation.claim: the batch's size
// limit, the try, and how many rungs it took, by outcome. The rungs it queued are told to this
// replica's dispatcher, whose sends of them link to the span (dispatch.Claimed); a send on
// another replica shares only flux.task.id with it. It returns the span's context.
func (e *escalation) claimBatch(ctx context.Context, attempt int) (context.Context, []store.Rung, error) {
	ctx, span := tracing.Start(ctx, "escalation.claim", attribute.Int("flux.claim.limit", e.batch), attribute.Int("flux.claim.try", attempt))
	rungs, err := e.store.ClaimEscalations(ctx, e.batch)
	if span.IsRecording() && err == nil {
		outcomes := map[string]int{}
		for _, r := range rungs {
			outcomes[r.Outcome]++
		}
		span.SetAttributes(attribute.Int("flux.rungs", len(rungs)))
		for outcome, n := range outcomes {
			span.SetAttributes(attribute.Int("flux.rungs."+outcome, n))
		}
		e.outbox.dispatcher.Claimed(span.SpanContext(), rungs)
	}
	tracing.End(span, err)
	return ctx, rungs, err
}

// rearm looks whether a rung stayed due after the claim and, if so, comes back for it shortly.
// The claim skips tasks another transaction holds (a person settling the task, a status
// callback for it), and such a rung's deadline has fired already: nothing else would bring the
// claim back before the refill, half a horizon later.
func (e *escalation) rearm(ctx context.Context) {
	at, err := e.store.EarliestDue(ctx)
	if err != nil {
		if ctx.Err() == nil {
			e.log.WarnContext(ctx, "look for rungs left due; the refill will find them", "error", err)
		}
		return
	}
	now := e.clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if at == nil || at.After(now) {
		e.stuck = 0
		return
	}
	e.stuck++
	e.deadlines.Set(stuckKey, now.Add(backoff.Delay(20*time.Millisecond, 5*time.Second, e.stuck)))
}

// logRungs writes a line for each rung whose outcome the claim decided: skipped (and why),
// passed in a backlog, auto-missed. A queued rung's line is the dispatcher's, once it is sent.
func (e *escalation) logRungs(ctx context.Context, rungs []store.Rung) {
	for _, r := range rungs {
		log := e.log.With("task_id", r.TaskID, "user_id", r.UserID, "channel", r.Stage)
		switch r.Outcome {
		case "skipped":
			log.InfoContext(ctx, "rung skipped", "reason", r.Reason)
		case "auto_missed":
			log.InfoContext(ctx, "task auto-missed: no answer to any rung")
		case "restarted":
			log.InfoContext(ctx, "location reminder unanswered; its ladder starts again")
		}
		if r.From != r.Stage && r.Outcome != "restarted" {
			log.InfoContext(ctx, "rungs passed: a later one was already due", "from", r.From)
		}
	}
}

// claimLoop claims at each deadline, until ctx ends.
func (e *escalation) claimLoop(ctx context.Context) error { return e.deadlines.Run(ctx, e.claim) }

// refill loads the deadlines within the horizon from the tasks.
func (e *escalation) refill(ctx context.Context) error {
	until := e.clock.Now().Add(e.deadlines.Horizon())
	ds, err := e.store.UpcomingDeadlines(ctx, until, 100000)
	if err != nil {
		return err
	}
	for _, d := range ds {
		e.deadlines.Set(d.TaskID, d.At)
	}
	return nil
}

// refillLoop refills every half horizon and on every clock warp, until ctx ends.
func (e *escalation) refillLoop(ctx context.Context) error {
	t := time.NewTicker(e.deadlines.Horizon() / 2)
	defer t.Stop()
	// The change channel is taken before each refill reads the clock, so a warp during a
	// refill is not lost (it triggers another).
	changed := e.clock.Changed()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-changed: // a warp moved the horizon: load what it now covers
		}
		changed = e.clock.Changed()
		if err := e.refill(ctx); err != nil && ctx.Err() == nil {
			e.log.ErrorContext(ctx, "deadline refill failed", "error", err)
		}
	}
}
