package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/twilio/twilio-go"
	"golang.org/x/sync/errgroup"

	"github.com/flux-companion/flux/listener/account"
	"github.com/flux-companion/flux/listener/auth"
	"github.com/flux-companion/flux/listener/metrics"
	"github.com/flux-companion/flux/listener/userapi"
	"github.com/flux-companion/flux/listener/webhook"
	"github.com/flux-companion/flux/sql/store"
)

// server is the HTTP side: the webhooks, the probes and the user endpoints on one listener, and
// /metrics next to them or on a listener of its own.
type server struct {
	app       *fiber.App
	ln        net.Listener
	metrics   *http.Server // nil: the app serves /metrics
	metricsLn net.Listener
}

// newServer builds the HTTP side and opens its listeners.
func (s *Service) newServer(ctx context.Context, st *store.Store, m *metrics.Metrics, tc *twilio.RestClient) (*server, error) {
	cfg, log := s.cfg, s.log
	if cfg.Twilio.AuthToken == "" {
		log.WarnContext(ctx, "Twilio webhooks off (404): set TWILIO_AUTH_TOKEN to check their signatures")
	}
	srv := &server{metricsLn: cfg.MetricsListener}
	wc := webhook.Config{AuthToken: cfg.Twilio.AuthToken, PublicBaseURL: cfg.PublicBaseURL, Store: st, Log: log, Counter: m, Ready: s.ready}
	if srv.metricsLn != nil || cfg.MetricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.Handler())
		srv.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	} else {
		wc.Metrics = m.Handler()
	}
	srv.app = webhook.New(wc)
	if cfg.Auth.Secret != "" || cfg.Auth.JWKSURL != "" {
		if cfg.Auth.Log == nil {
			cfg.Auth.Log = log
		}
		v, err := auth.New(ctx, cfg.Auth)
		if err != nil {
			return nil, err
		}
		uc := userapi.Config{Auth: v, DB: s.pool, Account: &account.Service{DB: s.pool, Admin: cfg.AccountAdmin, Log: log},
			VAPIDPublicKey: cfg.Push.VAPIDPublicKey, AllowOrigins: cfg.AllowOrigins, Log: log}
		if tc != nil && cfg.VerifyServiceSID != "" {
			uc.Verify, uc.VerifyServiceSID = tc, cfg.VerifyServiceSID
		}
		userapi.Mount(srv.app, uc)
	} else {
		log.WarnContext(ctx, "user endpoints off: set SUPABASE_JWT_SECRET or SUPABASE_URL to verify user tokens")
	}

	var err error
	if srv.metrics != nil && srv.metricsLn == nil {
		if srv.metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return nil, fmt.Errorf("service: metrics on %s: %w", cfg.MetricsAddr, err)
		}
	}
	if srv.ln = cfg.Listener; srv.ln == nil {
		if srv.ln, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			if cfg.MetricsListener == nil && srv.metricsLn != nil {
				srv.metricsLn.Close() // opened above
			}
			return nil, fmt.Errorf("service: listen on %s: %w", cfg.HTTPAddr, err)
		}
	}
	return srv, nil
}

// run serves in g until ctx ends, then shuts the servers down, each within 10 seconds.
func (srv *server) run(ctx context.Context, g *errgroup.Group, log *slog.Logger) {
	if srv.metrics != nil {
		log.InfoContext(ctx, "metrics listening", "addr", srv.metricsLn.Addr().String())
		g.Go(func() error {
			if err := srv.metrics.Serve(srv.metricsLn); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("service: metrics: %w", err)
			}
			return nil
		})
		g.Go(func() error {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return srv.metrics.Shutdown(sctx)
		})
	}
	log.InfoContext(ctx, "http listening", "addr", srv.ln.Addr().String())
	g.Go(func() error { return srv.app.Listener(srv.ln) })
	g.Go(func() error {
		<-ctx.Done()
		return srv.app.ShutdownWithTimeout(10 * time.Second)
	})
}
