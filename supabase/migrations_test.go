package supabase_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/flux-companion/flux/sql/migrate"
	"github.com/flux-companion/flux/sql/pgtest"
	"github.com/flux-companion/flux/supabase"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// released reads released-migrations.sha256 (sha256sum's format, so `sha256sum -c` checks it
// too): file name -> SHA-256.
func released(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("released-migrations.sha256")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 || !strings.HasPrefix(name, "migrations/") {
			t.Fatalf("released-migrations.sha256:%d: want \"<sha256>  migrations/<file>\", got %q", n, sc.Text())
		}
		sums[strings.TrimPrefix(name, "migrations/")] = sum
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sums
}

// TestReleasedMigrationsNeverChange: golang-migrate and `supabase db push` skip a version a
// database already has, so an edit to a released migration never reaches a deployed database.
// Every migration in the tree is released (main is what gets deployed); a change to the schema
// is a new file, added to released-migrations.sha256 with `make release-migrations`.
func TestReleasedMigrationsNeverChange(t *testing.T) {
	t.Parallel()
	sums := released(t)
	entries, err := supabase.Migrations.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	inTree := map[string]bool{}
	for _, e := range entries {
		inTree[e.Name()] = true
		body, err := supabase.Migrations.ReadFile("migrations/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(body)
		want, ok := sums[e.Name()]
		switch {
		case !ok:
			t.Errorf("supabase/migrations/%s is not in supabase/released-migrations.sha256: run `make release-migrations` once it is final", e.Name())
		case hex.EncodeToString(sum[:]) != want:
			t.Errorf("supabase/migrations/%s changed after its release (sha256 %s, released %s): deployed databases will never run the change; restore the file and put the change in a new migration", e.Name(), hex.EncodeToString(sum[:]), want)
		}
	}
	for name := range sums {
		if !inTree[name] {
			t.Errorf("supabase/migrations/%s was released and is gone: deployed databases have it; restore it", name)
		}
	}
	baseline := false
	for name := range sums {
		baseline = baseline || strings.HasPrefix(name, strconv.Itoa(supabase.Baseline)+"_")
	}
	if !baseline {
		t.Errorf("the baseline migration %d is not among the released ones", supabase.Baseline)
	}
}

// TestUpgradeFromBaseline: a database deployed at the baseline, with users' data in it, reaches
// through the newer migrations exactly the schema a fresh install gets.
func TestUpgradeFromBaseline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	upgraded := pgtest.EmptyDB(t)
	if v, err := migrate.Up(ctx, upgraded, migrate.Options{Local: true, Logger: quiet, Version: supabase.Baseline}); err != nil || v != supabase.Baseline {
		t.Fatalf("apply the baseline: version %d, %v", v, err)
	}
	// The seed as it was released with the baseline: data of the baseline's shape.
	seed, err := os.ReadFile("testdata/baseline-seed.sql")
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate.Seed(ctx, upgraded, string(seed)); err != nil {
		t.Fatalf("seed the baseline: %v", err)
	}
	if _, err := migrate.Up(ctx, upgraded, migrate.Options{Local: true, Logger: quiet}); err != nil {
		t.Fatalf("upgrade from the baseline: %v", err)
	}

	fresh := pgtest.EmptyDB(t)
	if _, err := migrate.Up(ctx, fresh, migrate.Options{Local: true, Logger: quiet}); err != nil {
		t.Fatalf("fresh install: %v", err)
	}

	if d := pgtest.Diff(t, "fresh", pgtest.Schema(t, fresh), "upgraded", pgtest.Schema(t, upgraded)); d != "" {
		t.Fatalf("the upgraded schema differs from a fresh install:\n%s", d)
	}
}

// TestDefinersAreDocumented: docs/foundation.md says, for every SECURITY DEFINER function
// authenticated may call (the advisor's authenticated_security_definer_function_executable
// warnings), why it must be one; a new definer needs its line there.
func TestDefinersAreDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/foundation.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if rest, ok := strings.CutPrefix(line, "| `public."); ok {
			if name, _, ok := strings.Cut(rest, "`"); ok {
				documented["public."+name] = true
			}
		}
	}
	conn, err := pgx.Connect(context.Background(), pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), `
		select 'public.' || p.proname || '(' || replace(oidvectortypes(p.proargtypes), 'timestamp with time zone', 'timestamptz') || ')'
		from pg_proc p
		where p.pronamespace = 'public'::regnamespace and p.prosecdef
		  and has_function_privilege('authenticated', p.oid, 'execute')`)
	if err != nil {
		t.Fatal(err)
	}
	definers, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(definers) == 0 {
		t.Fatal("no SECURITY DEFINER RPC found: the query is wrong")
	}
	for _, f := range definers {
		if !documented[f] {
			t.Errorf("%s is a SECURITY DEFINER function authenticated may call, and docs/foundation.md does not say why it must be one", f)
		}
		delete(documented, f)
	}
	for f := range documented {
		t.Errorf("docs/foundation.md lists %s as a definer RPC, and the schema has no such function executable by authenticated", f)
	}
}
