package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/flux-companion/flux/agentsvc/llm"
	"github.com/flux-companion/flux/agentsvc/llmfake"
)

const apiKey = "sk-or-test-key"

// routing is a small orchestrator-like answer.
type routing struct {
	Intent string `json:"intent"`
	TaskID string `json:"task_id"`
}

func validRouting(r *routing) error {
	switch r.Intent {
	case "GOAL", "NEW_TASK", "CLARIFY":
		return nil
	}
	return fmt.Errorf("intent %q is not one of GOAL, NEW_TASK, CLARIFY", r.Intent)
}

const validAnswer = `{"intent":"NEW_TASK","task_id":"t_42"}`

var messages = []openai.ChatCompletionMessage{
	{Role: openai.ChatMessageRoleSystem, Content: "Classify the message. Answer with JSON."},
	{Role: openai.ChatMessageRoleUser, Content: "user u_123: remind me to stretch at 7am"},
}

// setup starts a fake and a client for it; change adjusts the client's config.
func setup(t *testing.T, change func(*llm.Config)) (*llmfake.Server, *llm.Client) {
	t.Helper()
	fake, err := llmfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	cfg := llm.Config{
		APIKey:  apiKey,
		BaseURL: fake.URL(),
		Referer: "https://flux.example",
		Title:   "Flux",
		Timeout: 5 * time.Second,
		Backoff: 10 * time.Millisecond,
		Logger:  slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
	if change != nil {
		change(&cfg)
	}
	return fake, llm.New(cfg)
}

func callRouting(ctx context.Context, c *llm.Client, opts ...llm.Option) (routing, llm.Usage, error) {
	return llm.Call(ctx, c, llm.Orchestrator, messages, validRouting, opts...)
}

func models(reqs []llmfake.Request) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.Model)
	}
	return out
}

func TestCallDecodesTypedAnswer(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, nil)
	fake.Push(llmfake.Reply{Content: validAnswer, PromptTokens: 120, CompletionTokens: 15})
	schema := json.RawMessage(`{"type":"object","properties":{"intent":{"type":"string"},"task_id":{"type":"string"}},"required":["intent","task_id"],"additionalProperties":false}`)

	got, usage, err := callRouting(t.Context(), c, llm.Schema("routing", schema))
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if want := (routing{Intent: "NEW_TASK", TaskID: "t_42"}); got != want {
		t.Errorf("answer = %+v, want %+v", got, want)
	}
	if usage.Model != llm.ModelGPT4o || usage.PromptTokens != 120 || usage.CompletionTokens != 15 || usage.TotalTokens() != 135 {
		t.Errorf("usage = %+v, want model %s, 120+15 tokens", usage, llm.ModelGPT4o)
	}
	if len(usage.Attempts) != 1 || usage.Attempts[0].Err != nil || usage.Attempts[0].Latency <= 0 {
		t.Errorf("attempts = %+v, want one successful attempt with a latency", usage.Attempts)
	}

	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("fake got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Model != llm.ModelGPT4o || r.MaxTokens != 512 {
		t.Errorf("request model %q max_tokens %d, want %q 512", r.Model, r.MaxTokens, llm.ModelGPT4o)
	}
	for header, want := range map[string]string{
		"Authorization": "Bearer " + apiKey,
		"HTTP-Referer":  "https://flux.example",
		"X-Title":       "Flux",
	} {
		if got := r.Headers.Get(header); got != want {
			t.Errorf("header %s = %q, want %q", header, got, want)
		}
	}
	if len(r.Messages) != 2 || r.Messages[1].Role != "user" || r.Messages[1].Content != messages[1].Content {
		t.Errorf("messages = %+v, want the caller's two messages", r.Messages)
	}
	var format struct {
		Type       string `json:"type"`
		JSONSchema struct {
			Name   string          `json:"name"`
			Strict bool            `json:"strict"`
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	}
	if err := json.Unmarshal(r.ResponseFormat, &format); err != nil {
		t.Fatalf("response_format %s: %v", r.ResponseFormat, err)
	}
	if format.Type != "json_schema" || format.JSONSchema.Name != "routing" || !format.JSONSchema.Strict ||
		string(format.JSONSchema.Schema) != string(schema) {
		t.Errorf("response_format = %s, want strict json_schema %q carrying the schema", r.ResponseFormat, "routing")
	}
}

