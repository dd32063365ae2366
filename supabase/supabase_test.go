package supabase_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/flux-companion/flux/sql/migrate"
	"github.com/flux-companion/flux/sql/pgtest"
	"github.com/flux-companion/flux/supabase"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestPgTAP runs the pgTAP suite in tests/ with pg_prove on a migrated, seeded database: the
// same files `supabase test db` runs against a Supabase project's local stack.
func TestPgTAP(t *testing.T) {
	t.Parallel()
	url := pgtest.DB(t)
	if err := migrate.Seed(context.Background(), url, supabase.Seed); err != nil {
		t.Fatalf("seed: %v", err)
	}
	files, err := filepath.Glob("tests/*.sql")
	if err != nil || len(files) < 2 {
		t.Fatalf("pgTAP files: %v (found %d)", err, len(files))
	}
	prove(t, url, files...)
}

// prove runs pgTAP files with pg_prove, in name order (the first installs the helpers the
// others use).
func prove(t *testing.T, url string, files ...string) {
	t.Helper()
	pgProve, err := exec.LookPath("pg_prove")
	if err != nil {
		t.Fatal("pg_prove not found: run `make setup` (Debian package libtap-parser-sourcehandler-pgtap-perl)")
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--verbose", "--failures", "--ext", ".sql"}, files...)
	cmd := exec.Command(pgProve, args...)
	cmd.Env = append(os.Environ(),
		"PGHOST="+cfg.Host, "PGPORT="+strconv.Itoa(int(cfg.Port)), "PGUSER="+cfg.User,
		"PGDATABASE="+cfg.Database, "PGPASSWORD="+cfg.Password)
	out, err := cmd.CombinedOutput()
	if err != nil || testing.Verbose() {
		t.Logf("pg_prove output:\n%s", out)
	}
	if err != nil {
		t.Fatalf("pg_prove: %v", err)
	}
}

// TestMigrationNames checks the file layout both golang-migrate and `supabase db push` read.
func TestMigrationNames(t *testing.T) {
	t.Parallel()
	entries, err := supabase.Migrations.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("no migrations embedded")
	}
	valid := regexp.MustCompile(`^[0-9]{14}_[a-z0-9_]+\.up\.sql$`)
	for _, e := range entries {
		if !valid.MatchString(e.Name()) {
			t.Errorf("migration %q: want <14-digit timestamp>_<name>.up.sql (and no down files)", e.Name())
		}
	}
}
