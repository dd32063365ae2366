package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flux-companion/flux/internal/testwait"
	"github.com/flux-companion/flux/listener/logtest"
	"github.com/flux-companion/flux/sql/pgtest"
)

func TestMain(m *testing.M) {
	// The crash test runs this binary as `flux listen` in a child process it can SIGKILL.
	// The tour test runs the commands flux dev prints, with this binary standing in for bin/flux.
	if os.Getenv("FLUX_TEST_AS_FLUX") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
	}
	if os.Getenv("FLUX_TEST_LISTEN") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		os.Exit(run(ctx, []string{"listen"}, os.Stdout, os.Stderr))
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
	var users int
	if err := query(t, url, `select count(*) from public.users where email like '%@demo.flux.local'`, &users); err != nil || users != 2 {
		t.Fatalf("demo users = %d (%v), want 2", users, err)
	}
}

func TestMigrateErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	supa := pgtest.EmptyDB(t)
	conn, err := pgx.Connect(ctx, supa)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `create schema auth; create table auth.schema_migrations (version text)`); err != nil {
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
	outR, outW := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"dev", "--data-dir", dir, "--port", "0", "--http-addr", "127.0.0.1:0"}, outW, &stderr)
		outW.Close()
	}()

	var url, listener, alex string
	lines := make(chan string)
	var printed logtest.Buffer // everything flux dev printed, the fakes' traffic included
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			printed.Write([]byte(sc.Text() + "\n"))
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(2 * time.Minute)
	for url == "" || listener == "" || alex == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("flux dev ended before it was ready (exit %d):\n%s", <-done, stderr.String())
			}
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "database" {
				url = f[1]
			}
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "listener" {
				listener = f[1]
			}
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "export ALEX='"); ok {
				alex = strings.TrimSuffix(v, "'")
			}
		case <-timeout:
			t.Fatalf("flux dev not ready after 2 minutes:\n%s", stderr.String())
		}
	}
	go func() {
		for range lines { // keep draining so the command never blocks on its output
		}
	}()

	var users, jobs int
	if err := query(t, url, `select count(*) from public.users where email like '%@demo.flux.local'`, &users); err != nil || users != 2 {
		t.Fatalf("demo users = %d (%v), want 2", users, err)
	}
	// The dev database is the one pg_cron runs in, so later migrations' jobs run locally.
	if err := query(t, url, `select count(*) from pg_settings where name = 'cron.database_name' and setting = current_database()`, &jobs); err != nil || jobs != 1 {
		t.Fatalf("dev database is not pg_cron's database (%v)", err)
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

func query(t *testing.T, url, sql string, dest any) error {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.QueryRow(ctx, sql).Scan(dest)
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
