package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/flux-companion/flux/internal/loopback"
	"github.com/flux-companion/flux/listener/auth"
	"github.com/flux-companion/flux/listener/channel"
	"github.com/flux-companion/flux/listener/dispatch"
	"github.com/flux-companion/flux/listener/pushfake"
	"github.com/flux-companion/flux/listener/service"
	"github.com/flux-companion/flux/listener/twilioclient"
	"github.com/flux-companion/flux/listener/twiliofake"
	"github.com/flux-companion/flux/listener/webpushclient"
	"github.com/flux-companion/flux/sql/bootstrap"
	"github.com/flux-companion/flux/sql/localpg"
	"github.com/flux-companion/flux/sql/migrate"
	"github.com/flux-companion/flux/supabase"
)

// The local stack's user tokens are signed with this secret (a real project verifies its own
// Supabase JWT secret or JWKS), and phone codes go through the fake Verify service.
const (
	devJWTSecret     = "flux-dev-jwt-secret-for-local-use-only"
	devVerifyService = "VA0000000000000000000000000000dev0"
	devAlex          = "11111111-1111-4111-8111-111111111111"
)

// devBanner is what `flux dev` prints once the stack is up: where everything is and what to try.
const devBanner = `
Flux local stack is ready.

  database   %s
  psql       psql '%s'
  listener   %s  (webhooks /webhooks/twilio/*, user API /v1/*, /healthz, /readyz, /metrics)
  twilio     %s  (fake Twilio API and Verify)
  push       %s  (fake Web Push service; the demo users' browsers are subscribed to it)
  agents     %s
  demo users alex@demo.flux.local and sam@demo.flux.local (password flux-demo)
  jwt secret %s  (local tokens only)

What the fakes receive (WhatsApp text, calls, Verify codes, push messages) is printed below
as it happens, one line each; the listener's JSON log (every rung sent, skipped and why,
auto-missed) goes to stderr.

Things to try (ALEX is a 24-hour access token for Alex, as supabase-js would send it):
  export ALEX='%s'
  export DATABASE_URL='%s'

  # The whole product in seconds, on a simulated clock:
  bin/flux demo

  # Chat as Alex (messages are rows; replies come back as rows), or as a new user who
  # meets onboarding first:
  bin/flux chat
  bin/flux chat --new-user

  # The API as supabase-js uses it, straight in SQL (PostgREST runs exactly this):
  psql "$DATABASE_URL" -c "begin; select set_config('role','authenticated',true), set_config('request.jwt.claims','{\"sub\":\"11111111-1111-4111-8111-111111111111\",\"role\":\"authenticated\"}',true); select title, scheduled_at from today_tasks(); select analytics_overview(); rollback;"

  # Step Alex's next reminder up its ladder (push, WhatsApp, call, auto-miss), one rung per
  # run, by moving the clock to the next rung that is due (development only):
  psql "$DATABASE_URL" -c "select flux.set_time_warp(greatest(min(escalation_due_at), flux.now()) - now()) from tasks where user_id = '11111111-1111-4111-8111-111111111111' and status = 'pending'"

  # The listener's user endpoints (the verification code appears above):
  curl -s %s/v1/push/vapid-public-key
  curl -s -X POST -H "Authorization: Bearer $ALEX" -d '{"phone_number":"+447700900124"}' %s/v1/phone/verification
  #   then: curl -s -X POST -H "Authorization: Bearer $ALEX" -d '{"code":"<the code>"}' %s/v1/phone/verification/check
  curl -s -H "Authorization: Bearer $ALEX" -o alex-export.zip %s/v1/account/export

  # Is it healthy?
  curl -s %s/readyz

Press Ctrl-C to stop.
`

// devDatabase is the database the local stack uses: "postgres", as on Supabase, which is also
// where pg_cron runs its jobs (cron.database_name).
const devDatabase = "postgres"

