package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flux-companion/flux/internal/testwait"
	"github.com/flux-companion/flux/listener/logtest"
	"github.com/flux-companion/flux/sql/pgtest"
)

func TestMain(m *testing.M) {
	// The crash tests run this binary as `flux listen` in a child process they can SIGKILL.
	// The tour test runs the commands flux dev prints, with this binary standing in for bin/flux.
	if os.Getenv("FLUX_TEST_AS_FLUX") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
	}
	pgtest.Main(m)
}

func TestMigrateLocalWithSeedTwice(t *testing.T) {
	t.Parallel()
	url := pgtest.EmptyDB(t)
	for i := 0; i < 2; i++ {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"migrate", "--local", "--seed", "--database-url", url}, &stdout, &stderr); code != 0 {
			t.Fatalf("run %d: exit %d\n%s", i+1, code, stderr.String())
		}
		if !strings.HasPrefix(stdout.String(), "migrated to version ") {
			t.Fatalf("stdout = %q", stdout.String())
		}
		// JSON logs carry the invocation's correlation id.
		if !strings.Contains(stderr.String(), `"run_id":"`) || !strings.Contains(stderr.String(), `"msg":"seed loaded"`) {
			t.Fatalf("logs lack run_id or the seed line:\n%s", stderr.String())
		}
	}
	if users := count(t, pgtest.PoolOn(t, url), `select count(*) from public.users where email like '%@demo.flux.local'`); users != 2 {
		t.Fatalf("demo users = %d, want 2", users)
	}
}

func TestMigrateErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	supa := pgtest.EmptyDB(t)
	if _, err := pgtest.PoolOn(t, supa).Exec(ctx, `create schema auth; create table auth.schema_migrations (version text)`); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no database", []string{"migrate", "--database-url", ""}, 2, "no database"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"no command", nil, 2, "Usage:"},
		{"bad flag", []string{"migrate", "--nope"}, 2, "flag provided but not defined"},
		{"local on Supabase", []string{"migrate", "--local", "--database-url", supa}, 1, "is a Supabase project"},
		{"unreachable", []string{"migrate", "--database-url", "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"}, 1, "connect to 127.0.0.1:1/none"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(ctx, tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", tc.name, code, stderr.String(), tc.code, tc.stderr)
		}
	}
}

// TestDev runs `flux dev` as `make dev` does: it must start a cluster, migrate and seed it, say
// how to connect, and stop the cluster when interrupted.
func TestDev(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	dir, err := os.MkdirTemp("", "flux-devtest-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o755) // the server may run as the postgres OS user
	t.Cleanup(func() { _ = os.RemoveAll(dir) })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var printed, stderr logtest.Buffer // printed: everything flux dev printed, the fakes' traffic included
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"dev", "--data-dir", dir, "--port", "0", "--http-addr", "127.0.0.1:0"}, &printed, &stderr)
	}()

	var url, listener, alex string
	printedField := func(re string) string {
		if m := regexp.MustCompile(re).FindStringSubmatch(printed.String()); m != nil {
			return m[1]
		}
		return ""
	}
	if !testwait.Until(2*time.Minute, func() bool {
		select {
		case code := <-done:
			t.Fatalf("flux dev ended before it was ready (exit %d):\n%s", code, stderr.String())
		default:
		}
		url, listener = printedField(`(?m)^ +database +(\S+)`), printedField(`(?m)^ +listener +(\S+)`)
		alex = printedField(`(?m)^ +export ALEX='(.*)'$`)
		return url != "" && listener != "" && alex != ""
	}) {
		t.Fatalf("flux dev not ready after 2 minutes:\n%s", stderr.String())
	}

	pool := pgtest.PoolOn(t, url)
	if users := count(t, pool, `select count(*) from public.users where email like '%@demo.flux.local'`); users != 2 {
		t.Fatalf("demo users = %d, want 2", users)
	}
	// The dev database is the one pg_cron runs in, so later migrations' jobs run locally.
	if count(t, pool, `select count(*) from pg_settings where name = 'cron.database_name' and setting = current_database()`) != 1 {
		t.Fatal("dev database is not pg_cron's database")
	}

	// The listener runs with the stack and becomes ready (database reachable, feed streaming).
	if !testwait.Until(time.Minute, func() bool {
		resp, err := http.Get(listener + "/readyz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	}) {
		t.Fatalf("listener %s not ready after a minute:\n%s", listener, stderr.String())
	}
	tour(t, printed.String, url, alex)

	// The token it prints opens the user endpoints, as the next steps say.
	req, _ := http.NewRequest("GET", listener+"/v1/account/export", nil)
	req.Header.Set("Authorization", "Bearer "+alex)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("export with the printed token: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("flux dev exit %d after interrupt:\n%s", code, stderr.String())
	}
	if c, err := pgx.Connect(context.Background(), url); err == nil {
		c.Close(context.Background())
		t.Fatal("the local cluster still runs after flux dev stopped")
	}
}

func TestDevRefusesARemoteDatabase(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://postgres@db.abcdefghij.supabase.co:5432/postgres")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"dev"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "only runs against a local database") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}

// count is the number query returns (a count(*)); an error fails the test.
func count(t *testing.T, pool *pgxpool.Pool, query string, args ...any) (n int) {
	t.Helper()
	if err := pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestListenConfig(t *testing.T) {
	t.Parallel()
	base := map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/db"}
	env := func(extra map[string]string) func(string) string {
		return func(k string) string {
			if v, ok := extra[k]; ok {
				return v
			}
			return base[k]
		}
	}
	for _, tc := range []struct {
		name  string
		env   map[string]string
		roles string
		want  string // error substring; "" = valid
	}{
		{"minimal", nil, "feed,dispatch,http,agents", ""},
		{"no database", map[string]string{"DATABASE_URL": ""}, "http", "DATABASE_URL is not set"},
		{"unknown role", nil, "feed,planner", `unknown role "planner"`},
		{"bad agent workers", map[string]string{"FLUX_AGENT_WORKERS": "many"}, "agents", `FLUX_AGENT_WORKERS="many"`},
		{"half of Twilio", map[string]string{"TWILIO_ACCOUNT_SID": "AC1"}, "http", "set both TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"},
		{"Twilio without public URL", map[string]string{"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t", "TWILIO_WHATSAPP_FROM": "+1", "TWILIO_VOICE_FROM": "+1"}, "http", "FLUX_PUBLIC_BASE_URL must be"},
		{"Twilio without senders", map[string]string{"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t", "FLUX_PUBLIC_BASE_URL": "https://flux.example.com"}, "http", "TWILIO_WHATSAPP_FROM"},
		{"push without subscriber", map[string]string{"VAPID_PUBLIC_KEY": "p", "VAPID_PRIVATE_KEY": "k"}, "http", "VAPID_SUBSCRIBER"},
		{"bad lease", map[string]string{"FLUX_DISPATCH_LEASE": "soon"}, "http", `FLUX_DISPATCH_LEASE="soon"`},
		{"missing CA file", map[string]string{"FLUX_PUSH_CA_FILE": "/nonexistent/ca.pem"}, "http", "FLUX_PUSH_CA_FILE"},
	} {
		cfg, err := listenConfig(env(tc.env), tc.roles, new(logtest.Buffer).Logger())
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		case tc.name == "minimal" && (cfg.DisableFeed || cfg.DisableDispatch || cfg.DisableHTTP || cfg.Agent == nil || cfg.Dispatch.Owner == ""):
			t.Errorf("minimal: %+v", cfg)
		}
	}
}
