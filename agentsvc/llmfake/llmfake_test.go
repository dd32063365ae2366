package llmfake_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flux-companion/flux/agentsvc/llmfake"
	"github.com/flux-companion/flux/internal/testwait"
)

func setup(t *testing.T) *llmfake.Server {
	t.Helper()
	s, err := llmfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// post sends body to the chat-completions endpoint and decodes the JSON answer.
func post(t *testing.T, client *http.Client, url, auth, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer %q is not JSON: %v", raw, err)
	}
	return resp, out
}

const minimal = `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`

// send posts the minimal request with a key and no test-bound context, for
// requests that are meant to be cut short.
func send(client *http.Client, url string) error {
	req, err := http.NewRequest(http.MethodPost, url+"/chat/completions", bytes.NewBufferString(minimal))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer k")
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return err
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	s := setup(t)
	s.Push(llmfake.Reply{Content: `{"ok":true}`, PromptTokens: 21, CompletionTokens: 4})
	body := `{"model":"openai/gpt-4o","max_tokens":512,"temperature":0.2,
		"response_format":{"type":"json_object"},
		"messages":[{"role":"system","content":"be brief"},
		            {"role":"user","content":[{"type":"text","text":"hello "},{"type":"text","text":"there"}]}]}`

	resp, got := post(t, http.DefaultClient, s.URL()+"/chat/completions", "Bearer k", body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	id, _ := got["id"].(string)
	if !strings.HasPrefix(id, "gen-") || got["object"] != "chat.completion" || got["model"] != "openai/gpt-4o" || got["created"].(float64) <= 0 {
		t.Errorf("completion = %v, want id gen-…, object chat.completion, the request's model, created", got)
	}
	choice := got["choices"].([]any)[0].(map[string]any)
	msg := choice["message"].(map[string]any)
	if msg["role"] != "assistant" || msg["content"] != `{"ok":true}` || choice["finish_reason"] != "stop" {
		t.Errorf("choice = %v, want the scripted assistant message, finish_reason stop", choice)
	}
	usage := got["usage"].(map[string]any)
	if usage["prompt_tokens"] != 21.0 || usage["completion_tokens"] != 4.0 || usage["total_tokens"] != 25.0 {
		t.Errorf("usage = %v, want 21 + 4 = 25", usage)
	}

	reqs := s.Requests()
	if len(reqs) != 1 {
		t.Fatalf("recorded %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Model != "openai/gpt-4o" || r.MaxTokens != 512 || r.Temperature == nil || *r.Temperature != 0.2 ||
		string(r.ResponseFormat) != `{"type":"json_object"}` || r.Headers.Get("Authorization") != "Bearer k" {
		t.Errorf("recorded %+v", r)
	}
	if r.Last("user") != "hello there" || r.Last("system") != "be brief" || r.Last("assistant") != "" {
		t.Errorf("messages = %+v, want text parts joined", r.Messages)
	}
	if r.Status != http.StatusOK || r.Time.IsZero() || r.End.Before(r.Time) {
		t.Errorf("status %d, time %v, end %v", r.Status, r.Time, r.End)
	}
}

func TestEstimatesUsageWhenUnscripted(t *testing.T) {
	t.Parallel()
	s := setup(t)
	s.Push(llmfake.Reply{Content: "{}"})
	_, got := post(t, http.DefaultClient, s.URL()+"/chat/completions", "Bearer k", minimal)
	if usage := got["usage"].(map[string]any); usage["prompt_tokens"].(float64) < 1 || usage["completion_tokens"].(float64) < 1 {
		t.Errorf("usage = %v, want estimated non-zero counts", usage)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		reply      llmfake.Reply
		typ        string
		message    string
		retryAfter string
	}{
		{"rate limited", llmfake.Reply{Status: 429}, "rate_limit_exceeded", "Too Many Requests", "1"},
		{"unavailable", llmfake.Reply{Status: 503, RetryAfter: 1500 * time.Millisecond}, "server_error", "Service Unavailable", "2"},
		{"bad request", llmfake.Reply{Status: 400, Content: "max_tokens too large"}, "invalid_request_error", "max_tokens too large", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := setup(t)
			s.Push(tt.reply)
			resp, got := post(t, http.DefaultClient, s.URL()+"/chat/completions", "Bearer k", minimal)
			if resp.StatusCode != tt.reply.Status || resp.Header.Get("Retry-After") != tt.retryAfter {
				t.Errorf("status %d Retry-After %q, want %d %q", resp.StatusCode, resp.Header.Get("Retry-After"), tt.reply.Status, tt.retryAfter)
			}
			e, _ := got["error"].(map[string]any)
			if e["message"] != tt.message || e["type"] != tt.typ || e["code"] != float64(tt.reply.Status) {
				t.Errorf("error = %v, want message %q type %q code %d", got, tt.message, tt.typ, tt.reply.Status)
			}
		})
	}
}

func TestQueueThenScriptThenUnscripted(t *testing.T) {
	t.Parallel()
	s := setup(t)
	url := s.URL() + "/chat/completions"

	if resp, _ := post(t, http.DefaultClient, url, "Bearer k", minimal); resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("unscripted status %d, want 500", resp.StatusCode)
	}
	s.Push(llmfake.Reply{Content: "queued"})
	s.Script(func(r llmfake.Request) llmfake.Reply { return llmfake.Reply{Content: "scripted for " + r.Model} })
	for _, want := range []string{"queued", "scripted for openai/gpt-4o-mini"} {
		_, got := post(t, http.DefaultClient, url, "Bearer k", minimal)
		if content := got["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"]; content != want {
			t.Errorf("content %q, want %q", content, want)
		}
	}
}

func TestRejectsWhatTheAPIRejects(t *testing.T) {
	t.Parallel()
	s := setup(t)
	s.Script(func(llmfake.Request) llmfake.Reply { return llmfake.Reply{Content: "{}"} })
	tests := []struct {
		name, path, auth, body string
		status                 int
	}{
		{"no key", "/chat/completions", "", minimal, 401},
		{"not JSON", "/chat/completions", "Bearer k", `{`, 400},
		{"no model", "/chat/completions", "Bearer k", `{"messages":[{"role":"user","content":"hi"}]}`, 400},
		{"stream", "/chat/completions", "Bearer k", `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`, 400},
		{"unknown path", "/embeddings", "Bearer k", minimal, 404},
	}
	for _, tt := range tests {
		resp, got := post(t, http.DefaultClient, s.URL()+tt.path, tt.auth, tt.body)
		if resp.StatusCode != tt.status || got["error"] == nil {
			t.Errorf("%s: status %d body %v, want %d with an error object", tt.name, resp.StatusCode, got, tt.status)
		}
	}
}

func TestClientTimeoutEndsRequest(t *testing.T) {
	t.Parallel()
	s := setup(t)
	s.Push(llmfake.Reply{Content: "{}", Delay: time.Hour})

	if err := send(&http.Client{Timeout: 100 * time.Millisecond}, s.URL()); err == nil {
		t.Fatal("request with an hour's delay succeeded, want a client timeout")
	}
	// The handler must notice the client left and stop, not sleep for an hour.
	testwait.For(t, "the handler to end", func() bool { return !s.Requests()[0].End.IsZero() })
	if r := s.Requests()[0]; r.Status != 0 {
		t.Errorf("status %d, want 0 for a request the client gave up on", r.Status)
	}
}

func TestCloseReleasesDelayedRequests(t *testing.T) {
	t.Parallel()
	s := setup(t)
	s.Script(func(llmfake.Request) llmfake.Reply { return llmfake.Reply{Content: "{}", Delay: time.Hour} })

	done := make(chan error, 1)
	go func() { done <- send(http.DefaultClient, s.URL()) }()
	testwait.For(t, "the request to arrive", func() bool { return len(s.Requests()) == 1 })

	start := time.Now()
	s.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v, want delayed handlers released at once", d)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("client got an answer from a closed fake, want a connection error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("client still waiting after Close")
	}
	if r := s.Requests()[0]; r.End.IsZero() || r.Status != 0 {
		t.Errorf("request after Close = end %v status %d, want ended unanswered", r.End, r.Status)
	}
	if s.InFlightMax() != 1 {
		t.Errorf("InFlightMax = %d, want 1", s.InFlightMax())
	}
}

func TestStartOnRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	if s, err := llmfake.StartOn("0.0.0.0:0"); err == nil {
		s.Close()
		t.Fatal("StartOn(0.0.0.0:0) succeeded, want a loopback-only refusal")
	}
}
