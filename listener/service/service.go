// Package service assembles `flux listen`: the change feed, the in-memory deadlines and the
// escalation claim, the outbox dispatcher with its channel senders, the HTTP side (webhooks,
// probes, metrics), and the clock, each a goroutine of one errgroup.
//
// How work reaches the service, fastest first:
//   - the change feed (leader only): a task's new rung goes into the deadlines, a new outbox
//     row wakes the dispatcher and, through a debounced NOTIFY hint, every replica's;
//   - the deadlines fire the claim at each rung's second; the claim's outbox rows wake the
//     dispatcher directly;
//   - the refill sweep reloads the deadlines within the horizon every half horizon (this is how
//     replicas that do not lead the feed learn of deadlines), and the dispatcher's own sweep
//     picks up retries and rows whose lease ran out;
//   - pg_cron's minute sweep in the database, should every replica be down.
//
// While nothing is due the service sends no queries but the feed's keepalives and these sweeps.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twilio/twilio-go"
	"golang.org/x/sync/errgroup"

	"github.com/flux-companion/flux/listener/account"
	"github.com/flux-companion/flux/listener/auth"
	"github.com/flux-companion/flux/listener/backoff"
	"github.com/flux-companion/flux/listener/channel"
	"github.com/flux-companion/flux/listener/chat"
	"github.com/flux-companion/flux/listener/clock"
	"github.com/flux-companion/flux/listener/deadline"
	"github.com/flux-companion/flux/listener/dispatch"
	"github.com/flux-companion/flux/listener/feed"
	"github.com/flux-companion/flux/listener/hint"
	"github.com/flux-companion/flux/listener/metrics"
	"github.com/flux-companion/flux/listener/report"
	"github.com/flux-companion/flux/listener/twilioclient"
	"github.com/flux-companion/flux/listener/userapi"
	"github.com/flux-companion/flux/listener/webhook"
	"github.com/flux-companion/flux/listener/webpushclient"
	"github.com/flux-companion/flux/sql/pgerr"
	"github.com/flux-companion/flux/sql/store"
)

// Config of the service. Zero values take defaults where one makes sense.
type Config struct {
	DatabaseURL string
	HTTPAddr    string // default 127.0.0.1:8080
	Listener    net.Listener
	// MetricsAddr moves /metrics off the public port to its own (e.g. 127.0.0.1:9464, or a
	// private interface Prometheus scrapes); empty serves it next to the webhooks.
	MetricsAddr     string
	MetricsListener net.Listener     // instead of MetricsAddr (tests)
	AllowOrigins    string           // web origins allowed to call /v1 from a browser; empty: any
	PublicBaseURL   string           // where Twilio reaches the webhooks
	Slot            string           // replication slot; default flux_listener
	Report          *report.Reporter // errors and recovered panics to Sentry; nil: logs only

	Twilio       twilioclient.Config // no AccountSID: WhatsApp and calls are not sent
	WhatsAppFrom string
	VoiceFrom    string
	// WhatsAppTemplates are the approved templates sent outside the 24-hour window.
	WhatsAppTemplates channel.Templates
	Push              webpushclient.Config // no VAPID keys: push is not sent
	Dispatch          dispatch.Config
	Horizon           time.Duration // deadlines kept in memory; default 15m
	ClaimBatch        int           // rungs per claim transaction; default 1000
	FeedStatus        time.Duration // feed status interval; default 10s
	DisableFeed       bool          // a replica that never leads the feed
	DisableHTTP       bool
	DisableDispatch   bool

	Agent chat.Agent  // answers chat messages; nil: this replica runs no agents
	Chat  chat.Config // Owner defaults to Dispatch.Owner

	// The user endpoints (userapi) are served when Auth has a secret or a JWKS URL.
	Auth             auth.Config
	VerifyServiceSID string        // Twilio Verify service for phone verification
	AccountAdmin     account.Admin // the Supabase admin API; nil: auth users are deleted directly

	// Senders replace those built from Twilio and Push (the benchmark's provider-free run).
	Senders map[string]dispatch.Sender

	Log *slog.Logger
}

