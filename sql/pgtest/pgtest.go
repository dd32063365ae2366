// Package pgtest gives each test its own migrated PostgreSQL database, cheaply and safely in
// parallel.
//
// The first test that asks starts one throwaway cluster for the whole test binary (localpg), or
// uses the server at DATABASE_URL when that is set. Into it goes a template database with the
// local bootstrap and every migration applied, once; each test then gets a clone
// (CREATE DATABASE ... TEMPLATE), dropped when the test ends. Packages that use it call Main from
// TestMain so the cluster is stopped after the last test; should the binary die first, the
// cluster still stops with it (see localpg).
//
// With DATABASE_URL the role must be allowed to create databases and roles (a disposable test
// server, never a real project): templates and clones are named after the process id, so several
// test binaries can share the server.
package pgtest

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flux-companion/flux/sql/localpg"
	"github.com/flux-companion/flux/sql/migrate"
)

type server struct {
	cluster  *localpg.Cluster // nil when DATABASE_URL is used
	adminURL string           // a database on the server used to create and drop the others
	template string
	err      error
}

var (
	once   sync.Once
	srv    server
	serial atomic.Int64
)

// Main runs the package's tests and then stops the shared cluster. Use it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if srv.template != "" && srv.cluster == nil {
		// On a shared server, leave nothing behind.
		dropDatabase(context.Background(), srv.adminURL, srv.template)
	}
	if srv.cluster != nil {
		_ = srv.cluster.Stop()
	}
	os.Exit(code)
}

// DB returns the URL of a fresh, migrated database for this test, dropped at cleanup. The URL
// connects as the superuser; to act as a user, switch role as PostgREST does (see AsUser).
func DB(t testing.TB) string {
	t.Helper()
	return clone(t, true)
}

// EmptyDB returns the URL of a fresh database with nothing applied: for testing migrations.
func EmptyDB(t testing.TB) string {
	t.Helper()
	return clone(t, false)
}

// Pool returns a pool on a fresh, migrated database for this test, closed at cleanup.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return PoolOn(t, DB(t))
}

// PoolOn returns a pool on the database at url, closed at cleanup: for a test that needs the
// URL too (to start a component on it), or a database of its own such as a Restartable's.
func PoolOn(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatalf("pgtest: open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Conn returns a connection to the database at url, closed at cleanup.
func Conn(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func ensure(t testing.TB) {
	t.Helper()
	once.Do(func() { srv.err = start(context.Background()) })
	if srv.err != nil {
		t.Fatalf("pgtest: %v", srv.err)
	}
}

func clone(t testing.TB, migrated bool) string {
	t.Helper()
	ensure(t)
	ctx := context.Background()
	name := fmt.Sprintf("flux_t%d_%d", os.Getpid(), serial.Add(1))
	template := srv.template
	if !migrated {
		template = "template0"
	}
	admin, err := pgx.Connect(ctx, srv.adminURL)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, fmt.Sprintf("create database %s template %s", name, template)); err != nil {
		t.Fatalf("pgtest: create database %s from %s: %v", name, template, err)
	}
	t.Cleanup(func() { dropDatabase(context.Background(), srv.adminURL, name) })
	return withDatabase(srv.adminURL, name)
}

func start(ctx context.Context) error {
	srv.adminURL = os.Getenv("DATABASE_URL")
	if srv.adminURL == "" {
		c, err := localpg.Start(ctx, localpg.Options{})
		if err != nil {
			return err
		}
		srv.cluster = c
		srv.adminURL = c.ConnString("postgres")
	}

	srv.template = fmt.Sprintf("flux_template_%d", os.Getpid())
	admin, err := pgx.Connect(ctx, srv.adminURL)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", redact(srv.adminURL), err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "create database "+srv.template); err != nil {
		return fmt.Errorf("create template database (the role needs CREATEDB): %w", err)
	}
	// Test binaries sharing a DATABASE_URL server would race on the cluster-global roles the
	// bootstrap creates; an advisory lock on the shared admin database serializes them.
	if _, err := admin.Exec(ctx, "select pg_advisory_lock(7355608)"); err != nil {
		return err
	}
	quiet := slog.New(slog.DiscardHandler)
	_, err = migrate.Up(ctx, withDatabase(srv.adminURL, srv.template), migrate.Options{Local: true, Logger: quiet})
	if _, uerr := admin.Exec(ctx, "select pg_advisory_unlock(7355608)"); uerr != nil && err == nil {
		err = uerr
	}
	if err != nil {
		return fmt.Errorf("migrate template: %w", err)
	}
	// A template must have no sessions for CREATE DATABASE to copy it; migrate closed its own.
	return nil
}

func dropDatabase(ctx context.Context, adminURL, name string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return
	}
	defer admin.Close(ctx)
	// Replication slots pin a database; a test that made one may not have dropped it.
	_, _ = admin.Exec(ctx, "select pg_drop_replication_slot(slot_name) from pg_replication_slots where database = $1 and not active", name)
	_, _ = admin.Exec(ctx, fmt.Sprintf("drop database if exists %s with (force)", name))
}

// withDatabase replaces the database name in a postgres:// URL.
func withDatabase(raw, db string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		panic(fmt.Sprintf("pgtest: DATABASE_URL must be a postgres:// URL, got %s", redact(raw)))
	}
	u.Path = "/" + db
	return u.String()
}

func redact(url string) string {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return "the database URL"
	}
	return fmt.Sprintf("%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}
