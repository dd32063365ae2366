package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The chat benchmark on a small load: every turn is measured, and a plan turn costs the
// orchestrator, the classifier and the planner (the number the benchmark reports).
func TestRunChat(t *testing.T) {
	var out bytes.Buffer
	res, err := RunChat(context.Background(), ChatConfig{Users: 3, Out: &out})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if res.Turns != 3*len(chatScript) || res.CallsPerPlan != 3 {
		t.Fatalf("%d turns, %.1f calls per plan turn; want %d and 3\n%s", res.Turns, res.CallsPerPlan, 3*len(chatScript), out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "chat: insert-to-reply p50 ") || !strings.HasSuffix(last, ", 3 LLM calls per plan turn") {
		t.Errorf("last line %q", last)
	}
}
