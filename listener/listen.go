package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/flux-companion/flux/agentsvc/graph"
	"github.com/flux-companion/flux/listener/account"
	"github.com/flux-companion/flux/listener/auth"
	"github.com/flux-companion/flux/listener/channel"
	"github.com/flux-companion/flux/listener/dispatch"
	"github.com/flux-companion/flux/listener/report"
	"github.com/flux-companion/flux/listener/service"
	"github.com/flux-companion/flux/listener/tracing"
	"github.com/flux-companion/flux/listener/twilioclient"
	"github.com/flux-companion/flux/listener/webpushclient"
)

var contentSID = regexp.MustCompile(`^HX[0-9a-fA-F]{32}$`)

func cmdListen(ctx context.Context, args []string, stderr io.Writer, log *slog.Logger) int {
	fs := flag.NewFlagSet("listen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	roles := fs.String("roles", envOr("FLUX_ROLES", "feed,dispatch,http,agents"), "what this replica does: any of feed, dispatch, http, agents")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log, stopTracing, err := startTracing(ctx, os.Getenv, log)
	if err != nil {
		fmt.Fprintf(stderr, "flux listen: %v\n", err)
		return 2
	}
	defer stopTracing()
	cfg, err := listenConfig(os.Getenv, *roles, log)
	if err != nil {
		fmt.Fprintf(stderr, "flux listen: %v\n", err)
		return 2
	}
	log = cfg.Log
	if g, ok := cfg.Agent.(*graph.Graph); ok && g.LLM == nil {
		log.InfoContext(ctx, "no OPENROUTER_API_KEY: chat answers in offline mode")
	}
	if err := service.Run(ctx, cfg); err != nil && !errors.Is(err, context.Canceled) {
		log.ErrorContext(ctx, "listen failed", "error", err)
		cfg.Report.Flush(2 * time.Second)
		return 1
	}
	return 0
}

// startTracing exports traces when the standard OTEL_ variables ask for it (listener/tracing;
// nothing happens without them), under the release Sentry events carry. It returns log with
// the trace and span ids of its context on every line logged with one, and what flushes the
// spans still queued, at exit.
func startTracing(ctx context.Context, getenv func(string) string, log *slog.Logger) (*slog.Logger, func(), error) {
	shutdown, err := tracing.Setup(ctx, report.Release(getenv("SENTRY_RELEASE")), log)
	if err != nil {
		return log, func() {}, err
	}
	return slog.New(tracing.LogHandler(log.Handler())), func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := shutdown(sctx); err != nil {
			log.WarnContext(sctx, "traces not flushed", "error", err)
		}
	}, nil
}