func TestCallWithoutSchemaAsksForJSONObjectAndStripsFence(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, nil)
	fake.Push(llmfake.Reply{Content: "```json\n" + validAnswer + "\n```"})

	got, _, err := callRouting(t.Context(), c)
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if got.TaskID != "t_42" {
		t.Errorf("answer = %+v, want task t_42 from inside the fence", got)
	}
	if reqs := fake.Requests(); len(reqs) != 1 || string(reqs[0].ResponseFormat) != `{"type":"json_object"}` {
		t.Errorf("requests = %+v, want one with response_format json_object", reqs)
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		role      llm.Role
		small     bool
		model     string
		maxTokens int
	}{
		{llm.Orchestrator, false, llm.ModelGPT4o, 512},
		{llm.Planner, false, llm.ModelClaudeSonnet4, 4096},
		{llm.Classifier, false, llm.ModelGPT4oMini, 128},
		{llm.Scheduler, false, llm.ModelGPT4oMini, 1024},
		{llm.PatternObserver, false, llm.ModelGPT4oMini, 1024},
		{llm.Summarizer, false, llm.ModelGPT4oMini, 500},
		{llm.Orchestrator, true, llm.ModelGPT4oMini, 512},
		{llm.Planner, true, llm.ModelGPT4oMini, 4096},
		{llm.Classifier, true, llm.ModelGPT4oMini, 128},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/small=%v", tt.role, tt.small), func(t *testing.T) {
			t.Parallel()
			fake, c := setup(t, nil)
			fake.Push(llmfake.Reply{Content: `{}`})
			if _, _, err := llm.Call[struct{}](t.Context(), c, tt.role, messages, nil, llm.Small(tt.small)); err != nil {
				t.Fatalf("Call: %v", err)
			}
			r := fake.Requests()[0]
			if r.Model != tt.model || r.MaxTokens != tt.maxTokens {
				t.Errorf("request model %q max_tokens %d, want %q %d", r.Model, r.MaxTokens, tt.model, tt.maxTokens)
			}
		})
	}
}

func TestCallUnknownRole(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, nil)
	_, _, err := llm.Call[struct{}](t.Context(), c, "poet", messages, nil)
	if err == nil || !strings.Contains(err.Error(), `unknown role "poet"`) {
		t.Errorf("err = %v, want unknown role", err)
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("fake got %d requests, want none", n)
	}
}

func TestCallCorrectsInvalidAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, invalid, quoted string
	}{
		{"malformed JSON", `{"intent":"NEW_TASK"`, "unexpected EOF"},
		{"unknown field", `{"intent":"NEW_TASK","task_id":"t_42","mood":"happy"}`, `unknown field "mood"`},
		{"wrong enum", `{"intent":"MAYBE","task_id":"t_42"}`, `intent "MAYBE" is not one of GOAL, NEW_TASK, CLARIFY`},
		{"two values", validAnswer + validAnswer, "more than one JSON value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, c := setup(t, nil)
			fake.Push(
				llmfake.Reply{Content: tt.invalid, PromptTokens: 100, CompletionTokens: 10},
				llmfake.Reply{Content: validAnswer, PromptTokens: 130, CompletionTokens: 12},
			)

			got, usage, err := callRouting(t.Context(), c)
			if err != nil {
				t.Fatalf("Call: %v", err)
			}
			if got.Intent != "NEW_TASK" {
				t.Errorf("answer = %+v, want the corrected one", got)
			}
			if usage.PromptTokens != 230 || usage.CompletionTokens != 22 {
				t.Errorf("usage = %d+%d tokens, want both answers counted (230+22)", usage.PromptTokens, usage.CompletionTokens)
			}
			if a := usage.Attempts; len(a) != 2 || !errors.Is(a[0].Err, llm.ErrInvalidAnswer) || a[1].Err != nil {
				t.Errorf("attempts = %+v, want the first marked invalid and the second clean", a)
			}

			reqs := fake.Requests()
			if len(reqs) != 2 {
				t.Fatalf("fake got %d requests, want 2 (answer + one correction)", len(reqs))
			}
			msgs := reqs[1].Messages
			if len(msgs) != 4 {
				t.Fatalf("correction has %d messages, want the 2 originals + answer + correction", len(msgs))
			}
			if msgs[2].Role != "assistant" || msgs[2].Content != tt.invalid {
				t.Errorf("message 3 = %+v, want the invalid answer as assistant", msgs[2])
			}
			last := msgs[3]
			if last.Role != "user" || !strings.HasPrefix(last.Content, "Your last answer was invalid: ") ||
				!strings.Contains(last.Content, tt.quoted) || !strings.HasSuffix(last.Content, ". Answer again with JSON only.") {
				t.Errorf("correction = %+v, want a user message quoting %q", last, tt.quoted)
			}
			if reqs[1].Model != llm.ModelGPT4o {
				t.Errorf("correction went to %q, want the same model", reqs[1].Model)
			}
		})
	}
}

