// Package dispatch sends the outbox: it leases pending dispatch_log rows, hands each to the
// sender of its channel with bounded concurrency, and records the outcome.
//
// Delivery is at least once. A row is leased, not deleted, while it is being sent: if the process
// dies mid-send the lease runs out and another worker sends it again (attempts counts the leases,
// so every duplicate send is visible as a lease that never recorded an outcome). Retryable
// failures (timeouts, 429, 5xx) go back to pending with exponential backoff, or the provider's
// Retry-After, up to MaxAttempts; anything else is recorded as failed with its error.
//
// Traces (when tracing is on, listener/tracing): a lease that took rows is a span,
// dispatch.lease, and each row it took a child dispatch.send, with the provider call under it
// (the sender's span) and dispatch.record, the statement that recorded the outcome. A send
// links to the escalation.claim span that queued the row when that claim ran in this process
// (Claimed); otherwise the two are joined by flux.task.id.
package dispatch

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/flux-companion/flux/listener/backoff"
	"github.com/flux-companion/flux/listener/clock"
	"github.com/flux-companion/flux/listener/report"
	"github.com/flux-companion/flux/listener/tracing"
	"github.com/flux-companion/flux/sql/store"
)

// Result is what a Sender reports for one outbox row.
type Result struct {
	ExternalID string        // the provider's id (MessageSid, CallSid); empty for push
	Err        error         // nil: delivered
	Retryable  bool          // Err is worth another attempt
	RetryAfter time.Duration // the provider's hint, 0 when none
}

// Sender delivers outbox rows of one channel.
type Sender interface {
	Send(ctx context.Context, it store.OutboxItem) Result
}

// Observer hears about every finished attempt (metrics). Nil is allowed.
type Observer interface {
	Attempt(channel string, outcome store.Outcome, lag time.Duration)
}

// Config tunes a Dispatcher. Zero values take the defaults.
type Config struct {
	Owner       string        // lease owner, unique per process (hostname/pid)
	Workers     int           // concurrent sends; default 16
	Lease       time.Duration // must outlast the slowest send; default 1m
	MaxAttempts int           // default 5
	BaseBackoff time.Duration // first retry delay, doubled per attempt; default 2s
	MaxBackoff  time.Duration // default 5m
	Sweep       time.Duration // look for unsignalled work (retries, expired leases); default 30s
	SendTimeout time.Duration // per attempt; default 30s
	Report      *report.Reporter
}

