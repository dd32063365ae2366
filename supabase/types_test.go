package supabase_test

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/flux-companion/flux/sql/pgtest"
)

var update = flag.Bool("update", false, "rewrite supabase/types/database.ts from the migrated schema (make types)")

const typesFile = "types/database.ts"

// TestGeneratedTypes: types/database.ts is what Supabase's own generator (postgres-meta, as
// `supabase gen types typescript` runs it, at the version the pinned CLI uses) makes of the
// migrated schema. `make types` rewrites it.
func TestGeneratedTypes(t *testing.T) {
	t.Parallel()
	url := pgtest.DB(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found: run `make setup`")
	}
	gen, err := filepath.Abs(filepath.Join("tools", "node_modules", "@supabase", "postgres-meta", "dist", "server", "server.js"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(gen); err != nil {
		t.Fatalf("postgres-meta is not installed (%v): run `make setup`", err)
	}
	cmd := exec.Command(node, gen)
	// The environment the CLI gives the generator for `gen types typescript --schema public`.
	cmd.Env = append(os.Environ(),
		"PG_META_DB_URL="+url,
		"PG_META_GENERATE_TYPES=typescript",
		"PG_META_GENERATE_TYPES_INCLUDED_SCHEMAS=public",
		"PG_META_GENERATE_TYPES_DETECT_ONE_TO_ONE_RELATIONSHIPS=true",
		"PG_CONN_TIMEOUT_SECS=30", "PG_QUERY_TIMEOUT_SECS=30")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("postgres-meta typegen: %v\n%s", err, stderr.String())
	}
	if len(got) < 1000 || !bytes.Contains(got, []byte("export type Database")) {
		t.Fatalf("postgres-meta typegen printed no types:\n%s\n%s", got, stderr.String())
	}
	if *update {
		if err := os.WriteFile(typesFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(typesFile)
	if err != nil {
		t.Fatalf("%v: run `make types`", err)
	}
	if d := pgtest.Diff(t, "supabase/"+typesFile, string(want), "generated", string(got)); d != "" {
		t.Fatalf("supabase/%s is stale: run `make types` and commit it\n%s", typesFile, d)
	}
}
