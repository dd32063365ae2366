// Package service is `flux listen`: New assembles it from a Config (the database pool and store,
// the clock, the change feed and the router that hands its changes on, the in-memory deadlines
// and the escalation claim, the outbox dispatcher with its channel senders, the chat runner, the
// HTTP side: webhooks, probes, user endpoints, metrics), and Run runs each part as a goroutine of
// one errgroup until ctx ends or a part fails for good.
//
// How work reaches the service, fastest first:
//   - the change feed (leader only): its router puts a task's new rung into the deadlines, and
//     wakes the dispatcher for a new outbox row (the chat runner for a new message) and, through
//     a debounced NOTIFY hint, every replica's;
//   - the deadlines fire the claim at each rung's second; the claim's outbox rows wake the
//     dispatcher directly, and the other replicas' through the hint;
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
	"maps"
	"net"
	"slices"
	"strconv"
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
	"github.com/flux-companion/flux/listener/webpushclient"
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

// Service is `flux listen` assembled by New and run by Run.
type Service struct {
	cfg        Config // with its defaults
	log        *slog.Logger
	pool       *pgxpool.Pool
	clock      *clock.Clock
	escalation *escalation
	outbox     outbox
	agents     agents
	feed       *feed.Feed
	http       *server // nil with DisableHTTP
}

// Run is New followed by the service's Run.
func Run(ctx context.Context, cfg Config) error {
	s, err := New(ctx, cfg)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// New assembles the service: it connects to the database, loads the clock, builds every part
// and opens the HTTP listeners, but starts nothing. ctx bounds the connecting and the refresh of
// the user endpoints' signing keys (auth.New). The Service is run once; Run releases what New
// took.
func New(ctx context.Context, cfg Config) (_ *Service, err error) {
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
	if cfg.Chat.Owner == "" {
		cfg.Chat.Owner = cfg.Dispatch.Owner
	}
	cfg.Dispatch.Report, cfg.Chat.Report = cfg.Report, cfg.Report
	log := cfg.Log

	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("service: database: %w", err)
	}
	defer func() {
		if err != nil {
			pool.Close()
		}
	}()
	if err := pool.Ping(ctx); err != nil {
		return nil, fmt.Errorf("service: database: %w", err)
	}
	clk := clock.New()
	if err := clk.Load(ctx, pool); err != nil {
		return nil, err
	}
	st := store.New(pool)
	m := metrics.New(st, cfg.Slot, log)

	senders, tc, err := newSenders(ctx, cfg, st)
	if err != nil {
		return nil, err
	}
	log.InfoContext(ctx, "starting", "channels", slices.Sorted(maps.Keys(senders)), "horizon", cfg.Horizon, "feed", !cfg.DisableFeed)

	s := &Service{cfg: cfg, log: log, pool: pool, clock: clk}
	s.outbox = outbox{
		dispatcher: dispatch.New(st, senders, cfg.Dispatch, clk, log, m),
		hints:      hint.NewSender(pool, hint.Channel, 100*time.Millisecond, log),
	}
	s.agents = agents{hints: hint.NewSender(pool, hint.ChatChannel, 50*time.Millisecond, log)}
	if cfg.Agent != nil {
		s.agents.runner = chat.New(st, cfg.Agent, cfg.Chat, log)
	}
	s.escalation = &escalation{store: st, deadlines: deadline.New(clk, cfg.Horizon), clock: clk, batch: cfg.ClaimBatch, outbox: s.outbox, metrics: m, log: log}
	router := &feedRouter{escalation: s.escalation, outbox: s.outbox, agents: s.agents}
	s.feed = feed.New(feed.Config{DatabaseURL: cfg.DatabaseURL, Slot: cfg.Slot, StatusInterval: cfg.FeedStatus, Log: log}, router)
	if !cfg.DisableHTTP {
		if s.http, err = s.newServer(ctx, st, m, tc); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// newSenders builds a sender for each channel the configuration enables, and the Twilio client
// (nil without a Twilio account) the user endpoints verify phones with.
func newSenders(ctx context.Context, cfg Config, st *store.Store) (map[string]dispatch.Sender, *twilio.RestClient, error) {
	senders := map[string]dispatch.Sender{}
	if cfg.Push.VAPIDPrivateKey != "" {
		senders["push"] = &channel.Push{Client: cfg.Push, Store: st, Log: cfg.Log}
	}
	var tc *twilio.RestClient
	if cfg.Twilio.AccountSID != "" {
		var err error
		if tc, err = twilioclient.New(cfg.Twilio); err != nil {
			return nil, nil, err
		}
		senders["whatsapp"] = &channel.WhatsApp{Twilio: channel.Twilio{Client: tc, From: cfg.WhatsAppFrom, PublicBaseURL: cfg.PublicBaseURL}, Templates: cfg.WhatsAppTemplates}
		senders["call"] = &channel.Call{Twilio: channel.Twilio{Client: tc, From: cfg.VoiceFrom, PublicBaseURL: cfg.PublicBaseURL}}
		if cfg.WhatsAppTemplates.Reminder == "" {
			cfg.Log.WarnContext(ctx, "no WhatsApp reminder template: reminders outside the 24-hour window will fail; set TWILIO_CONTENT_SID_REMINDER")
		}
	}
	if cfg.Senders != nil {
		senders = cfg.Senders
	}
	return senders, tc, nil
}

// Run serves until ctx ends or a part fails for good, then closes the database pool.
func (s *Service) Run(ctx context.Context) error {
	defer s.cfg.Report.Flush(2 * time.Second)
	defer s.pool.Close()
	g, ctx := errgroup.WithContext(ctx)
	run := func(name string, part func(context.Context) error) {
		g.Go(func() error { return ignoreCanceled(s.keep(ctx, name, part)) })
	}
	run("clock", s.followClock)
	run("escalation claim", s.escalation.claimLoop)
	run("escalation refill", s.escalation.refillLoop)
	run("outbox hints", s.outbox.hints.Run)
	run("chat hints", s.agents.hints.Run)
	if s.agents.runner != nil {
		run("chat runner", s.agents.runner.Run)
		run("chat hint listener", s.followChatHints)
	}
	if !s.cfg.DisableDispatch {
		run("dispatcher", s.outbox.dispatcher.Run)
		run("outbox hint listener", s.followOutboxHints)
	}
	if !s.cfg.DisableFeed {
		run("change feed", s.feed.Run)
	}
	if s.http != nil {
		s.http.run(ctx, g, s.log)
	}
	err := g.Wait()
	s.log.Info("stopped", "error", err)
	return err
}

// keep runs one part of the service. A panic in it is logged and reported (report.Protect), and
// the part starts again after a backoff: every part reloads its state from the database, and
// one broken loop must not stop the others. An error ends the part as before.
func (s *Service) keep(ctx context.Context, name string, part func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		began := time.Now()
		err := s.cfg.Report.Protect(ctx, s.log, name, func() error { return part(ctx) })
		if time.Since(began) > time.Minute {
			attempt = 1 // a part that ran for a while before it broke starts again soon
		}
		if !errors.Is(err, report.ErrPanic) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff.Delay(100*time.Millisecond, time.Minute, attempt)):
		}
	}
}