func (c *Config) defaults() {
	if c.Workers <= 0 {
		c.Workers = 16
	}
	if c.Lease <= 0 {
		c.Lease = time.Minute
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.BaseBackoff <= 0 {
		c.BaseBackoff = 2 * time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 5 * time.Minute
	}
	if c.Sweep <= 0 {
		c.Sweep = 30 * time.Second
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = 30 * time.Second
	}
}

// Dispatcher sends the outbox.
type Dispatcher struct {
	store    *store.Store
	senders  map[string]Sender
	cfg      Config
	clock    *clock.Clock
	log      *slog.Logger
	observer Observer
	wake     chan struct{}
	claims   claims
	running  atomic.Bool // Run was called: Claimed is worth remembering
}

// New returns a dispatcher. senders maps a channel (push, whatsapp, call) to its sender; a row
// for a channel without one fails with an error saying so (the provider is not configured).
func New(s *store.Store, senders map[string]Sender, cfg Config, c *clock.Clock, log *slog.Logger, obs Observer) *Dispatcher {
	cfg.defaults()
	return &Dispatcher{store: s, senders: senders, cfg: cfg, clock: c, log: log, observer: obs, wake: make(chan struct{}, 1)}
}

// Wake tells the dispatcher new outbox rows exist (after a claim, or a change-feed insert).
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run sends until ctx ends, then waits for sends in flight to record their outcome.
//
// Leased rows wait in a local queue of twice the workers for a free worker. The queue is
// refilled in one lease once half of it has drained (or it ran empty): leasing per free worker
// costs a query per row when sends are fast. Rows still queued at shutdown are handed back at
// once rather than waiting out their lease.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.running.Store(true)
	defer d.running.Store(false)
	queue := make(chan leased, 2*d.cfg.Workers)
	results := make(chan attempt, d.cfg.Workers)
	recorded := make(chan struct{})
	go func() { d.record(ctx, results); close(recorded) }()
	var workers sync.WaitGroup
	for range d.cfg.Workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for it := range queue {
				if ctx.Err() != nil {
					results <- giveBack(it.OutboxItem, d.clock.Now())
					continue
				}
				results <- d.send(ctx, it)
				if len(queue) <= cap(queue)/2 {
					d.Wake()
				}
			}
		}()
	}
	defer func() {
		close(queue)
		workers.Wait()
		close(results)
		<-recorded
	}()

	failures := 0
	for {
		room := cap(queue) - len(queue)
		var items []store.OutboxItem
		var lease trace.SpanContext
		var err error
		if room >= cap(queue)/2 {
			items, lease, err = d.claim(ctx, room)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failures++
			wait := backoff.Delay(d.cfg.BaseBackoff/4, d.cfg.Sweep, failures)
			d.log.ErrorContext(ctx, "claim outbox failed", "error", err, "retry_in", wait)
			if !sleep(ctx, wait) {
				return ctx.Err()
			}
			continue
		}
		failures = 0
		lctx := ctx
		if lease.IsValid() {
			lctx = trace.ContextWithSpanContext(ctx, lease)
		}
		for _, it := range items {
			if it.Skipped != "" {
				d.log.InfoContext(lctx, "rung skipped", "dispatch_id", it.ID, "task_id", it.TaskID, "user_id", it.UserID,
					"channel", it.Channel, "reason", it.Skipped)
				continue
			}
			queue <- leased{OutboxItem: it, lease: lease} // room was counted: this never blocks
		}
		if ctx.Err() != nil {
			return ctx.Err() // the workers hand back what was queued
		}
		if len(items) > 0 && len(items) == room {
			continue // probably more waiting
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.wake:
		case <-time.After(d.cfg.Sweep):
		}
	}
}

// claim leases up to n rows. A claim is not abandoned when ctx ends: the server may already be
// running it, and would then lease rows for a dispatcher that never reads the answer (they came
// back only when the lease ran out). It completes, and the rows go to the queue, whose workers
// hand them back at once when stopping.
//
// A lease that took rows, or failed, is a span (dispatch.lease), whose context it returns: the
// parent of the rows' sends. The many leases that find nothing, on every wake-up and sweep,
// are not traced: the span is made after the fact, once the rows are known.
func (d *Dispatcher) claim(ctx context.Context, n int) ([]store.OutboxItem, trace.SpanContext, error) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.SendTimeout)
	defer cancel()
	started := time.Now()
	items, err := d.store.ClaimOutbox(cctx, n, d.cfg.Lease, d.cfg.Owner)
	if !tracing.Enabled() || (err == nil && len(items) == 0) {
		return items, trace.SpanContext{}, err
	}
	_, span := tracing.StartWith(ctx, "dispatch.lease", trace.WithTimestamp(started),
		trace.WithAttributes(tracing.RowsKey.Int(len(items)), attribute.Int("flux.lease.limit", n)))
	tracing.End(span, err)
	return items, span.SpanContext(), err
}

// leased is a row of a lease on its way to a worker, with the lease's span when traced.
type leased struct {
	store.OutboxItem
	lease trace.SpanContext
}

// giveBack returns an unsent row to pending at once (shutting down).
func giveBack(it store.OutboxItem, now time.Time) attempt {
	return attempt{item: it, finish: store.Finish{ID: it.ID, Outcome: store.Retry, RetryAt: now, Error: "not sent: the dispatcher stopped"}}
}

// attempt is one finished send on its way to be recorded.
type attempt struct {
	item   store.OutboxItem
	finish store.Finish
	lag    time.Duration
	span   trace.Span // dispatch.send, ended once the outcome is recorded; nil when given back
	err    error      // the sender's
}

