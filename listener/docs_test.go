package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/flux-companion/flux/listener/tracing"
)

// The README, .env.example and the usage text are a contract: every command, flag and
// environment variable they name exists, and everything that exists is named.

// commandFlags runs `flux <cmd> -h` and returns the flags the command really has.
func commandFlags(t *testing.T, cmd ...string) []string {
	t.Helper()
	var out, errOut bytes.Buffer
	run(context.Background(), append(cmd, "-h"), &out, &errOut)
	var flags []string
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z][a-z-]*)`).FindAllStringSubmatch(errOut.String(), -1) {
		flags = append(flags, m[1])
	}
	if len(flags) == 0 {
		t.Fatalf("flux %s -h lists no flags:\n%s", strings.Join(cmd, " "), errOut.String())
	}
	return flags
}

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// codeSpans is the text inside backticks and fenced blocks: where commands are written.
func codeSpans(md string) string {
	var b strings.Builder
	for i, part := range strings.Split(md, "```") {
		if i%2 == 1 {
			b.WriteString(part + "\n")
			continue
		}
		for j, s := range strings.Split(part, "`") {
			if j%2 == 1 {
				b.WriteString(s + "\n")
			}
		}
	}
	return b.String()
}

func TestCommandsAndFlagsAreDocumented(t *testing.T) {
	t.Parallel()
	commands := map[string][]string{ // command line -> real flags
		"migrate": commandFlags(t, "migrate"), "listen": commandFlags(t, "listen"), "dev": commandFlags(t, "dev"),
		"chat": commandFlags(t, "chat"), "bench escalation": commandFlags(t, "bench", "escalation"),
		"bench chat": commandFlags(t, "bench", "chat"), "bench surface": commandFlags(t, "bench", "surface"),
		"bench nlu": commandFlags(t, "bench", "nlu"),
		"demo":      nil, "vapid": nil,
	}
	// Every command in the usage text, and every flag it writes for it, is real, and the
	// reverse.
	usageLines := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^  flux ([a-z]+(?: [a-z]+)?)(.*)$`).FindAllStringSubmatch(usage, -1) {
		name := m[1]
		if _, ok := commands[name]; !ok {
			name = strings.Fields(m[1])[0] // "flux demo" followed by nothing
		}
		usageLines[name] = m[2]
	}
	for name, flags := range commands {
		line, ok := usageLines[name]
		if !ok {
			t.Errorf("usage does not show flux %s", name)
			continue
		}
		written := regexp.MustCompile(`--([a-z][a-z-]*)`).FindAllStringSubmatch(line, -1)
		var got []string
		for _, w := range written {
			got = append(got, w[1])
		}
		sort.Strings(got)
		want := slices.Sorted(slices.Values(flags))
		if !slices.Equal(got, want) {
			t.Errorf("usage shows flux %s with flags %v; it has %v", name, got, want)
		}
	}
	for name := range usageLines {
		if _, ok := commands[name]; !ok {
			t.Errorf("usage shows flux %s, which this test does not know: add it", name)
		}
	}
	// Every `flux <command> --flag` the README and the banner write exists, and every command
	// appears in the README.
	readme := codeSpans(readRepoFile(t, "README.md"))
	for _, doc := range []struct{ name, text string }{{"README.md", readme}, {"the flux dev banner", devBanner}} {
		for _, m := range regexp.MustCompile(`(?m)(?:^|[\s/])flux ([a-z]+)((?: [a-z]+)?)([^\n|;&]*)`).FindAllStringSubmatch(doc.text, -1) {
			name := m[1]
			if _, ok := commands[name+m[2]]; ok {
				name += m[2]
			}
			flags, ok := commands[name]
			if !ok {
				t.Errorf("%s writes `flux %s`, which is not a command", doc.name, m[1])
				continue
			}
			for _, f := range regexp.MustCompile(`--([a-z][a-z-]*)`).FindAllStringSubmatch(m[3], -1) {
				if !slices.Contains(flags, f[1]) {
					t.Errorf("%s writes `flux %s --%s`; flux %s has no such flag", doc.name, name, f[1], name)
				}
			}
		}
	}
	for name := range commands {
		if !strings.Contains(readme, "flux "+name) {
			t.Errorf("README.md never shows `flux %s`", name)
		}
	}
}

// envRead is every environment variable the Go code reads, found in the source.
func envRead(t *testing.T) map[string]bool {
	t.Helper()
	re := regexp.MustCompile(`(?:Getenv|getenv|envOr|intEnv|durationEnv)\((?:getenv, )?"([A-Z][A-Z0-9_]+)"`)
	vars := map[string]bool{}
	for _, dir := range []string{".", "../sql", "../agentsvc"} {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir // tools of the tests, not the product
			}
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			b, err := os.ReadFile(path)
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				vars[m[1]] = true
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(vars) < 20 {
		t.Fatalf("found only %d environment variables in the source: %v", len(vars), vars)
	}
	for _, v := range tracing.Variables { // OpenTelemetry's, read by its exporter and SDK too
		vars[v] = true
	}
	return vars
}

func TestEnvironmentIsDocumented(t *testing.T) {
	t.Parallel()
	code := envRead(t)
	example := map[string]bool{}
	for _, line := range strings.Split(readRepoFile(t, ".env.example"), "\n") {
		m := regexp.MustCompile(`^(#\s?)?([A-Z][A-Z0-9_]+)=(.*)$`).FindStringSubmatch(line)
		if m == nil {
			continue
		}
		example[m[2]] = true
		// Safe to pass to the container: only empty settings are live.
		if m[1] == "" && m[3] != "" {
			t.Errorf(".env.example sets %s=%s live; write examples and defaults as comments", m[2], m[3])
		}
	}
	for v := range code {
		// TZ is the system's own variable, read only by `flux chat --new-user`; the README
		// names it. It is not something to configure for the service.
		if !example[v] && v != "TZ" {
			t.Errorf("the code reads %s, which .env.example does not list", v)
		}
	}
	for v := range example {
		if !code[v] {
			t.Errorf(".env.example lists %s, which nothing reads", v)
		}
	}
	readme := readRepoFile(t, "README.md")
	prefix := regexp.MustCompile(`\b((?:FLUX|TWILIO|VAPID|OPENROUTER|SUPABASE|OTEL)_[A-Z0-9_]*[A-Z0-9]|DATABASE_URL)\b`)
	for _, m := range prefix.FindAllStringSubmatch(readme, -1) {
		if !code[m[1]] {
			t.Errorf("README.md names %s, which nothing reads", m[1])
		}
	}
	for v := range code {
		if !strings.Contains(readme, v) {
			t.Errorf("README.md never names %s", v)
		}
	}
}