// listenConfig reads the service's configuration from the environment (see .env.example) for a
// replica doing roles (comma separated: any of feed, dispatch, http, agents). The service logs to
// log, and reports every error it logs to Sentry when SENTRY_DSN is set: that logger is cfg.Log,
// and the agent's.
func listenConfig(getenv func(string) string, roles string, log *slog.Logger) (service.Config, error) {
	cfg := service.Config{
		DatabaseURL:   getenv("DATABASE_URL"),
		HTTPAddr:      getenv("FLUX_HTTP_ADDR"),
		MetricsAddr:   getenv("FLUX_METRICS_ADDR"),
		AllowOrigins:  getenv("FLUX_CORS_ORIGINS"),
		PublicBaseURL: getenv("FLUX_PUBLIC_BASE_URL"),
		Slot:          getenv("FLUX_SLOT"),
		Twilio: twilioclient.Config{
			AccountSID:    getenv("TWILIO_ACCOUNT_SID"),
			AuthToken:     getenv("TWILIO_AUTH_TOKEN"),
			APIBaseURL:    getenv("TWILIO_API_BASE_URL"),
			VerifyBaseURL: getenv("TWILIO_VERIFY_BASE_URL"),
		},
		WhatsAppFrom: getenv("TWILIO_WHATSAPP_FROM"),
		WhatsAppTemplates: channel.Templates{
			Reminder:             getenv("TWILIO_CONTENT_SID_REMINDER"),
			ReminderNoReschedule: getenv("TWILIO_CONTENT_SID_REMINDER_NO_RESCHEDULE"),
		},
		VoiceFrom: getenv("TWILIO_VOICE_FROM"),
		Push: webpushclient.Config{
			VAPIDPublicKey:  getenv("VAPID_PUBLIC_KEY"),
			VAPIDPrivateKey: getenv("VAPID_PRIVATE_KEY"),
			Subscriber:      getenv("VAPID_SUBSCRIBER"),
		},
		Dispatch:         dispatch.Config{Owner: getenv("FLUX_OWNER")},
		VerifyServiceSID: getenv("TWILIO_VERIFY_SERVICE_SID"),
		Auth: auth.Config{
			Secret:   getenv("SUPABASE_JWT_SECRET"),
			Issuer:   getenv("SUPABASE_JWT_ISSUER"),
			Audience: getenv("SUPABASE_JWT_AUDIENCE"),
		},
	}
	if base := getenv("SUPABASE_URL"); base != "" {
		cfg.Auth.JWKSURL = auth.JWKSURL(base)
		if key := getenv("SUPABASE_SERVICE_ROLE_KEY"); key != "" {
			admin, err := account.NewGoTrueAdmin(base, key, nil)
			if err != nil {
				return cfg, fmt.Errorf("SUPABASE_URL/SUPABASE_SERVICE_ROLE_KEY: %w", err)
			}
			cfg.AccountAdmin = admin
		}
	}
	if cfg.DatabaseURL == "" {
		return cfg, errors.New("DATABASE_URL is not set")
	}
	if cfg.Dispatch.Owner == "" {
		host, _ := os.Hostname()
		cfg.Dispatch.Owner = fmt.Sprintf("%s/%d", host, os.Getpid())
	}
	var err error
	if cfg.Dispatch.Workers, err = intEnv(getenv, "FLUX_DISPATCH_WORKERS"); err != nil {
		return cfg, err
	}
	if cfg.Dispatch.Lease, err = durationEnv(getenv, "FLUX_DISPATCH_LEASE"); err != nil {
		return cfg, err
	}
	if cfg.Horizon, err = durationEnv(getenv, "FLUX_DEADLINE_HORIZON"); err != nil {
		return cfg, err
	}
	if cfg.Chat.Workers, err = intEnv(getenv, "FLUX_AGENT_WORKERS"); err != nil {
		return cfg, err
	}
	if cfg.Chat.Lease, err = durationEnv(getenv, "FLUX_AGENT_LEASE"); err != nil {
		return cfg, err
	}
	if cfg.Chat.Sweep, err = durationEnv(getenv, "FLUX_AGENT_SWEEP"); err != nil {
		return cfg, err
	}

	cfg.DisableFeed, cfg.DisableDispatch, cfg.DisableHTTP = true, true, true
	var names []string
	agents := false
	for _, r := range strings.Split(roles, ",") {
		r = strings.TrimSpace(r)
		switch r {
		case "feed":
			cfg.DisableFeed = false
		case "dispatch":
			cfg.DisableDispatch = false
		case "http":
			cfg.DisableHTTP = false
		case "agents":
			agents = true
		default:
			return cfg, fmt.Errorf("unknown role %q (roles: feed, dispatch, http, agents)", r)
		}
		names = append(names, r)
	}

	if (cfg.Twilio.AccountSID == "") != (cfg.Twilio.AuthToken == "") {
		return cfg, errors.New("set both TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or neither")
	}
	if cfg.Twilio.AccountSID != "" {
		if cfg.WhatsAppFrom == "" || cfg.VoiceFrom == "" {
			return cfg, errors.New("Twilio is configured: set TWILIO_WHATSAPP_FROM and TWILIO_VOICE_FROM")
		}
		if u, err := url.Parse(cfg.PublicBaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return cfg, errors.New("Twilio is configured: FLUX_PUBLIC_BASE_URL must be the URL Twilio reaches this service at (https://...)")
		}
		for name, sid := range map[string]string{
			"TWILIO_CONTENT_SID_REMINDER":               cfg.WhatsAppTemplates.Reminder,
			"TWILIO_CONTENT_SID_REMINDER_NO_RESCHEDULE": cfg.WhatsAppTemplates.ReminderNoReschedule,
		} {
			if sid != "" && !contentSID.MatchString(sid) {
				return cfg, fmt.Errorf("%s must be a Content SID (HX and 32 hex digits), got %q", name, sid)
			}
		}
	}
	if (cfg.Push.VAPIDPublicKey == "") != (cfg.Push.VAPIDPrivateKey == "") {
		return cfg, errors.New("set both VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY, or neither")
	}
	if cfg.Push.VAPIDPrivateKey != "" && cfg.Push.Subscriber == "" {
		return cfg, errors.New("push is configured: set VAPID_SUBSCRIBER (mailto:you@example.com or an https URL)")
	}
	if ca := getenv("FLUX_PUSH_CA_FILE"); ca != "" {
		if cfg.Push.HTTPClient, err = webpushclient.CAPool(ca); err != nil {
			return cfg, fmt.Errorf("FLUX_PUSH_CA_FILE: %w", err)
		}
	}

	cfg.Report, err = report.New(report.Config{
		DSN: getenv("SENTRY_DSN"), Environment: getenv("SENTRY_ENVIRONMENT"), Release: getenv("SENTRY_RELEASE"),
		Roles: names,
	}, log)
	if err != nil {
		return cfg, err
	}
	cfg.Log = slog.New(report.NewHandler(log.Handler(), cfg.Report)) // every logged error is reported
	if agents {
		cfg.Agent = newAgent(getenv, cfg.Log)
	}
	return cfg, nil
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

func intEnv(getenv func(string) string, key string) (int, error) {
	v := getenv(key)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q: want a non-negative integer", key, v)
	}
	return n, nil
}

func durationEnv(getenv func(string) string, key string) (time.Duration, error) {
	v := getenv(key)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s=%q: want a duration such as 30s or 15m", key, v)
	}
	return d, nil
}
