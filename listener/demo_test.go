package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

// The demo is the newcomer's tour: it must tell the whole story, each step caused by the real
// parts (the listener fires the reminders, the webhook settles the task, SQL learns the pattern).
func TestDemoTellsTheWholeStory(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := runDemo(context.Background(), &out); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`Flux +Here is a 6-week plan for “Run a 5K”`),
		regexp.MustCompile(`Flux +Plan approved: “Run a 5K” is active with \d+ tasks`),
		regexp.MustCompile(`sms +Twilio Verify sends code \d{6} to \+4915123456789`),
		regexp.MustCompile(`Mon \d\d \w+ 07:20  push +Run 20 min, easy`),
		regexp.MustCompile(`07:32  whatsapp +template: Flux reminder: Run 20 min, easy \(due 07:30\)\. Did you do it\? \[Done\] \[Snooze\]`),
		regexp.MustCompile(`07:32  whatsapp +Maya: \[Snooze\]  →  reminded again at 07:42`),
		regexp.MustCompile(`07:42  push +Run 20 min, easy`),
		regexp.MustCompile(`07:44  whatsapp +Flux reminder: Run 20 min, easy.*Reply 1 done, 4 snooze`),
		regexp.MustCompile(`07:44  whatsapp +Maya: 1  →  done`),
		regexp.MustCompile(`07:34  call +voice call`),
		regexp.MustCompile(`07:36  auto-miss .*marked missed`),
		regexp.MustCompile(`pattern +Tasks on \w+days around 07:00 were missed 3 weeks in a row`),
		regexp.MustCompile(`overview +\{.*"streak"`),
		regexp.MustCompile(`missed +Fitness: 3 missed of \d+`),
	} {
		if !want.MatchString(text) {
			t.Errorf("the timeline lacks %s", want)
		}
	}
	if strings.Count(text, "auto-miss") != 3 {
		t.Errorf("want exactly the three ignored runs auto-missed:\n%s", text)
	}
	if t.Failed() {
		t.Logf("timeline:\n%s", text)
	}
}
