package account

import (
	"archive/zip"
	"cmp"
	"context"
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
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flux-companion/flux/sql/store"
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

func (s *Service) log() *slog.Logger { return cmp.Or(s.Log, slog.Default()) }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
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
	st := store.New(tx)
	exists, err := st.UserExists(ctx, user)
	if err != nil {
		return Manifest{}, fmt.Errorf("account: export: %w", err)
	}
	if !exists {
		return Manifest{}, ErrNotFound
	}
	tables, err := st.UserTables(ctx)
	if err != nil {
		return Manifest{}, err
	}

	m := Manifest{UserID: user, ExportedAt: s.now().UTC(), Tables: map[string]int{}}
	zw := zip.NewWriter(w)
	for _, t := range tables {
		n, err := writeRows(ctx, st, zw, t, m.ExportedAt, user)
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

// writeRows streams the user's rows of t into <t>.json as a JSON array, one row per line.
func writeRows(ctx context.Context, st *store.Store, zw *zip.Writer, t store.UserTable, mod time.Time, user uuid.UUID) (int, error) {
	f, err := zw.CreateHeader(&zip.FileHeader{Name: t.String() + ".json", Method: zip.Deflate, Modified: mod})
	if err != nil {
		return 0, fmt.Errorf("account: export %s: %w", t, err)
	}
	n := 0
	err = st.EachUserRow(ctx, t, user, func(row []byte) error {
		sep := ",\n"
		if n == 0 {
			sep = "[\n"
		}
		n++
		if _, err := io.WriteString(f, sep); err != nil {
			return err
		}
		_, err := f.Write(row)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("account: export %s: %w", t, err)
	}
	end := "\n]\n"
	if n == 0 {
		end = "[]\n"
	}
	if _, err := io.WriteString(f, end); err != nil {
		return 0, fmt.Errorf("account: export %s: %w", t, err)
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
			st := store.New(tx)
			if err := st.LockAuthUser(ctx, user); err != nil {
				return fmt.Errorf("account: delete: %w", err)
			}
			var err error
			if counts, err = userRows(ctx, st, user); err != nil {
				return err
			}
			if err := st.DeleteAuthUser(ctx, user); err != nil {
				return fmt.Errorf("account: delete: %w", err)
			}
			swept, err = sweep(ctx, st, user)
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
		if counts, err = userRows(ctx, store.New(s.DB), user); err != nil {
			return err
		}
		if err := s.Admin.DeleteUser(ctx, user); err != nil {
			return fmt.Errorf("account: delete: auth user: %w", err)
		}
		err = pgx.BeginTxFunc(ctx, s.DB, pgx.TxOptions{}, func(tx pgx.Tx) error {
			var err error
			swept, err = sweep(ctx, store.New(tx), user)
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
func userRows(ctx context.Context, st *store.Store, user uuid.UUID) (map[string]int64, error) {
	tables, err := st.UserTables(ctx)
	if err != nil {
		return nil, err
	}
	return st.CountUserRows(ctx, tables, user)
}

// sweep deletes whatever rows of the user the cascade did not reach (a user table without the
// foreign key to auth.users) and returns them by table.
func sweep(ctx context.Context, st *store.Store, user uuid.UUID) (map[string]int64, error) {
	tables, err := st.UserTables(ctx)
	if err != nil {
		return nil, err
	}
	return st.DeleteUserRows(ctx, tables, user)
}

// verify reads the catalog again and fails, naming the tables, if any row of the user remains.
func (s *Service) verify(ctx context.Context, user uuid.UUID) error {
	st := store.New(s.DB)
	counts, err := userRows(ctx, st, user)
	if err != nil {
		return err
	}
	if counts["auth.users"], err = st.CountAuthUser(ctx, user); err != nil {
		return fmt.Errorf("account: verify erasure: %w", err)
	}
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
