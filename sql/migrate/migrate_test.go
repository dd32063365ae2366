package migrate_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/flux-companion/flux/sql/bootstrap"
	"github.com/flux-companion/flux/sql/localpg"
	"github.com/flux-companion/flux/sql/migrate"
	"github.com/flux-companion/flux/sql/pgtest"
	"github.com/flux-companion/flux/supabase"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var quiet = slog.New(slog.DiscardHandler)

func TestUpLocalReachesLatestAndIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.EmptyDB(t)
	want := latestVersion(t)
	for i := 0; i < 2; i++ {
		got, err := migrate.Up(ctx, url, migrate.Options{Local: true, Logger: quiet})
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		if got != want {
			t.Fatalf("run %d: version %d, want %d", i+1, got, want)
		}
	}
	conn := pgtest.Conn(t, url)
	if tables := value[int](t, conn, `select count(*) from pg_tables where schemaname = 'public'`); tables != 9 {
		t.Errorf("public has %d tables, want the 9 of docs/product.md", tables)
	}
	if !value[bool](t, conn, `select to_regclass('flux.schema_migrations') is not null`) {
		t.Error("migration history not in flux.schema_migrations")
	}
	if value[bool](t, conn, `select to_regclass('public.schema_migrations') is not null`) {
		t.Error("a schema_migrations table appeared in the exposed public schema")
	}
}

func TestUpLocalRefusesASupabaseProject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.EmptyDB(t)
	conn := pgtest.Conn(t, url)
	// What GoTrue leaves in every Supabase project.
	if _, err := conn.Exec(ctx, `create schema auth; create table auth.schema_migrations (version text primary key)`); err != nil {
		t.Fatal(err)
	}
	_, err := migrate.Up(ctx, url, migrate.Options{Local: true, Logger: quiet})
	if !errors.Is(err, bootstrap.ErrSupabase) {
		t.Fatalf("err = %v, want ErrSupabase", err)
	}
	if value[bool](t, conn, `select to_regclass('auth.users') is not null or to_regnamespace('flux') is not null`) {
		t.Error("the refused run still changed the database")
	}
}

func TestUpWithoutLocalNeedsASupabaseDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.EmptyDB(t)
	_, err := migrate.Up(ctx, url, migrate.Options{Logger: quiet})
	if err == nil || !strings.Contains(err.Error(), "--local") {
		t.Fatalf("err = %v, want advice to use --local", err)
	}
	if value[bool](t, pgtest.Conn(t, url), `select to_regnamespace('flux') is not null`) {
		t.Error("the refused run still changed the database")
	}
}

