package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/flux-companion/flux/agentsvc/agentrun"
	"github.com/flux-companion/flux/agentsvc/llm"
)

// The summarizer's window (docs/product.md): past 20 messages or 8,000 tokens since the last summary,
// the older half becomes one summary message. The history a turn reads starts at the latest
// summary, so after one the window is small again and nothing is re-summarized every turn.
const (
	SummaryMessages = 20
	SummaryTokens   = 8000
)

type summary struct {
	Summary string `json:"summary"`
}

// summarize writes a summary message when the conversation has outgrown its window. It runs
// alongside the rest of the turn; when it fails, the turn goes on without it (the history a
// turn reads is bounded anyway) and the next turn tries again.
func (t *turn) summarize(ctx context.Context) {
	var previous string
	msgs := t.in.History
	if len(msgs) > 0 && msgs[0].Role == "summary" {
		previous, msgs = msgs[0].Content, msgs[1:]
	}
	tokens := 0
	for _, m := range msgs {
		tokens += estimateTokens(m.Content)
	}
	if len(msgs) <= SummaryMessages && tokens <= SummaryTokens {
		return
	}
	// The older half, cut between two instants: replies of one turn share their time.
	cut := len(msgs) / 2
	for cut < len(msgs) && msgs[cut].At.Equal(msgs[cut-1].At) {
		cut++
	}
	if cut == len(msgs) {
		return
	}
	older := make([]map[string]string, 0, cut)
	for _, m := range msgs[:cut] {
		older = append(older, map[string]string{"role": m.Role, "content": m.Content})
	}
	s, _, err := ask(ctx, t, "summarizer", llm.Summarizer, summarizerPrompt,
		map[string]any{"previous_summary": previous, "messages": older},
		func(s *summary) error {
			if n := len([]rune(strings.TrimSpace(s.Summary))); n == 0 || n > 2000 {
				return fmt.Errorf("summary: %d characters, want 1 to 2000", n)
			}
			return nil
		})
	if err != nil {
		t.log.WarnContext(ctx, "summarizer failed; the conversation stays unsummarized this turn", "error", err)
		return
	}
	meta, _ := json.Marshal(map[string]any{"kept_from": msgs[cut].At.UTC().Format(time.RFC3339Nano), "summarized": cut})
	t.mu.Lock()
	t.out.Replies = append(t.out.Replies, agentrun.Reply{Role: "summary", Content: strings.TrimSpace(s.Summary), Node: "summarizer", Metadata: meta})
	t.mu.Unlock()
}

// estimateTokens is the usual four characters a token: the window rule needs no tokenizer.
func estimateTokens(s string) int { return (len(s) + 3) / 4 }
