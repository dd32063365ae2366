// Package migrate applies supabase/migrations with golang-migrate (embedded iofs source, pgx v5
// driver) and, for a plain local PostgreSQL, the local bootstrap first.
//
// The version table is flux.schema_migrations: Supabase keeps its own history in
// supabase_migrations.schema_migrations, and golang-migrate's default public.schema_migrations
// would sit in the schema PostgREST exposes. Use one tool per project: either `flux migrate` or
// `supabase db push`, not both, since each only knows its own history.
package migrate

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/flux-companion/flux/sql/bootstrap"
	"github.com/flux-companion/flux/supabase"
)

// Options for Up.
type Options struct {
	// Local installs the local bootstrap first (plain PostgreSQL only; refused on Supabase).
	Local bool
	// Logger receives progress. Default: slog.Default().
	Logger *slog.Logger
	// Version stops at this migration instead of the latest (upgrade tests start from a released
	// baseline). There are no down migrations: asking for a version below the current one fails.
	Version uint
}

// lockKey serializes concurrent Up calls on one database (bootstrap included; golang-migrate's
// own lock covers only the migrations).
const lockKey = 0x666c7578 // "flux"

// Up brings the database at databaseURL to the latest migration. It returns the version reached.
func Up(ctx context.Context, databaseURL string, opts Options) (uint, error) {
	log := cmp.Or(opts.Logger, slog.Default())
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return 0, fmt.Errorf("migrate: parse database URL: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return 0, fmt.Errorf("migrate: connect to %s:%d/%s: %w", cfg.Host, cfg.Port, cfg.Database, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	if _, err := conn.Exec(ctx, "select pg_advisory_lock($1)", lockKey); err != nil {
		return 0, fmt.Errorf("migrate: lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "select pg_advisory_unlock($1)", lockKey) //nolint:errcheck // released with the session anyway

	if opts.Local {
		if err := bootstrap.Apply(ctx, conn); err != nil {
			return 0, fmt.Errorf("migrate --local: %w", err)
		}
		log.InfoContext(ctx, "local bootstrap applied", "database", cfg.Database)
	} else if err := checkSupabaseLike(ctx, conn); err != nil {
		return 0, err
	}

	// golang-migrate creates its table but not the schema around it.
	if _, err := conn.Exec(ctx, "create schema if not exists flux"); err != nil {
		return 0, fmt.Errorf("migrate: create schema flux: %w", err)
	}

	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	m, err := newMigrate(db)
	if err != nil {
		return 0, err
	}
	defer m.Close()
	m.Log = logAdapter{ctx: ctx, log: log}
	up := m.Up
	if opts.Version != 0 {
		up = func() error { return m.Migrate(opts.Version) }
	}
	if err := up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		var dirty migrate.ErrDirty
		if errors.As(err, &dirty) {
			return 0, fmt.Errorf("migrate: migration %d failed in an earlier run and is marked dirty in flux.schema_migrations; each migration runs in one transaction, so nothing of it stayed: fix its cause, then set that row to the previous version with dirty = false (delete it if it was the first migration) and run again: %w", dirty.Version, err)
		}
		return 0, fmt.Errorf("migrate: %w", err)
	}
	if opts.Local {
		// A local database is a development database: allow the time warp there, only there,
		// and switch the rate limits off.
		if _, err := conn.Exec(ctx, "update flux.clock set warp_allowed = true"); err != nil {
			return 0, fmt.Errorf("migrate --local: allow time warp: %w", err)
		}
		if _, err := conn.Exec(ctx, "update flux.settings set rate_limits = false"); err != nil {
			return 0, fmt.Errorf("migrate --local: rate limits off: %w", err)
		}
	}
	version, dirty, err := m.Version()
	if err != nil {
		return 0, fmt.Errorf("migrate: read version: %w", err)
	}
	if dirty {
		return version, fmt.Errorf("migrate: version %d is marked dirty in flux.schema_migrations", version)
	}
	log.InfoContext(ctx, "migrations applied", "database", cfg.Database, "version", version)
	return version, nil
}

func newMigrate(db *sql.DB) (*migrate.Migrate, error) {
	src, err := iofs.New(supabase.Migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("migrate: read embedded migrations: %w", err)
	}
	drv, err := migratepgx.WithInstance(db, &migratepgx.Config{
		MigrationsTable:       `"flux"."schema_migrations"`,
		MigrationsTableQuoted: true,
	})
	if err != nil {
		return nil, fmt.Errorf("migrate: open driver: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return m, nil
}

// checkSupabaseLike fails early, with advice, when the database lacks what Supabase provides.
func checkSupabaseLike(ctx context.Context, conn *pgx.Conn) error {
	var ok bool
	err := conn.QueryRow(ctx, `
		select to_regclass('auth.users') is not null
		   and to_regprocedure('auth.uid()') is not null
		   and exists (select 1 from pg_roles where rolname = 'authenticated')`).Scan(&ok)
	if err != nil {
		return fmt.Errorf("migrate: inspect database: %w", err)
	}
	if !ok {
		return errors.New("migrate: the database has no auth.users, auth.uid() or authenticated role: it is not a Supabase database; for a plain PostgreSQL use --local")
	}
	return nil
}

// Seed runs a seed script (supabase.Seed) in one transaction.
func Seed(ctx context.Context, databaseURL, script string) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("seed: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// A multi-statement simple query runs as one implicit transaction.
	if _, err := conn.Exec(ctx, script); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return nil
}

type logAdapter struct {
	ctx context.Context
	log *slog.Logger
}

func (l logAdapter) Printf(format string, v ...any) {
	l.log.DebugContext(l.ctx, fmt.Sprintf(format, v...))
}

func (l logAdapter) Verbose() bool { return false }
