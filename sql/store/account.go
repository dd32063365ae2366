package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The GDPR export and erasure (listener/account). Which tables hold a user's rows is read from
// the catalog at run time (queries/user_tables.sql), so the statements over those tables are
// built here, from quoted identifiers.

var (
	qUserExists     = query("user_exists")
	qUserTables     = query("user_tables")
	qLockAuthUser   = query("lock_auth_user")
	qDeleteAuthUser = query("delete_auth_user")
	qCountAuthUser  = query("count_auth_user")
)

// UserTable is a table that holds users' rows, each owned through column Owner (fields in the
// query's column order).
type UserTable struct {
	Schema, Name, Owner string
	Key                 []string // primary key columns, for a stable export order
}

func (t UserTable) String() string { return t.Schema + "." + t.Name }

func (t UserTable) ident() string { return pgx.Identifier{t.Schema, t.Name}.Sanitize() }

func (t UserTable) owner() string { return pgx.Identifier{t.Owner}.Sanitize() }

// UserExists reports whether user has a profile row.
func (s *Store) UserExists(ctx context.Context, user uuid.UUID) (bool, error) {
	return one[bool](ctx, s.db, "user exists", qUserExists, user)
}

// UserTables lists every table that holds a user's rows, from the catalog.
func (s *Store) UserTables(ctx context.Context) ([]UserTable, error) {
	tables, err := collect(ctx, s.db, "list user tables", pgx.RowToStructByPos[UserTable], qUserTables)
	if err != nil {
		return nil, err
	}
	if len(tables) == 0 {
		// Not even public.users: the wrong database, and "nothing to export or erase" would be a lie.
		return nil, errors.New("store: no user tables in the catalog (not a Flux database?)")
	}
	return tables, nil
}

// CountUserRows returns user's rows per table (by its String), in one round trip.
func (s *Store) CountUserRows(ctx context.Context, tables []UserTable, user uuid.UUID) (map[string]int64, error) {
	b := &pgx.Batch{}
	counts := make(map[string]int64, len(tables))
	for _, t := range tables {
		b.Queue(fmt.Sprintf("select count(*) from %s where %s = $1", t.ident(), t.owner()), user).
			QueryRow(func(row pgx.Row) error {
				var n int64
				if err := row.Scan(&n); err != nil {
					return fmt.Errorf("store: count rows of %s: %w", t, err)
				}
				counts[t.String()] = n
				return nil
			})
	}
	if err := s.db.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	return counts, nil
}

// EachUserRow calls f with each of user's rows of t as JSON (to_jsonb of the row), in primary
// key order, streaming them.
func (s *Store) EachUserRow(ctx context.Context, t UserTable, user uuid.UUID, f func(row []byte) error) error {
	q := fmt.Sprintf("select to_jsonb(t) from %s t where t.%s = $1", t.ident(), t.owner())
	if len(t.Key) > 0 {
		cols := make([]string, len(t.Key))
		for i, k := range t.Key {
			cols[i] = "t." + pgx.Identifier{k}.Sanitize()
		}
		q += " order by " + strings.Join(cols, ", ")
	}
	rows, err := s.db.Query(ctx, q, user)
	if err != nil {
		return fmt.Errorf("store: rows of %s: %w", t, err)
	}
	var row []byte
	_, err = pgx.ForEachRow(rows, []any{&row}, func() error { return f(row) })
	if err != nil {
		return fmt.Errorf("store: rows of %s: %w", t, err)
	}
	return nil
}

// DeleteUserRows deletes user's rows from every table and returns how many went from each table
// that had any.
func (s *Store) DeleteUserRows(ctx context.Context, tables []UserTable, user uuid.UUID) (map[string]int64, error) {
	deleted := map[string]int64{}
	for _, t := range tables {
		tag, err := s.db.Exec(ctx, fmt.Sprintf("delete from %s where %s = $1", t.ident(), t.owner()), user)
		if err != nil {
			return nil, fmt.Errorf("store: delete rows of %s: %w", t, err)
		}
		if n := tag.RowsAffected(); n > 0 {
			deleted[t.String()] = n
		}
	}
	return deleted, nil
}

// LockAuthUser locks the auth user for an erasure: inserts that reference it wait, then fail.
func (s *Store) LockAuthUser(ctx context.Context, user uuid.UUID) error {
	return exec(ctx, s.db, "lock auth user", qLockAuthUser, user)
}

// DeleteAuthUser deletes the auth user; ON DELETE CASCADE removes what references it.
func (s *Store) DeleteAuthUser(ctx context.Context, user uuid.UUID) error {
	return exec(ctx, s.db, "delete auth user", qDeleteAuthUser, user)
}

// CountAuthUser is 1 while the auth user exists, else 0.
func (s *Store) CountAuthUser(ctx context.Context, user uuid.UUID) (int64, error) {
	return one[int64](ctx, s.db, "count auth user", qCountAuthUser, user)
}
