// Package ts_test keeps the code samples of docs/api.md taken from the typed reference client in
// clients/ts/src, which `npm run typecheck` checks against the generated schema types.
package ts_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type sample struct {
	line int    // of the opening fence in api.md, 1-based
	lang string // the fence's info string
	text string // the block, without the fence's indentation and surrounding blank lines
}

// samples returns the fenced code blocks of a Markdown file.
func samples(doc string) []sample {
	var out []sample
	var cur *sample
	var indent string
	var body []string
	for i, line := range strings.Split(doc, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		if cur == nil {
			if strings.HasPrefix(trimmed, "```") {
				lang, _, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(trimmed, "```")), " ")
				cur = &sample{line: i + 1, lang: lang}
				indent, body = line[:len(line)-len(trimmed)], nil
			}
			continue
		}
		if strings.TrimSpace(line) == "```" {
			cur.text = strings.Trim(strings.Join(body, "\n"), "\n")
			out = append(out, *cur)
			cur = nil
			continue
		}
		// A block inside a list item is indented like its fence; that indentation is Markdown's.
		body = append(body, strings.TrimPrefix(line, indent))
	}
	return out
}

func TestAPISamplesComeFromTheClient(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	var sources []string
	err = filepath.WalkDir("src", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".ts") {
			return err
		}
		b, err := os.ReadFile(path)
		sources = append(sources, string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	n := 0
	for _, s := range samples(string(doc)) {
		switch s.lang {
		case "js", "javascript":
			t.Errorf("docs/api.md:%d: a ```%s block; samples are ```ts, taken from clients/ts/src", s.line, s.lang)
		case "ts", "typescript":
			n++
			if s.text == "" || !containedIn(s.text, sources) {
				first, _, _ := strings.Cut(s.text, "\n")
				t.Errorf("docs/api.md:%d: the sample starting %q is not verbatim in clients/ts/src/*.ts: copy it from there", s.line, first)
			}
		}
	}
	if n == 0 {
		t.Error("docs/api.md has no ```ts sample")
	}
}

func containedIn(text string, sources []string) bool {
	for _, src := range sources {
		if strings.Contains(src, text) {
			return true
		}
	}
	return false
}
