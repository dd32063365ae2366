// Package layout keeps the module's shape: the import directions the architecture promises
// (docs/architecture.md) and a tidy go.mod. Both are checked with the go command itself.
package layout

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const module = "github.com/flux-companion/flux/"

func root(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func goCmd(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = root(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}

// TestGoModIsTidy: go.mod lists what the code imports, direct dependencies as direct.
func TestGoModIsTidy(t *testing.T) {
	goCmd(t, "mod", "tidy", "-diff")
}

// TestImportDirections: the agents know nothing of the database or the listener, the contract
// between them is a leaf, and the database layer knows nothing of the listener.
func TestImportDirections(t *testing.T) {
	out := goCmd(t, "list", "-json=ImportPath,Deps", "./...")
	dec := json.NewDecoder(bytes.NewReader(out))
	rules := []struct {
		under     string   // packages at or below this path
		forbidden []string // may not depend on these prefixes, directly or not
	}{
		{"agentsvc/", []string{module + "sql/", module + "listener/", "github.com/jackc/pgx"}},
		{"agentsvc/agentrun", []string{module}},
		{"internal/", []string{module}},
		{"sql/", []string{module + "listener/"}},
	}
	checked := map[string]int{}
	for dec.More() {
		var p struct {
			ImportPath string
			Deps       []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(p.ImportPath, module)
		for _, r := range rules {
			if !strings.HasPrefix(rel+"/", r.under) && rel != r.under {
				continue
			}
			checked[r.under]++
			for _, d := range p.Deps {
				for _, f := range r.forbidden {
					if strings.HasPrefix(d, f) && !strings.HasPrefix(d, module+"internal/") {
						t.Errorf("%s depends on %s", rel, d)
					}
				}
			}
		}
	}
	for _, r := range rules {
		if checked[r.under] == 0 {
			t.Errorf("no package under %s: the rule checks nothing", r.under)
		}
	}
}

// TestReadmeNamesEveryPackage: the README's layout table names each package, so a reader finds
// where a thing lives (a package is named by its path, or by the rest of it in an ancestor's row).
func TestReadmeNamesEveryPackage(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(root(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{} // first cell without backticks and trailing slash -> the row
	for _, line := range strings.Split(string(readme), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		path := strings.Trim(strings.TrimSpace(cells[1]), "`/")
		rows[path] = line
	}
	if len(rows) < 5 {
		t.Fatalf("found %d layout rows in README.md", len(rows))
	}
	for _, pkg := range strings.Fields(string(goCmd(t, "list", "-e", "-f", "{{.ImportPath}}", "./..."))) {
		rel := strings.TrimPrefix(pkg, module)
		if _, ok := rows[rel]; ok {
			continue
		}
		if !namedUnder(rows, rel) {
			t.Errorf("README.md's layout table does not name %s", rel)
		}
	}
}

// namedUnder: an ancestor's row names the rest of the path (listener's row names `feed`, or
// `tracing/tracingtest`).
func namedUnder(rows map[string]string, rel string) bool {
	for dir := filepath.Dir(rel); dir != "."; dir = filepath.Dir(dir) {
		if row, ok := rows[dir]; ok && strings.Contains(row, "`"+strings.TrimPrefix(rel, dir+"/")+"`") {
			return true
		}
	}
	return false
}