// Run serves until ctx ends or a component fails for good.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Horizon <= 0 {
		cfg.Horizon = 15 * time.Minute
	}
	if cfg.ClaimBatch <= 0 {
		cfg.ClaimBatch = 1000
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = "127.0.0.1:8080"
	}
	if cfg.Slot == "" {
		cfg.Slot = feed.DefaultSlot
	}
	log := cfg.Log
	cfg.Dispatch.Report, cfg.Chat.Report = cfg.Report, cfg.Report
	defer cfg.Report.Flush(2 * time.Second)
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("service: database: %w", err)
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		return fmt.Errorf("service: database: %w", err)
	}

	clk := clock.New()
	if err := clk.Load(ctx, pool); err != nil {
		return err
	}
	st := store.New(pool)
	m := metrics.New(st, cfg.Slot, log)

	senders := map[string]dispatch.Sender{}
	if cfg.Push.VAPIDPrivateKey != "" {
		senders["push"] = &channel.Push{Client: cfg.Push, Store: st, Log: log}
	}
	var tc *twilio.RestClient
	if cfg.Twilio.AccountSID != "" {
		if tc, err = twilioclient.New(cfg.Twilio); err != nil {
			return err
		}
		senders["whatsapp"] = &channel.WhatsApp{Twilio: channel.Twilio{Client: tc, From: cfg.WhatsAppFrom, PublicBaseURL: cfg.PublicBaseURL}, Templates: cfg.WhatsAppTemplates}
		senders["call"] = &channel.Call{Twilio: channel.Twilio{Client: tc, From: cfg.VoiceFrom, PublicBaseURL: cfg.PublicBaseURL}}
		if cfg.WhatsAppTemplates.Reminder == "" {
			log.WarnContext(ctx, "no WhatsApp reminder template: reminders outside the 24-hour window will fail; set TWILIO_CONTENT_SID_REMINDER")
		}
	}
	if cfg.Senders != nil {
		senders = cfg.Senders
	}
	var configured []string
	for ch := range senders {
		configured = append(configured, ch)
	}
	log.InfoContext(ctx, "starting", "channels", configured, "horizon", cfg.Horizon, "feed", !cfg.DisableFeed)

	d := dispatch.New(st, senders, cfg.Dispatch, clk, log, m)
	dl := deadline.New(clk, cfg.Horizon)
	hints := hint.NewSender(pool, hint.Channel, 100*time.Millisecond, log)
	e := &escalation{store: st, deadlines: dl, dispatcher: d, hints: hints, clock: clk, batch: cfg.ClaimBatch, metrics: m, log: log,
		chatHints: hint.NewSender(pool, hint.ChatChannel, 50*time.Millisecond, log)}
	if cfg.Agent != nil {
		if cfg.Chat.Owner == "" {
			cfg.Chat.Owner = cfg.Dispatch.Owner
		}
		e.chat = chat.New(st, cfg.Agent, cfg.Chat, log)
	}
	f := feed.New(feed.Config{DatabaseURL: cfg.DatabaseURL, Slot: cfg.Slot, StatusInterval: cfg.FeedStatus, Log: log}, e)

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return ignoreCanceled(hint.Listen(ctx, cfg.DatabaseURL, clock.Channel, log, func(string) {
			if err := clk.Load(ctx, pool); err != nil && ctx.Err() == nil {
				log.ErrorContext(ctx, "reload the clock", "error", err)
			}
		}))
	})
	g.Go(func() error { return ignoreCanceled(dl.Run(ctx, e.claim)) })
	g.Go(func() error { return ignoreCanceled(e.refillLoop(ctx)) })
	g.Go(func() error { return ignoreCanceled(hints.Run(ctx)) })
	g.Go(func() error { return ignoreCanceled(e.chatHints.Run(ctx)) })
	if e.chat != nil {
		g.Go(func() error { return ignoreCanceled(e.chat.Run(ctx)) })
		// Messages the feed's leader saw on another replica.
		g.Go(func() error {
			return ignoreCanceled(hint.Listen(ctx, cfg.DatabaseURL, hint.ChatChannel, log, func(p string) {
				var xids []uint32
				for _, id := range hint.IDs(p) {
					if x, err := strconv.ParseUint(id, 10, 32); err == nil {
						xids = append(xids, uint32(x))
					}
				}
				e.chat.Expect(xids...)
			}))
		})
	}
	if !cfg.DisableDispatch {
		g.Go(func() error { return ignoreCanceled(d.Run(ctx)) })
		// Outbox rows other replicas claimed or saw in the feed.
		g.Go(func() error {
			return ignoreCanceled(hint.Listen(ctx, cfg.DatabaseURL, hint.Channel, log, func(string) { d.Wake() }))
		})
	}
	if !cfg.DisableFeed {
		g.Go(func() error { return ignoreCanceled(f.Run(ctx)) })
	}
	if !cfg.DisableHTTP {
		if cfg.Twilio.AuthToken == "" {
			log.WarnContext(ctx, "Twilio webhooks off (404): set TWILIO_AUTH_TOKEN to check their signatures")
		}
		wc := webhook.Config{
			AuthToken: cfg.Twilio.AuthToken, PublicBaseURL: cfg.PublicBaseURL, Store: st, Log: log,
			Counter: m,
			Ready: func(ctx context.Context) error {
				if err := pool.Ping(ctx); err != nil {
					return fmt.Errorf("database: %w", err)
				}
				if !cfg.DisableFeed && f.Leader() && !f.Streaming() {
					return errors.New("change feed leader is not streaming")
				}
				if err := f.Err(); !cfg.DisableFeed && err != nil {
					return fmt.Errorf("change feed failing: %w", err)
				}
				return nil
			},
		}
		if ml := cfg.MetricsListener; ml != nil || cfg.MetricsAddr != "" {
			if ml == nil {
				if ml, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
					return fmt.Errorf("service: metrics on %s: %w", cfg.MetricsAddr, err)
				}
			}
			mux := http.NewServeMux()
			mux.Handle("GET /metrics", m.Handler())
			srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
			log.InfoContext(ctx, "metrics listening", "addr", ml.Addr().String())
			g.Go(func() error {
				if err := srv.Serve(ml); !errors.Is(err, http.ErrServerClosed) {
					return fmt.Errorf("service: metrics: %w", err)
				}
				return nil
			})
			g.Go(func() error {
				<-ctx.Done()
				sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				return srv.Shutdown(sctx)
			})
		} else {
			wc.Metrics = m.Handler()
		}
		app := webhook.New(wc)
		if cfg.Auth.Secret != "" || cfg.Auth.JWKSURL != "" {
			if cfg.Auth.Log == nil {
				cfg.Auth.Log = log
			}
			v, err := auth.New(ctx, cfg.Auth)
			if err != nil {
				return err
			}
			uc := userapi.Config{Auth: v, DB: pool, Account: &account.Service{DB: pool, Admin: cfg.AccountAdmin, Log: log},
				VAPIDPublicKey: cfg.Push.VAPIDPublicKey, AllowOrigins: cfg.AllowOrigins, Log: log}
			if tc != nil && cfg.VerifyServiceSID != "" {
				uc.Verify, uc.VerifyServiceSID = tc, cfg.VerifyServiceSID
			}
			userapi.Mount(app, uc)
		} else {
			log.WarnContext(ctx, "user endpoints off: set SUPABASE_JWT_SECRET or SUPABASE_URL to verify user tokens")
		}
		ln := cfg.Listener
		if ln == nil {
			if ln, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
				return fmt.Errorf("service: listen on %s: %w", cfg.HTTPAddr, err)
			}
		}
		log.InfoContext(ctx, "http listening", "addr", ln.Addr().String())
		g.Go(func() error { return app.Listener(ln) })
		g.Go(func() error {
			<-ctx.Done()
			return app.ShutdownWithTimeout(10 * time.Second)
		})
	}
	err = g.Wait()
	log.Info("stopped", "error", err)
	return err
}