func TestCallGivesUpAfterTwoCorrections(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, nil)
	invalid := llmfake.Reply{Content: `{"intent":"MAYBE"}`, PromptTokens: 10, CompletionTokens: 1}
	fake.Push(invalid, invalid, invalid, llmfake.Reply{Content: validAnswer})

	_, usage, err := callRouting(t.Context(), c)
	if !errors.Is(err, llm.ErrInvalidAnswer) || errors.Is(err, llm.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrInvalidAnswer (not ErrUnavailable)", err)
	}
	if !strings.Contains(err.Error(), `intent "MAYBE"`) {
		t.Errorf("err = %v, want it to say what was invalid", err)
	}
	if n := len(fake.Requests()); n != 3 {
		t.Errorf("fake got %d requests, want exactly 3 (1 + 2 corrections)", n)
	}
	if usage.PromptTokens != 30 || len(usage.Attempts) != 3 {
		t.Fatalf("usage = %+v, want 3 attempts and 30 prompt tokens", usage)
	}
	for i, a := range usage.Attempts {
		if !errors.Is(a.Err, llm.ErrInvalidAnswer) {
			t.Errorf("attempt %d err = %v, want it marked invalid for the trace", i+1, a.Err)
		}
	}
}

func TestCallRetriesServerError(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, nil)
	fake.Push(llmfake.Reply{Status: http.StatusServiceUnavailable}, llmfake.Reply{Content: validAnswer})

	_, usage, err := callRouting(t.Context(), c)
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if got := models(fake.Requests()); !slices.Equal(got, []string{llm.ModelGPT4o, llm.ModelGPT4o}) {
		t.Errorf("models = %v, want the primary twice", got)
	}
	var apiErr *openai.APIError
	if len(usage.Attempts) != 2 || !errors.As(usage.Attempts[0].Err, &apiErr) || apiErr.HTTPStatusCode != 503 {
		t.Errorf("attempts = %+v, want the 503 recorded on the first", usage.Attempts)
	}
}

func TestCallHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, nil) // backoff is 10ms, so a 1s gap can only come from Retry-After
	fake.Push(llmfake.Reply{Status: http.StatusTooManyRequests, RetryAfter: time.Second}, llmfake.Reply{Content: validAnswer})

	if _, _, err := callRouting(t.Context(), c); err != nil {
		t.Fatalf("Call: %v", err)
	}
	reqs := fake.Requests()
	if len(reqs) != 2 {
		t.Fatalf("fake got %d requests, want 2", len(reqs))
	}
	if gap := reqs[1].Time.Sub(reqs[0].Time); gap < time.Second {
		t.Errorf("retry came %v after the 429, want at least the 1s Retry-After", gap)
	}
}

func TestCallRetryAfterIsCapped(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, func(cfg *llm.Config) { cfg.MaxRetryWait = 100 * time.Millisecond })
	fake.Push(llmfake.Reply{Status: http.StatusTooManyRequests, RetryAfter: time.Hour}, llmfake.Reply{Content: validAnswer})

	start := time.Now()
	if _, _, err := callRouting(t.Context(), c); err != nil {
		t.Fatalf("Call: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Call took %v, want the hour-long Retry-After capped at 100ms", d)
	}
}

func TestCallRetriesTimeout(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, func(cfg *llm.Config) { cfg.Timeout = 200 * time.Millisecond })
	fake.Push(llmfake.Reply{Content: validAnswer, Delay: 5 * time.Second}, llmfake.Reply{Content: validAnswer})

	start := time.Now()
	got, usage, err := callRouting(t.Context(), c)
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if got.TaskID != "t_42" {
		t.Errorf("answer = %+v", got)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Call took %v, want the slow attempt abandoned after 200ms", d)
	}
	if got := models(fake.Requests()); !slices.Equal(got, []string{llm.ModelGPT4o, llm.ModelGPT4o}) {
		t.Errorf("models = %v, want the primary twice", got)
	}
	if a := usage.Attempts[0]; a.Err == nil || !strings.Contains(a.Err.Error(), "no answer within 200ms") || a.Latency < 200*time.Millisecond {
		t.Errorf("first attempt = %+v, want a timeout after 200ms", a)
	}
}