// A database that already has what Supabase provides (here: the bootstrap applied by hand, as
// a Supabase project has it) migrates without --local.
func TestUpWithoutLocalOnASupabaseLikeDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.EmptyDB(t)
	if err := bootstrap.Apply(ctx, pgtest.Conn(t, url)); err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Up(ctx, url, migrate.Options{Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	// Not a local database: the development time warp stays off.
	_, err := pgtest.Conn(t, url).Exec(ctx, `select flux.set_time_warp(interval '1 hour')`)
	if err == nil || !strings.Contains(err.Error(), "time warp is disabled") {
		t.Fatalf("time warp on a non-local database: err = %v, want it refused", err)
	}
}

// In the database pg_cron runs in (cron.database_name: "postgres" on Supabase and in flux dev),
// the migrations schedule the safety-net sweep and the purge, and their commands run. A database
// deployed at the baseline has pg_cron in public (the escalation migration named no schema); the
// upgrade recreates it in pg_catalog, where Supabase puts it, and keeps every job, the project's
// own included.
func TestCronJobsInTheCronDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cluster, err := localpg.Start(ctx, localpg.Options{CronDatabase: "flux_cron"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Stop() })
	if _, err := pgtest.Conn(t, cluster.ConnString("postgres")).Exec(ctx, "create database flux_cron"); err != nil {
		t.Fatal(err)
	}
	url := cluster.ConnString("flux_cron")
	if _, err := migrate.Up(ctx, url, migrate.Options{Local: true, Logger: quiet, Version: supabase.Baseline}); err != nil {
		t.Fatal(err)
	}
	conn := pgtest.Conn(t, url)
	var ownID int64
	if err := conn.QueryRow(ctx, `select cron.schedule('project-own', '5 4 * * *', 'select 1')`).Scan(&ownID); err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Up(ctx, url, migrate.Options{Local: true, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	schema := value[string](t, conn, `select extnamespace::regnamespace::text from pg_extension where extname = 'pg_cron'`)
	if schema != "pg_catalog" {
		t.Errorf("pg_cron lives in %s, want pg_catalog", schema)
	}
	rows, err := conn.Query(ctx, `select jobid, jobname, schedule, command from cron.job order by jobname`)
	if err != nil {
		t.Fatal(err)
	}
	type job struct {
		id                      int64
		name, schedule, command string
	}
	jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (job, error) {
		var j job
		return j, r.Scan(&j.id, &j.name, &j.schedule, &j.command)
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"flux-chat-purge":        "29 3 * * *",
		"flux-escalation-sweep":  "* * * * *",
		"flux-outbox-purge":      "17 3 * * *",
		"flux-token-usage-reset": "0 0 1 * *",
		"project-own":            "5 4 * * *",
	}
	got := map[string]string{}
	for _, j := range jobs {
		got[j.name] = j.schedule
		if j.name == "project-own" && j.id != ownID {
			t.Errorf("the project's own job has id %d after the upgrade, was %d", j.id, ownID)
		}
	}
	if !maps.Equal(got, want) {
		t.Fatalf("cron jobs = %v, want %v", got, want)
	}
	// Run history a week and more old: three runs of the sweep, one of the chat purge.
	if _, err := conn.Exec(ctx, `
		insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status, start_time, end_time)
		select j.jobid, r.runid, 1, 'postgres', 'postgres', j.command, 'succeeded', now() - interval '10 days', now() - interval '10 days'
		from cron.job j
		join (values ('flux-escalation-sweep', 1001), ('flux-escalation-sweep', 1002), ('flux-escalation-sweep', 1003),
		             ('flux-chat-purge', 1004)) r (jobname, runid) on r.jobname = j.jobname`); err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if _, err := conn.Exec(ctx, j.command); err != nil {
			t.Errorf("job %s: its command fails: %v", j.name, err)
		}
	}
	// The nightly purge trimmed the old runs but kept each job's latest.
	var kept []int64
	rows, err = conn.Query(ctx, `select runid from cron.job_run_details order by runid`)
	if err != nil {
		t.Fatal(err)
	}
	if kept, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(kept, []int64{1003, 1004}) {
		t.Errorf("run history after the purge: %v, want only each job's latest run (1003, 1004)", kept)
	}
	// A new job takes a fresh id: the id sequence moved past the jobs carried over.
	next := value[int64](t, conn, `select cron.schedule('after-upgrade', '1 1 * * *', 'select 1')`)
	for _, j := range jobs {
		if j.id == next {
			t.Errorf("a job scheduled after the upgrade reuses id %d of %s", next, j.name)
		}
	}
}

func TestUpReportsAFailedMigrationAsDirty(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.EmptyDB(t)
	conn := pgtest.Conn(t, url)
	// Sabotage: a table the first migration wants to create already exists.
	if err := bootstrap.Apply(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `create table public.goals (id int)`); err != nil {
		t.Fatal(err)
	}
	_, err := migrate.Up(ctx, url, migrate.Options{Logger: quiet})
	if err == nil || !strings.Contains(err.Error(), `relation "goals" already exists`) {
		t.Fatalf("err = %v, want the failing statement's error", err)
	}
	// The failed migration ran as one transaction: none of it stayed.
	if value[bool](t, conn, `select to_regclass('public.users') is not null`) {
		t.Error("a failed migration left part of its work behind")
	}
	// The next run says what happened instead of guessing.
	_, err = migrate.Up(ctx, url, migrate.Options{Logger: quiet})
	if err == nil || !strings.Contains(err.Error(), "marked dirty") {
		t.Fatalf("second run: err = %v, want the dirty-migration explanation", err)
	}
}

func TestSeedIsRepeatable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.DB(t)
	for i := 0; i < 2; i++ {
		if err := migrate.Seed(ctx, url, supabase.Seed); err != nil {
			t.Fatalf("seed run %d: %v", i+1, err)
		}
	}
	if users := value[int](t, pgtest.Conn(t, url), `select count(*) from public.users where email like '%@demo.flux.local'`); users != 2 {
		t.Fatalf("%d demo users after seeding twice, want 2", users)
	}
}

func latestVersion(t *testing.T) uint {
	t.Helper()
	entries, err := supabase.Migrations.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	var latest uint64
	for _, e := range entries {
		v, err := strconv.ParseUint(strings.SplitN(e.Name(), "_", 2)[0], 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		latest = max(latest, v)
	}
	return uint(latest)
}

// value is what a query of one row and one column returns.
func value[T any](t *testing.T, conn *pgx.Conn, query string) T {
	t.Helper()
	var v T
	if err := conn.QueryRow(context.Background(), query).Scan(&v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return v
}
