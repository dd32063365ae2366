package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flux-companion/flux/internal/testwait"
)

// tour runs every command the banner of flux dev prints, as a newcomer would paste them, with
// this test binary standing in for bin/flux, and checks that each does what the banner says.
// printed returns what flux dev printed so far (the banner, then the fakes' traffic).
func tour(t *testing.T, printed func() string, url, alex string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	wrapper := "#!/bin/sh\nFLUX_TEST_AS_FLUX=1 exec '" + self + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "bin", "flux"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	banner := printed()
	start, end := strings.Index(banner, "Things to try"), strings.Index(banner, "Press Ctrl-C")
	if start < 0 || end < start {
		t.Fatalf("no commands in the banner:\n%s", banner)
	}
	var cmds []string
	var checkCmd string
	for _, line := range strings.Split(banner[start:end], "\n")[1:] {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "#   then: "):
			checkCmd = strings.TrimPrefix(line, "#   then: ")
		case line == "", strings.HasPrefix(line, "#"), strings.HasPrefix(line, "export "):
		default:
			cmds = append(cmds, line)
		}
	}
	sh := func(cmd, stdin string) string {
		t.Helper()
		c := exec.Command("bash", "-c", cmd)
		c.Dir = dir
		c.Env = append(os.Environ(), "ALEX="+alex, "DATABASE_URL="+url)
		c.Stdin = strings.NewReader(stdin)
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		return string(out)
	}
	waitPrinted := func(what, re string) []string {
		t.Helper()
		var m []string
		if !testwait.Until(30*time.Second, func() bool { m = regexp.MustCompile(re).FindStringSubmatch(printed()); return m != nil }) {
			t.Fatalf("flux dev printed no %s:\n%s", what, printed())
		}
		return m
	}

	expect := func(cmd, stdin, want string) {
		t.Helper()
		if out := sh(cmd, stdin); !strings.Contains(out, want) {
			t.Errorf("%s printed no %q:\n%s", cmd, want, out)
		}
	}

	seen := map[string]bool{}
	for _, cmd := range cmds {
		switch {
		case cmd == "bin/flux demo":
			expect(cmd, "", "== Sign-up and onboarding")
		case cmd == "bin/flux chat":
			expect(cmd, "what's on today?\n\n", "flux: ") // a reply
		case cmd == "bin/flux chat --new-user":
			expect(cmd, "hi\n\n", "What should I call you?") // onboarding
		case strings.Contains(cmd, "set_time_warp"):
			// Each run is one rung of Alex's next reminder, printed as it goes out.
			sh(cmd, "")
			waitPrinted("push message", `(?m)^push    "`)
			sh(cmd, "")
			waitPrinted("WhatsApp reminder", `(?m)^twilio  WhatsApp to \+447700900123: Flux reminder`)
			sh(cmd, "")
			waitPrinted("call", `(?m)^twilio  call to \+447700900123`)
		case strings.HasPrefix(cmd, "psql "):
			expect(cmd, "", "analytics_overview")
		case strings.Contains(cmd, "/v1/phone/verification"):
			sh(cmd, "")
			code := waitPrinted("Verify code", `(?m)^twilio  Verify code (\d{6}) sent to \+447700900124 by sms`)[1]
			if checkCmd == "" {
				t.Fatal("the banner does not say how to confirm the code")
			}
			if out := sh(strings.Replace(checkCmd, "<the code>", code, 1), ""); !strings.Contains(out, `"verified":true`) && !strings.Contains(out, `"phone_verified":true`) {
				t.Errorf("confirming the printed code: %s", out)
			}
		case strings.Contains(cmd, "/v1/push/vapid-public-key"):
			expect(cmd, "", "public_key")
		case strings.Contains(cmd, "/v1/account/export"):
			sh(cmd, "")
			if fi, err := os.Stat(filepath.Join(dir, "alex-export.zip")); err != nil || fi.Size() == 0 {
				t.Errorf("%s wrote no export: %v", cmd, err)
			}
		case strings.HasSuffix(cmd, "/readyz"):
			expect(cmd, "", "ready")
		default:
			t.Errorf("the banner prints a command the tour does not check: %s", cmd)
		}
		seen[cmd] = true
	}
	t.Logf("ran %d commands; flux dev printed:\n%s", len(seen), printed()[strings.Index(printed(), "Press Ctrl-C"):])
	if len(seen) < 9 {
		t.Errorf("only %d commands in the banner:\n%s", len(seen), banner)
	}
}