// send delivers one row and decides its outcome.
func (d *Dispatcher) send(ctx context.Context, l leased) attempt {
	it := l.OutboxItem
	ctx, span := d.startSend(ctx, l)
	var res Result
	if sender, ok := d.senders[it.Channel]; ok {
		sendCtx, cancel := context.WithTimeout(ctx, d.cfg.SendTimeout)
		// A panic in a sender fails this attempt (retried like any failure), not the worker.
		if err := d.cfg.Report.Protect(sendCtx, d.log, "send "+it.Channel, func() error {
			res = sender.Send(sendCtx, it)
			return nil
		}); err != nil {
			res = Result{Err: err, Retryable: true} // like a crash mid-send: tried again, up to MaxAttempts
		}
		cancel()
	} else {
		res = Result{Err: fmt.Errorf("no %s provider configured", it.Channel)}
	}

	now := d.clock.Now()
	f := store.Finish{ID: it.ID, Outcome: store.Sent, ExternalID: res.ExternalID}
	switch {
	case res.Err == nil:
	case res.Retryable && it.Attempts < d.cfg.MaxAttempts && ctx.Err() == nil:
		wait := max(backoff.Delay(d.cfg.BaseBackoff, d.cfg.MaxBackoff, it.Attempts), res.RetryAfter)
		f.Outcome, f.RetryAt, f.Error = store.Retry, now.Add(wait), res.Err.Error()
	case res.Retryable && ctx.Err() != nil:
		// Shutting down mid-send: give the row back at once for whoever runs next.
		f.Outcome, f.RetryAt, f.Error = store.Retry, now, res.Err.Error()
	default:
		f.Outcome, f.Error = store.Failed, res.Err.Error()
		if res.Retryable {
			f.Error = fmt.Sprintf("gave up after %d attempts: %s", it.Attempts, f.Error)
		}
	}
	var lag time.Duration
	if it.DueAt != nil {
		lag = now.Sub(*it.DueAt)
	}
	return attempt{item: it, finish: f, lag: lag, span: span, err: res.Err}
}

// startSend starts a row's dispatch.send span: a child of its lease's, linked to the
// escalation claim that queued the row when this process made it. Tracing off, it is free.
func (d *Dispatcher) startSend(ctx context.Context, l leased) (context.Context, trace.Span) {
	if !tracing.Enabled() {
		return ctx, noop.Span{}
	}
	if l.lease.IsValid() {
		ctx = trace.ContextWithSpanContext(ctx, l.lease)
	}
	opts := []trace.SpanStartOption{trace.WithAttributes(
		tracing.TaskIDKey.String(l.TaskID), tracing.DispatchIDKey.Int64(l.ID), tracing.ChannelKey.String(l.Channel),
		tracing.StageKey.String(l.Channel), tracing.AttemptKey.Int(l.Attempts))}
	if claim, ok := d.claims.take(l.TaskID, l.Channel); ok {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: claim, Attributes: []attribute.KeyValue{linkClaim}}))
	}
	return tracing.StartWith(ctx, "dispatch.send", opts...)
}

// linkClaim marks the link from a send to the claim that queued its row.
var linkClaim = attribute.String("flux.link", "escalation.claim")

// Claimed tells the dispatcher which escalation claim (its span) queued the outbox rows of
// rungs, so that their sends link to it. Only while tracing is on; it keeps the last few
// thousand claims' rows, so rows another replica sends, or that are never sent, are forgotten;
// a dispatcher that is not running keeps none.
func (d *Dispatcher) Claimed(claim trace.SpanContext, rungs []store.Rung) {
	if !claim.IsValid() || !tracing.Enabled() || !d.running.Load() {
		return
	}
	for _, r := range rungs {
		if r.Outcome == "queued" { // an outbox row (store.Rung)
			d.claims.add(claim, r.TaskID, r.Stage)
		}
	}
}

// claims maps a task's rung (task and channel) to the claim span that queued it, in two
// generations of at most maxClaims entries: when the newer fills up, the older is dropped.
type claims struct {
	mu        sync.Mutex
	cur, prev map[claimKey]trace.SpanContext
}

type claimKey struct{ task, channel string }

const maxClaims = 1 << 14

func (c *claims) add(sc trace.SpanContext, task, channel string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil || len(c.cur) >= maxClaims {
		c.prev, c.cur = c.cur, make(map[claimKey]trace.SpanContext)
	}
	c.cur[claimKey{task, channel}] = sc
}