// followClock reloads the clock on every warp (flux_clock), so a warp reaches the timers at once.
func (s *Service) followClock(ctx context.Context) error {
	return hint.Listen(ctx, s.cfg.DatabaseURL, clock.Channel, s.log, func(string) {
		if err := s.clock.Load(ctx, s.pool); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "reload the clock", "error", err)
		}
	})
}

// followOutboxHints wakes this replica's dispatcher for outbox rows other replicas claimed or
// saw in the feed.
func (s *Service) followOutboxHints(ctx context.Context) error {
	return hint.Listen(ctx, s.cfg.DatabaseURL, hint.Channel, s.log, func(string) { s.outbox.dispatcher.Wake() })
}

// followChatHints wakes this replica's chat runner for messages the feed's leader saw on another
// replica.
func (s *Service) followChatHints(ctx context.Context) error {
	return hint.Listen(ctx, s.cfg.DatabaseURL, hint.ChatChannel, s.log, func(payload string) {
		var xids []uint32
		for _, id := range hint.IDs(payload) {
			if x, err := strconv.ParseUint(id, 10, 32); err == nil {
				xids = append(xids, uint32(x))
			}
		}
		s.agents.runner.Expect(xids...)
	})
}

// ready is the readiness probe (/readyz): nil when the service can work.
func (s *Service) ready(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if !s.cfg.DisableFeed && s.feed.Leader() && !s.feed.Streaming() {
		return errors.New("change feed leader is not streaming")
	}
	if err := s.feed.Err(); !s.cfg.DisableFeed && err != nil {
		return fmt.Errorf("change feed failing: %w", err)
	}
	return nil
}

func ignoreCanceled(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
