package supabase_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/flux-companion/flux/sql/bootstrap"
	"github.com/flux-companion/flux/sql/localpg"
	"github.com/flux-companion/flux/sql/migrate"
	"github.com/flux-companion/flux/sql/pgtest"
)

// supabaseCLI is the Supabase CLI at the version supabase/tools/package.json pins.
func supabaseCLI(t *testing.T) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("tools", "node_modules", ".bin", "supabase"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the Supabase CLI is not installed (%v): run `make setup`", err)
	}
	return path
}

// cli runs the Supabase CLI offline: no telemetry, no update check.
func cli(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(supabaseCLI(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DO_NOT_TRACK=1", "SUPABASE_TELEMETRY_DISABLED=1", "SUPABASE_NO_UPDATE_NOTIFIER=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// supabaseLike starts a cluster and makes its postgres database what a new Supabase project
// is, as far as Flux's migrations can tell: the local bootstrap, and pg_cron enabled from the
// dashboard (in pg_catalog).
func supabaseLike(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	cluster, err := localpg.Start(ctx, localpg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Stop() })
	url := cluster.ConnString("postgres")
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := bootstrap.Apply(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "create extension pg_cron with schema pg_catalog"); err != nil {
		t.Fatal(err)
	}
	return url
}

// TestSupabaseCLI: the real Supabase CLI applies the migrations to a fresh database and gets
// exactly the schema `flux migrate` gets; `supabase db lint` (plpgsql_check) finds nothing, and
// the advisor's rules (015-advisor.sql) hold there too, with pg_cron installed as on Supabase.
func TestSupabaseCLI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	pushed, migrated := supabaseLike(t), supabaseLike(t)

	// A project directory as `supabase init` leaves it, holding this repository's config and
	// migrations (the CLI writes its .temp/ there, not in the checkout).
	project := t.TempDir()
	if err := os.CopyFS(filepath.Join(project, "supabase", "migrations"), os.DirFS("migrations")); err != nil {
		t.Fatal(err)
	}
	config, err := os.ReadFile("config.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(project, "supabase", "config.toml"), config, 0o644); err != nil {
		t.Fatal(err)
	}

	out, err := cli(t, project, "db", "push", "--db-url", pushed, "--yes")
	if err != nil {
		t.Fatalf("supabase db push: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Finished supabase db push") {
		t.Fatalf("supabase db push did not finish:\n%s", out)
	}
	if _, err := migrate.Up(ctx, migrated, migrate.Options{Logger: quiet}); err != nil {
		t.Fatalf("flux migrate: %v", err)
	}

	// Each tool's own history is left out: the CLI's in supabase_migrations, flux migrate's in
	// flux.schema_migrations.
	history := []string{"--exclude-schema=supabase_migrations", "--exclude-table=flux.schema_migrations"}
	if d := pgtest.Diff(t, "flux-migrate", pgtest.Schema(t, migrated, history...), "supabase-db-push", pgtest.Schema(t, pushed, history...)); d != "" {
		t.Fatalf("supabase db push reached another schema than flux migrate:\n%s", d)
	}

	out, err = cli(t, project, "db", "lint", "--db-url", pushed, "--level", "warning", "--fail-on", "warning")
	if err != nil || !strings.Contains(out, "No schema errors found") {
		t.Fatalf("supabase db lint --level warning: %v\n%s", err, out)
	}

	prove(t, pushed, "tests/000-setup-tests-helpers.sql", "tests/015-advisor.sql")
}