func TestCallFallsBack(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, nil)
	down := llmfake.Reply{Status: http.StatusBadGateway}
	fake.Push(down, down, down, llmfake.Reply{Content: validAnswer, PromptTokens: 50, CompletionTokens: 5})

	_, usage, err := callRouting(t.Context(), c)
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	want := []string{llm.ModelGPT4o, llm.ModelGPT4o, llm.ModelGPT4o, llm.ModelClaudeSonnet4}
	if got := models(fake.Requests()); !slices.Equal(got, want) {
		t.Errorf("models = %v, want %v", got, want)
	}
	if usage.Model != llm.ModelClaudeSonnet4 || len(usage.Attempts) != 4 || usage.TotalTokens() != 55 {
		t.Errorf("usage = %+v, want the fallback recorded as the answering model after 4 attempts", usage)
	}
}

func TestCallCorrectionStaysOnFallback(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, nil)
	down := llmfake.Reply{Status: http.StatusInternalServerError}
	fake.Push(down, down, down, llmfake.Reply{Content: `not json`}, llmfake.Reply{Content: validAnswer})

	if _, _, err := callRouting(t.Context(), c); err != nil {
		t.Fatalf("Call: %v", err)
	}
	reqs := fake.Requests()
	if len(reqs) != 5 || reqs[4].Model != llm.ModelClaudeSonnet4 {
		t.Errorf("models = %v, want the correction sent to the fallback that answered", models(reqs))
	}
}

func TestCallUnavailable(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, nil)
	fake.Script(func(llmfake.Request) llmfake.Reply { return llmfake.Reply{Status: http.StatusServiceUnavailable} })

	_, usage, err := callRouting(t.Context(), c)
	if !errors.Is(err, llm.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	want := []string{llm.ModelGPT4o, llm.ModelGPT4o, llm.ModelGPT4o, llm.ModelClaudeSonnet4, llm.ModelClaudeSonnet4, llm.ModelClaudeSonnet4}
	if got := models(fake.Requests()); !slices.Equal(got, want) {
		t.Errorf("models = %v, want 3 tries on each model", got)
	}
	if usage.Model != "" || len(usage.Attempts) != 6 {
		t.Errorf("usage = %+v, want 6 failed attempts and no answering model", usage)
	}
}

func TestCallUnavailableWhenConnectionRefused(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, nil)
	fake.Close() // nothing listens on the URL any more

	_, usage, err := callRouting(t.Context(), c)
	if !errors.Is(err, llm.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if len(usage.Attempts) != 6 {
		t.Errorf("%d attempts, want 6 (connection errors are retried and fail over)", len(usage.Attempts))
	}
}

func TestCallDoesNotRetryBadRequest(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, nil)
	fake.Push(llmfake.Reply{Status: http.StatusBadRequest, Content: "max_tokens is too large"}, llmfake.Reply{Content: validAnswer})

	_, _, err := callRouting(t.Context(), c)
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 400 || !strings.Contains(err.Error(), "max_tokens is too large") {
		t.Fatalf("err = %v, want the provider's 400", err)
	}
	if errors.Is(err, llm.ErrInvalidAnswer) {
		t.Errorf("err = %v, a rejected request is not an invalid answer", err)
	}
	if n := len(fake.Requests()); n != 1 {
		t.Errorf("fake got %d requests, want 1 (a 400 is not retried)", n)
	}
}

func TestCallStopsWhenCallerGivesUp(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, nil)
	fake.Push(llmfake.Reply{Content: validAnswer, Delay: 10 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()

	_, _, err := callRouting(ctx, c)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, llm.ErrUnavailable) {
		t.Fatalf("err = %v, want the caller's deadline, not ErrUnavailable", err)
	}
	if n := len(fake.Requests()); n != 1 {
		t.Errorf("fake got %d requests, want 1 (no retry after the caller gave up)", n)
	}
}

func TestCallsRunConcurrently(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, nil)
	fake.Script(func(llmfake.Request) llmfake.Reply {
		return llmfake.Reply{Content: validAnswer, Delay: 200 * time.Millisecond}
	})

	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Go(func() {
			_, _, err := callRouting(t.Context(), c)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Call: %v", err)
		}
	}
	if n := fake.InFlightMax(); n != 3 {
		t.Errorf("fake saw at most %d requests at once, want 3", n)
	}
}