// escalation connects the feed, the deadlines, the claim and the dispatcher.
type escalation struct {
	store      *store.Store
	deadlines  *deadline.Scheduler
	dispatcher *dispatch.Dispatcher
	hints      *hint.Sender // tells the other replicas' dispatchers
	clock      *clock.Clock
	batch      int
	metrics    *metrics.Metrics
	log        *slog.Logger
	chat       *chat.Runner // nil when this replica runs no agents
	chatHints  *hint.Sender // tells the other replicas' runners

	mu    sync.Mutex
	xids  []uint32 // transactions the next claim waits to see (awaitXid)
	stuck int      // claims in a row after which a rung stayed due (rearm)
}

// stuckKey is the scheduler entry that brings the claim back for a rung left due (rearm).
const stuckKey = "claim: a rung stayed due"

// CatchUp implements feed.Handler: reload the deadlines, take whatever is already due, and
// look for messages not answered yet.
func (e *escalation) CatchUp(ctx context.Context) error {
	if err := e.refill(ctx); err != nil {
		return err
	}
	e.claim(ctx)
	e.dispatcher.Wake()
	e.wakeChat()
	return nil
}

func (e *escalation) wakeChat() {
	if e.chat != nil {
		e.chat.Wake()
	}
	e.chatHints.Hint()
}

