// Package bootstrap gives a plain PostgreSQL what a Supabase database already has (roles, the
// auth schema and its helpers, the extensions schema, the supabase_realtime publication), so the
// migrations run unchanged on both. See bootstrap.sql.
package bootstrap

import (
	"context"
	_ "embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

//go:embed bootstrap.sql
var script string

// ErrSupabase is returned by Apply on a database that already is a Supabase project.
var ErrSupabase = errors.New("the database is a Supabase project (it has Supabase's own roles and auth tables); the local bootstrap is only for a plain PostgreSQL: run without --local")

// IsSupabase reports whether the database is a Supabase project (hosted or the Supabase CLI's
// local stack). Those have the supabase_admin role and GoTrue's auth.schema_migrations table;
// the local bootstrap creates neither.
func IsSupabase(ctx context.Context, conn *pgx.Conn) (bool, error) {
	var yes bool
	err := conn.QueryRow(ctx, `
		select exists (select 1 from pg_roles where rolname = 'supabase_admin')
		    or to_regclass('auth.schema_migrations') is not null`).Scan(&yes)
	if err != nil {
		return false, fmt.Errorf("bootstrap: detect Supabase: %w", err)
	}
	return yes, nil
}

// Apply installs the bootstrap, creating only what is missing. It refuses a Supabase project.
// Roles are global to the cluster: callers bootstrapping several databases of one cluster at once
// serialize (migrate.Up holds an advisory lock).
func Apply(ctx context.Context, conn *pgx.Conn) error {
	supa, err := IsSupabase(ctx, conn)
	if err != nil {
		return err
	}
	if supa {
		return ErrSupabase
	}
	if _, err := conn.Exec(ctx, script); err != nil {
		return fmt.Errorf("bootstrap: apply local bootstrap: %w", err)
	}
	return nil
}
