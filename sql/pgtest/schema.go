package pgtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flux-companion/flux/sql/localpg"
)

// Schema returns `pg_dump --schema-only` of the database at url (grants and owners included),
// with only what does not describe the schema removed: comments, blank lines, pg_dump's
// per-run \restrict key, and the order of its statements (sorted, so two databases that reached
// the same schema by different paths compare equal). extra is passed to pg_dump, e.g.
// "--exclude-table=flux.schema_migrations" to leave a migration tool's own history out.
func Schema(t testing.TB, url string, extra ...string) string {
	t.Helper()
	args := append([]string{"--schema-only", "--no-password", "--dbname", url}, extra...)
	cmd := exec.Command(filepath.Join(localpg.BinDir(), "pg_dump"), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, stderr.String())
	}
	return normalizeDump(string(out))
}

func normalizeDump(dump string) string {
	var blocks []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			blocks = append(blocks, strings.Join(cur, "\n"))
			cur = nil
		}
	}
	for _, line := range strings.Split(dump, "\n") {
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case strings.HasPrefix(line, "--"), strings.HasPrefix(line, `\restrict`), strings.HasPrefix(line, `\unrestrict`):
		default:
			cur = append(cur, line)
		}
	}
	flush()
	slices.Sort(blocks)
	return strings.Join(blocks, "\n\n") + "\n"
}

// Diff returns a unified diff of two texts (empty when they are equal), labelled with their
// names, from the system's diff(1).
func Diff(t testing.TB, nameA, a, nameB, b string) string {
	t.Helper()
	if a == b {
		return ""
	}
	dir := t.TempDir()
	pa, pb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := os.WriteFile(pa, []byte(a), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pb, []byte(b), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("diff", "-u", "--label", nameA, "--label", nameB, pa, pb).Output()
	if len(out) == 0 {
		t.Fatalf("diff: the schemas differ but diff(1) printed nothing: %v", err)
	}
	return string(out)
}
