package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// The escalation benchmark on a small load, with the fake Twilio and without a provider: every
// rung of the throughput phase is counted, every steady-state rung is sent and recorded once,
// and the last line is the one the README promises.
func TestRunEscalation(t *testing.T) {
	for _, tc := range []struct {
		name       string
		noProvider bool
		label      string
		messages   int
	}{
		{"fake twilio", false, "escalation: ", 300 + 50},
		{"no provider", true, "escalation (no provider): ", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			cfg := Config{Tasks: 300, Users: 20, Rate: 50, Duration: time.Second, Workers: 8, NoProvider: tc.noProvider, Out: &out}
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			if res.Steps != 2*cfg.Tasks || res.Samples != cfg.Rate || res.Messages != tc.messages {
				t.Fatalf("%d steps, %d steady sends, %d messages at the fake Twilio; want %d, %d and %d\n%s",
					res.Steps, res.Samples, res.Messages, 2*cfg.Tasks, cfg.Rate, tc.messages, out.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, tc.label) || !strings.Contains(last, " steps/s, due-to-dispatch p50 ") {
				t.Errorf("last line %q", last)
			}
		})
	}
}
