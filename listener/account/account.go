package account

import (
	"archive/zip"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed queries/*.sql
var files embed.FS

func query(name string) string {
	b, err := files.ReadFile("queries/" + name + ".sql")
	if err != nil {
		panic(fmt.Sprintf("account: missing query %s: %v", name, err))
	}
	return string(b)
}

var (
	qUserTables     = query("user_tables")
	qUserExists     = query("user_exists")
	qLockAuthUser   = query("lock_auth_user")
	qDeleteAuthUser = query("delete_auth_user")
	qCountAuthUser  = query("count_auth_user")
)

// ErrNotFound: the user has no public.users row.
var ErrNotFound = errors.New("account: user not found")

// Admin deletes auth users through the Supabase admin API (GoTrue). With a nil Admin the
// auth.users row is deleted directly (local databases).
type Admin interface {
	// DeleteUser deletes the auth user. A user that does not exist is not an error: erasure is
	// idempotent.
	DeleteUser(ctx context.Context, id uuid.UUID) error
}

// Service exports and erases users' data.
type Service struct {
	DB    *pgxpool.Pool
	Admin Admin            // nil: delete auth.users directly
	Log   *slog.Logger     // nil: slog.Default()
	Now   func() time.Time // nil: time.Now
}

// Manifest describes an export; it is also written as manifest.json.
type Manifest struct {
	UserID     uuid.UUID      `json:"user_id"`
	ExportedAt time.Time      `json:"exported_at"`
	Tables     map[string]int `json:"tables"` // file name without .json -> rows
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// table is one user table from the catalog.
type table struct {
	Schema, Name, Owner string
	Key                 []string // primary key columns, for a stable export order
}

func (t table) String() string { return t.Schema + "." + t.Name }

func (t table) ident() string { return pgx.Identifier{t.Schema, t.Name}.Sanitize() }

func (t table) owner() string { return pgx.Identifier{t.Owner}.Sanitize() }

// Identifiers come from the catalog and are quoted, so building these statements is safe.
func (t table) selectRows() string {
	q := fmt.Sprintf("select to_jsonb(t) from %s t where t.%s = $1", t.ident(), t.owner())
	if len(t.Key) > 0 {
		cols := make([]string, len(t.Key))
		for i, k := range t.Key {
			cols[i] = "t." + pgx.Identifier{k}.Sanitize()
		}
		q += " order by " + strings.Join(cols, ", ")
	}
	return q
}

func (t table) countRows() string {
	return fmt.Sprintf("select count(*) from %s where %s = $1", t.ident(), t.owner())
}

func (t table) deleteRows() string {
	return fmt.Sprintf("delete from %s where %s = $1", t.ident(), t.owner())
}

// db is a pool or a transaction.
type db interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

func userTables(ctx context.Context, q db) ([]table, error) {
	rows, err := q.Query(ctx, qUserTables)
	if err != nil {
		return nil, fmt.Errorf("account: list user tables: %w", err)
	}
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var t table
		err := r.Scan(&t.Schema, &t.Name, &t.Owner, &t.Key)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("account: list user tables: %w", err)
	}
	if len(tables) == 0 {
		// Not even public.users: the wrong database, and "nothing to export or erase" would be a lie.
		return nil, errors.New("account: no user tables in the catalog (not a Flux database?)")
	}
	return tables, nil
}

// countRows returns the user's rows per table, in one round trip.
func countRows(ctx context.Context, q db, tables []table, user uuid.UUID) (map[string]int64, error) {
	b := &pgx.Batch{}
	for _, t := range tables {
		b.Queue(t.countRows(), user)
	}
	br := q.SendBatch(ctx, b)
	counts := make(map[string]int64, len(tables))
	for _, t := range tables {
		var n int64
		if err := br.QueryRow().Scan(&n); err != nil {
			br.Close()
			return nil, fmt.Errorf("account: count rows of %s: %w", t, err)
		}
		counts[t.String()] = n
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("account: count rows: %w", err)
	}
	return counts, nil
}

// Export writes the user's data to w as a ZIP: one "<schema>.<table>.json" per user table (a JSON
// array of row objects, to_jsonb of each row), the user's webhook receipts, and manifest.json.
// On ErrNotFound nothing is written; on any other error w holds a partial archive to discard.
func (s *Service) Export(ctx context.Context, user uuid.UUID, w io.Writer) (Manifest, error) {
	tx, err := s.DB.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return Manifest{}, fmt.Errorf("account: export: begin: %w", err)
	}
	// Read only: rolling back ends it as well as a commit would.
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // nothing to undo

	// The first statement takes the snapshot every later read sees.
	var exists bool
	if err := tx.QueryRow(ctx, qUserExists, user).Scan(&exists); err != nil {
		return Manifest{}, fmt.Errorf("account: export: %w", err)
	}
	if !exists {
		return Manifest{}, ErrNotFound
	}
	tables, err := userTables(ctx, tx)
	if err != nil {
		return Manifest{}, err
	}

	m := Manifest{UserID: user, ExportedAt: s.now().UTC(), Tables: map[string]int{}}
	zw := zip.NewWriter(w)
	for _, t := range tables {
		n, err := writeRows(ctx, tx, zw, t.String(), m.ExportedAt, t.selectRows(), user)
		if err != nil {
			return Manifest{}, err
		}
		m.Tables[t.String()] = n
	}

	f, err := zw.CreateHeader(&zip.FileHeader{Name: "manifest.json", Method: zip.Deflate, Modified: m.ExportedAt})
	if err != nil {
		return Manifest{}, fmt.Errorf("account: export: %w", err)
	}
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return Manifest{}, fmt.Errorf("account: export: manifest: %w", err)
	}
	if err := zw.Close(); err != nil {
		return Manifest{}, fmt.Errorf("account: export: %w", err)
	}
	total := 0
	for _, n := range m.Tables {
		total += n
	}
	s.log().InfoContext(ctx, "account exported", "user_id", user, "tables", len(m.Tables), "rows", total)
	return m, nil
}

// writeRows streams the rows of one query (one jsonb value per row) into <name>.json as a JSON
// array, one row per line.
func writeRows(ctx context.Context, tx pgx.Tx, zw *zip.Writer, name string, mod time.Time, sql string, user uuid.UUID) (int, error) {
	f, err := zw.CreateHeader(&zip.FileHeader{Name: name + ".json", Method: zip.Deflate, Modified: mod})
	if err != nil {
		return 0, fmt.Errorf("account: export %s: %w", name, err)
	}
	rows, err := tx.Query(ctx, sql, user)
	if err != nil {
		return 0, fmt.Errorf("account: export %s: %w", name, err)
	}
	defer rows.Close()
	n := 0
	var row []byte
	for rows.Next() {
		if err := rows.Scan(&row); err != nil {
			return 0, fmt.Errorf("account: export %s: %w", name, err)
		}
		sep := ",\n"
		if n == 0 {
			sep = "[\n"
		}
		if _, err := io.WriteString(f, sep); err != nil {
			return 0, fmt.Errorf("account: export %s: %w", name, err)
		}
		if _, err := f.Write(row); err != nil {
			return 0, fmt.Errorf("account: export %s: %w", name, err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("account: export %s: %w", name, err)
	}
	end := "\n]\n"
	if n == 0 {
		end = "[]\n"
	}
	if _, err := io.WriteString(f, end); err != nil {
		return 0, fmt.Errorf("account: export %s: %w", name, err)
	}
	return n, nil
}

// Delete erases the user: every row in the user tables and the auth user.
// Erasing a user who is already gone returns nil.
func (s *Service) Delete(ctx context.Context, user uuid.UUID) error {
	var (
		counts map[string]int64 // before, for the log
		swept  map[string]int64
		via    string
	)
	if s.Admin == nil {
		via = "database"
		err := pgx.BeginTxFunc(ctx, s.DB, pgx.TxOptions{}, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, qLockAuthUser, user); err != nil {
				return fmt.Errorf("account: delete: lock auth user: %w", err)
			}
			var err error
			if counts, err = userRows(ctx, tx, user); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, qDeleteAuthUser, user); err != nil {
				return fmt.Errorf("account: delete: auth user: %w", err)
			}
			swept, err = sweep(ctx, tx, user)
			return err
		})
		if err != nil {
			return err
		}
	} else {
		via = "gotrue"
		// GoTrue deletes auth.users in its own transaction; a failed admin call leaves the user's
		// rows in place and a retry finishes.
		var err error
		if counts, err = userRows(ctx, s.DB, user); err != nil {
			return err
		}
		if err := s.Admin.DeleteUser(ctx, user); err != nil {
			return fmt.Errorf("account: delete: auth user: %w", err)
		}
		err = pgx.BeginTxFunc(ctx, s.DB, pgx.TxOptions{}, func(tx pgx.Tx) error {
			var err error
			swept, err = sweep(ctx, tx, user)
			return err
		})
		if err != nil {
			return err
		}
	}
	if len(swept) > 0 {
		s.log().WarnContext(ctx, "account erasure: rows without a cascade to auth.users", "user_id", user, "tables", swept)
	}
	if err := s.verify(ctx, user); err != nil {
		return err
	}

	var total int64
	erased := map[string]int64{}
	for name, n := range counts {
		if n > 0 {
			erased[name] = n
			total += n
		}
	}
	s.log().InfoContext(ctx, "account erased", "user_id", user, "via", via, "rows", total, "tables", erased)
	return nil
}

// userRows counts the user's rows in every user table.
func userRows(ctx context.Context, q db, user uuid.UUID) (map[string]int64, error) {
	tables, err := userTables(ctx, q)
	if err != nil {
		return nil, err
	}
	return countRows(ctx, q, tables, user)
}

// sweep deletes whatever rows of the user the cascade did not reach (a user table without the
// foreign key to auth.users) and returns them by table.
func sweep(ctx context.Context, tx pgx.Tx, user uuid.UUID) (map[string]int64, error) {
	tables, err := userTables(ctx, tx)
	if err != nil {
		return nil, err
	}
	swept := map[string]int64{}
	for _, t := range tables {
		tag, err := tx.Exec(ctx, t.deleteRows(), user)
		if err != nil {
			return nil, fmt.Errorf("account: delete: rows of %s: %w", t, err)
		}
		if n := tag.RowsAffected(); n > 0 {
			swept[t.String()] = n
		}
	}
	return swept, nil
}

// verify reads the catalog again and fails, naming the tables, if any row of the user remains.
func (s *Service) verify(ctx context.Context, user uuid.UUID) error {
	tables, err := userTables(ctx, s.DB)
	if err != nil {
		return err
	}
	counts, err := countRows(ctx, s.DB, tables, user)
	if err != nil {
		return err
	}
	var auth int64
	if err := s.DB.QueryRow(ctx, qCountAuthUser, user).Scan(&auth); err != nil {
		return fmt.Errorf("account: verify erasure: auth.users: %w", err)
	}
	counts["auth.users"] = auth
	var left []string
	for name, n := range counts {
		if n > 0 {
			left = append(left, fmt.Sprintf("%s (%d)", name, n))
		}
	}
	if len(left) > 0 {
		sort.Strings(left)
		return fmt.Errorf("account: erasure of %s incomplete: rows remain in %s", user, strings.Join(left, ", "))
	}
	return nil
}