// Handle implements feed.Handler. It reads only the columns the publications carry (the
// publications migration): a column read here must be added there.
func (e *escalation) Handle(_ context.Context, changes []feed.Change) error {
	for _, c := range changes {
		switch c.Table {
		case "tasks":
			due := time.Time{}
			if c.Op != "delete" {
				var err error
				if due, err = c.Time("escalation_due_at"); err != nil {
					return err
				}
			}
			e.deadlines.Set(c.Get("id"), due)
			if !due.IsZero() && !due.After(e.clock.Now()) {
				e.awaitXid(c.Xid) // due at once: the claim must wait until it can see the change
			}
		case "messages":
			// A user message (or a system message carrying an action, such as the sprint
			// rule's) is an agent run, queued in its transaction: the run is durable once the
			// message is, so the LSN can be confirmed as soon as a runner is woken.
			if c.Op == "insert" && (c.Get("role") == "user" || c.Get("role") == "system") {
				if e.chat != nil {
					e.chat.Expect(c.Xid)
				}
				// Other replicas' runners may not see it yet either: the hint names the transaction.
				e.chatHints.Hint(strconv.FormatUint(uint64(c.Xid), 10))
			}
		case "dispatch_log":
			if c.Op == "insert" && c.Get("status") == "pending" {
				e.dispatcher.Wake()
				e.hints.Hint()
			}
		}
	}
	return nil
}

// awaitXid makes the next claim wait until transaction xid is visible.
func (e *escalation) awaitXid(xid uint32) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !slices.Contains(e.xids, xid) {
		e.xids = append(e.xids, xid)
	}
}

// claim takes every due rung, batch after batch, and wakes the dispatcher for what it wrote.
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
		rungs, err := e.store.ClaimEscalations(ctx, e.batch)
		if err != nil {
			// A user transaction settling many tasks can meet a claim in the opposite lock
			// order; the database picks a victim and the claim simply runs again.
			if pgerr.Transient(err) && attempt < 5 {
				attempt++
				continue
			}
			e.log.ErrorContext(ctx, "escalation claim failed; the sweeps will retry", "error", err)
			return
		}
		n := len(rungs)
		e.logRungs(ctx, rungs)
		e.metrics.Claimed(n)
		if n > 0 {
			e.dispatcher.Wake()
			e.hints.Hint()
		}
		if n < e.batch {
			e.rearm(ctx)
			return
		}
	}
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

func ignoreCanceled(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