func (c *claims) take(task, channel string) (trace.SpanContext, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := claimKey{task, channel}
	for _, m := range []map[claimKey]trace.SpanContext{c.cur, c.prev} {
		if sc, ok := m[k]; ok {
			delete(m, k)
			return sc, true
		}
	}
	return trace.SpanContext{}, false
}

// record writes outcomes as they come, in batches: it takes one, adds whatever else is already
// waiting, and records them in one statement, so under load a round trip carries many and when
// quiet nothing waits. It returns when results is closed and drained.
func (d *Dispatcher) record(ctx context.Context, results <-chan attempt) {
	const maxBatch = 512
	for a := range results {
		batch := []attempt{a}
	more:
		for len(batch) < maxBatch {
			select {
			case next, ok := <-results:
				if !ok {
					break more
				}
				batch = append(batch, next)
			default:
				break more
			}
		}
		d.flush(ctx, batch)
	}
}

func (d *Dispatcher) flush(ctx context.Context, batch []attempt) {
	fs := make([]store.Finish, len(batch))
	for i, a := range batch {
		fs[i] = a.finish
	}
	// Record even when shutting down: the sends happened (or not) either way. A failed write is
	// tried again for a while (a database restart, a dropped connection): the alternative is
	// sending these again when their leases run out.
	recCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	started := time.Now()
	var done map[int64]bool
	var err error
	for try := 1; ; try++ {
		if done, err = d.store.FinishDispatches(recCtx, d.cfg.Owner, fs); err == nil || recCtx.Err() != nil {
			break
		}
		d.log.WarnContext(ctx, "recording dispatch outcomes failed; retrying", "rows", len(fs), "try", try, "error", err)
		if !sleep(recCtx, backoff.Delay(100*time.Millisecond, 5*time.Second, try)) {
			break
		}
	}
	recorded := time.Now()
	for _, a := range batch {
		it, f := a.item, a.finish
		ctx := ctx
		if a.span != nil && a.span.SpanContext().IsValid() {
			ctx = trace.ContextWithSpan(ctx, a.span)
			endSend(ctx, a, len(batch), started, recorded, err, done[it.ID])
		}
		log := d.log.With("dispatch_id", it.ID, "task_id", it.TaskID, "channel", it.Channel, "attempt", it.Attempts)
		switch {
		case err != nil:
			// The lease will expire and the row will be sent again: a duplicate, say so.
			log.ErrorContext(ctx, "could not record dispatch outcome; it will be retried after the lease", "outcome", f.Outcome, "error", err)
			continue
		case !done[it.ID]:
			log.WarnContext(ctx, "lease lost before the outcome was recorded; another worker owns the row", "outcome", f.Outcome)
			continue
		}
		if d.observer != nil {
			d.observer.Attempt(it.Channel, f.Outcome, a.lag)
		}
		switch f.Outcome {
		case store.Sent:
			log.InfoContext(ctx, "dispatched", "external_id", f.ExternalID, "lag_ms", a.lag.Milliseconds())
		case store.Retry:
			log.WarnContext(ctx, "dispatch failed, will retry", "error", f.Error, "retry_at", f.RetryAt)
			time.AfterFunc(f.RetryAt.Sub(d.clock.Now()), d.Wake) // be there when it is due
		case store.Failed:
			log.ErrorContext(ctx, "dispatch failed permanently", "error", f.Error)
		}
	}
}

// endSend adds a row's dispatch.record span (the batch statement, from started to recorded,
// with its size) under its send span in ctx, and ends the send with its outcome: sent, retry
// or failed, or unrecorded (the statement failed) or lease_lost.
func endSend(ctx context.Context, a attempt, rows int, started, recorded time.Time, err error, done bool) {
	outcome := string(a.finish.Outcome)
	switch {
	case err != nil:
		outcome = "unrecorded"
	case !done:
		outcome = "lease_lost"
	}
	_, rec := tracing.StartWith(ctx, "dispatch.record", trace.WithTimestamp(started),
		trace.WithAttributes(tracing.RowsKey.Int(rows), tracing.OutcomeKey.String(outcome)))
	tracing.End(rec, err, trace.WithTimestamp(recorded))
	a.span.SetAttributes(tracing.OutcomeKey.String(outcome), attribute.Int64("flux.lag_ms", a.lag.Milliseconds()))
	tracing.End(a.span, a.err)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