func cmdDev(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", defaultDevDir(), "directory of the local cluster (kept between runs)")
	port := fs.Int("port", 54329, "database port on 127.0.0.1 (0 picks a free one)")
	httpAddr := fs.String("http-addr", "127.0.0.1:8080", "the listener's HTTP address")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log, stopTracing, err := startTracing(ctx, os.Getenv, log)
	if err != nil {
		fmt.Fprintf(stderr, "flux dev: %v\n", err)
		return 2
	}
	defer stopTracing()

	url := os.Getenv("DATABASE_URL")
	if url != "" {
		if err := requireLoopback(url); err != nil {
			fmt.Fprintf(stderr, "flux dev: %v\n", err)
			return 2
		}
	} else {
		log.InfoContext(ctx, "starting local PostgreSQL", "data_dir", *dataDir, "port", *port)
		cluster, err := localpg.Start(ctx, localpg.Options{
			DataDir:      filepath.Join(*dataDir, "data"),
			Port:         *port,
			Durable:      true,
			CronDatabase: devDatabase,
		})
		if err != nil {
			log.ErrorContext(ctx, "local PostgreSQL did not start", "error", err)
			return 1
		}
		defer func() {
			if err := cluster.Stop(); err != nil {
				log.ErrorContext(ctx, "stop local PostgreSQL", "error", err)
			}
			log.InfoContext(ctx, "local PostgreSQL stopped")
		}()
		url = cluster.ConnString(devDatabase)
	}

	// The local bootstrap only where Supabase is not already there (DATABASE_URL may point at
	// the Supabase CLI's stack).
	local, err := needsBootstrap(ctx, url)
	if err != nil {
		log.ErrorContext(ctx, "inspect database", "error", err)
		return 1
	}
	if _, err := migrate.Up(ctx, url, migrate.Options{Local: local, Logger: log}); err != nil {
		log.ErrorContext(ctx, "migrate failed", "error", err)
		return 1
	}
	if err := migrate.Seed(ctx, url, supabase.Seed); err != nil {
		log.ErrorContext(ctx, "seed failed", "error", err)
		return 1
	}

	fakes, err := startFakes(ctx, url)
	if err != nil {
		log.ErrorContext(ctx, "start the provider fakes", "error", err)
		return 1
	}
	defer fakes.close()
	cfg, err := fakes.service(url, *httpAddr, "flux-dev")
	if err != nil {
		log.ErrorContext(ctx, "listen", "addr", *httpAddr, "error", err)
		return 1
	}
	base := cfg.PublicBaseURL
	agent := newAgent(os.Getenv, log)
	cfg.Agent, cfg.Log = agent, log
	mode := "offline mode: no OPENROUTER_API_KEY"
	if agent.LLM != nil {
		mode = "through OpenRouter"
	}

	token, err := auth.SignHS256(devJWTSecret, auth.UserClaims(uuid.MustParse(devAlex), "alex@demo.flux.local", 24*time.Hour, time.Now()))
	if err != nil {
		log.ErrorContext(ctx, "sign a dev token", "error", err)
		return 1
	}
	svc, err := service.New(ctx, cfg)
	if err == nil {
		tr := &traffic{w: stdout}
		fakes.twilio.Observe(tr.twilio)
		fakes.push.Observe(tr.push)
		fmt.Fprintf(stdout, devBanner, url, url, base, fakes.twilio.URL(), fakes.push.URL(), mode, devJWTSecret, token,
			url, base, base, base, base, base)
		err = svc.Run(ctx)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		log.ErrorContext(ctx, "listener failed", "error", err)
		return 1
	}
	return 0
}

// requireLoopback refuses a DATABASE_URL that is not on this machine: flux dev loads demo users,
// which have no place in a real project.
func requireLoopback(url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	if strings.HasPrefix(cfg.Host, "/") || loopback.IsLoopback(cfg.Host) {
		return nil // a Unix socket or this machine
	}
	return fmt.Errorf("DATABASE_URL points at %s, not this machine; flux dev loads demo data and only runs against a local database (use flux migrate for a real project)", cfg.Host)
}

func needsBootstrap(ctx context.Context, url string) (bool, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	supa, err := bootstrap.IsSupabase(ctx, conn)
	return !supa, err
}

// defaultDevDir is under /var/tmp: persistent across reboots on Debian, and reachable by the
// postgres OS user the server runs as when flux runs as root (a home directory often is not).
func defaultDevDir() string {
	name := "user"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return "/var/tmp/flux-dev-" + name
}

// devTwilioToken signs the fake Twilio's webhooks in development.
const devTwilioToken = "devtoken0123456789abcdef01234567"

type devFakes struct {
	twilio     *twiliofake.Server
	push       *pushfake.Server
	pushConfig webpushclient.Config
}

func (f *devFakes) close() {
	f.twilio.Close()
	f.push.Close()
}

// startFakes starts the fake Twilio and push service and subscribes the demo users' browsers
// (the seed's endpoints are placeholders) to the fake push service.
func startFakes(ctx context.Context, url string) (_ *devFakes, err error) {
	pub, priv, err := webpushclient.GenerateVAPIDKeys()
	if err != nil {
		return nil, err
	}
	tw, err := twiliofake.Start(devTwilioToken)
	if err != nil {
		return nil, err
	}
	push, err := pushfake.Start(pub)
	if err != nil {
		tw.Close()
		return nil, err
	}
	f := &devFakes{twilio: tw, push: push, pushConfig: webpushclient.Config{
		VAPIDPublicKey: pub, VAPIDPrivateKey: priv, Subscriber: "mailto:dev@flux.local", HTTPClient: push.Client(),
	}}
	defer func() {
		if err != nil {
			f.close()
		}
	}()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `select id from public.push_subscriptions order by id`)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		sub := push.NewSubscription()
		if _, err := conn.Exec(ctx, `update public.push_subscriptions set endpoint = $2, p256dh = $3, auth = $4 where id = $1`,
			id, sub.Endpoint, sub.P256dh, sub.Auth); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// service is the listener on addr with the fakes for its providers, accepting the local tokens;
// owner names it in the outbox.
func (f *devFakes) service(url, addr, owner string) (service.Config, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return service.Config{}, err
	}
	return service.Config{
		DatabaseURL:   url,
		Listener:      ln,
		PublicBaseURL: "http://" + ln.Addr().String(),
		Twilio: twilioclient.Config{
			AccountSID: twiliofake.AccountSID, AuthToken: devTwilioToken,
			APIBaseURL: f.twilio.URL(), VerifyBaseURL: f.twilio.URL(),
		},
		WhatsAppFrom: "+14155238886", VoiceFrom: "+15005550006",
		WhatsAppTemplates: channel.Templates{Reminder: f.twilio.AddReminderTemplate()},
		Push:              f.pushConfig,
		Dispatch:          dispatch.Config{Owner: owner},
		Auth:              auth.Config{Secret: devJWTSecret},
		VerifyServiceSID:  devVerifyService,
	}, nil
}
