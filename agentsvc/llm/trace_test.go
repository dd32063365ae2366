package llm_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/flux-companion/flux/agentsvc/llm"
	"github.com/flux-companion/flux/agentsvc/llmfake"
)

// traced is setup with a provider that records spans in memory (the global one is left
// alone, so these tests run in parallel), plus a parent span standing for an agent node.
func traced(t *testing.T, change func(*llm.Config)) (*llmfake.Server, *llm.Client, *tracetest.SpanRecorder, trace.Span) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	fake, c := setup(t, func(cfg *llm.Config) {
		cfg.TracerProvider = tp
		if change != nil {
			change(cfg)
		}
	})
	_, parent := tp.Tracer("test").Start(t.Context(), "agent.orchestrator")
	return fake, c, rec, parent
}

// attrs is a span's attributes by key.
func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// private is text from the prompt and the answers that must never reach a span.
var private = []string{"u_123", "remind", "stretch", "Classify", "NEW_TASK", "t_42", "MAYBE", "not one of", "Your last answer", "intent"}

func assertNoContent(t *testing.T, spans []sdktrace.ReadOnlySpan) {
	t.Helper()
	for _, s := range spans {
		var all []string
		for _, kv := range s.Attributes() {
			all = append(all, string(kv.Key)+"="+kv.Value.Emit())
		}
		for _, e := range s.Events() {
			all = append(all, e.Name)
			for _, kv := range e.Attributes {
				all = append(all, string(kv.Key)+"="+kv.Value.Emit())
			}
		}
		all = append(all, s.Status().Description, s.Name())
		joined := strings.Join(all, " ")
		for _, p := range private {
			if strings.Contains(joined, p) {
				t.Errorf("span %s carries %q: %s", s.Name(), p, joined)
			}
		}
	}
}

func TestCallSpansOnePerAttempt(t *testing.T) {
	t.Parallel()
	fake, c, rec, parent := traced(t, nil)
	fake.Push(llmfake.Reply{Status: http.StatusServiceUnavailable}, llmfake.Reply{Content: validAnswer, PromptTokens: 120, CompletionTokens: 15})

	ctx := trace.ContextWithSpan(t.Context(), parent)
	_, usage, err := callRouting(ctx, c, llm.Temperature(0.2))
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	parent.End()
	spans := rec.Ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 2 attempts and the parent", len(spans))
	}
	u, _ := url.Parse(fake.URL())
	port, _ := strconv.Atoi(u.Port())
	for i, s := range spans[:2] {
		a := attrs(s)
		if s.Name() != "chat "+llm.ModelGPT4o || s.SpanKind() != trace.SpanKindClient || s.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("span %d: %s kind %v parent %v, want a client span chat %s under the node", i, s.Name(), s.SpanKind(), s.Parent().SpanID(), llm.ModelGPT4o)
		}
		if s.InstrumentationScope().Name != llm.TracerName {
			t.Errorf("span %d scope %q", i, s.InstrumentationScope().Name)
		}
		for k, want := range map[attribute.Key]attribute.Value{
			"gen_ai.operation.name":      attribute.StringValue("chat"),
			"gen_ai.provider.name":       attribute.StringValue("openrouter"),
			"gen_ai.system":              attribute.StringValue("openrouter"),
			"gen_ai.request.model":       attribute.StringValue(llm.ModelGPT4o),
			"gen_ai.request.max_tokens":  attribute.IntValue(512),
			"gen_ai.request.temperature": attribute.Float64Value(0.2),
			"gen_ai.output.type":         attribute.StringValue("json"),
			"server.address":             attribute.StringValue("127.0.0.1"),
			"server.port":                attribute.IntValue(port),
			llm.AgentKey:                 attribute.StringValue("orchestrator"),
			llm.AttemptKey:               attribute.IntValue(i + 1),
			llm.CorrectionKey:            attribute.IntValue(0),
		} {
			if a[k] != want {
				t.Errorf("span %d: %s = %v, want %v", i, k, a[k].Emit(), want.Emit())
			}
		}
		if d := s.EndTime().Sub(s.StartTime()); d < usage.Attempts[i].Latency {
			t.Errorf("span %d lasted %v, less than the attempt's latency %v", i, d, usage.Attempts[i].Latency)
		}
	}

	failed, ok := attrs(spans[0]), attrs(spans[1])
	if failed["error.type"].AsString() != "503" || spans[0].Status().Code != codes.Error || spans[0].Status().Description != "503" {
		t.Errorf("first attempt: error.type %v status %+v, want 503", failed["error.type"].Emit(), spans[0].Status())
	}
	if _, has := failed["gen_ai.usage.input_tokens"]; has {
		t.Error("the failed attempt reports tokens")
	}
	for k, want := range map[attribute.Key]attribute.Value{
		"gen_ai.usage.input_tokens":      attribute.IntValue(120),
		"gen_ai.usage.output_tokens":     attribute.IntValue(15),
		"gen_ai.response.model":          attribute.StringValue(llm.ModelGPT4o),
		"gen_ai.response.finish_reasons": attribute.StringSliceValue([]string{"stop"}),
	} {
		if ok[k] != want {
			t.Errorf("answering attempt: %s = %v, want %v", k, ok[k].Emit(), want.Emit())
		}
	}
	if !strings.HasPrefix(ok["gen_ai.response.id"].AsString(), "gen-") {
		t.Errorf("gen_ai.response.id = %v, want the fake's generation id", ok["gen_ai.response.id"].Emit())
	}
	if _, has := ok["error.type"]; has || spans[1].Status().Code != codes.Unset {
		t.Errorf("answering attempt: error.type %v status %+v, want neither", ok["error.type"].Emit(), spans[1].Status())
	}
	assertNoContent(t, spans)
}

// Fallbacks and corrections are attempts too; an answer that failed validation marks its
// attempt with error.type invalid_answer, without the validation message (it quotes the answer).
func TestCallSpansFallbackAndCorrection(t *testing.T) {
	t.Parallel()
	fake, c, rec, _ := traced(t, nil)
	down := llmfake.Reply{Status: http.StatusBadGateway}
	fake.Push(down, down, down,
		llmfake.Reply{Content: `{"intent":"MAYBE","task_id":"t_42"}`, PromptTokens: 100, CompletionTokens: 9},
		llmfake.Reply{Content: validAnswer, PromptTokens: 140, CompletionTokens: 12})

	if _, _, err := callRouting(t.Context(), c); err != nil {
		t.Fatalf("Call: %v", err)
	}
	spans := rec.Ended()
	type row struct {
		name       string
		attempt    int64
		correction int64
		errType    string
		input      int64
	}
	want := []row{
		{"chat " + llm.ModelGPT4o, 1, 0, "502", 0},
		{"chat " + llm.ModelGPT4o, 2, 0, "502", 0},
		{"chat " + llm.ModelGPT4o, 3, 0, "502", 0},
		{"chat " + llm.ModelClaudeSonnet4, 4, 0, "invalid_answer", 100},
		{"chat " + llm.ModelClaudeSonnet4, 5, 1, "", 140},
	}
	var got []row
	for _, s := range spans {
		a := attrs(s)
		got = append(got, row{s.Name(), a[llm.AttemptKey].AsInt64(), a[llm.CorrectionKey].AsInt64(),
			a["error.type"].AsString(), a["gen_ai.usage.input_tokens"].AsInt64()})
		if len(s.Events()) != 0 {
			t.Errorf("span %s has events %v, want none", s.Name(), s.Events())
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("spans:\n%v\nwant:\n%v", got, want)
	}
	assertNoContent(t, spans)
}

func TestCallSpanErrorTypes(t *testing.T) {
	t.Parallel()
	t.Run("rejected", func(t *testing.T) {
		t.Parallel()
		fake, c, rec, _ := traced(t, nil)
		fake.Push(llmfake.Reply{Status: http.StatusBadRequest, Content: "max_tokens is too large"})
		if _, _, err := callRouting(t.Context(), c); err == nil {
			t.Fatal("Call succeeded")
		}
		if s := rec.Ended(); len(s) != 1 || attrs(s[0])["error.type"].AsString() != "400" || strings.Contains(s[0].Status().Description, "max_tokens") {
			t.Errorf("spans = %v, want one with error.type 400 and no provider message", s)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		fake, c, rec, _ := traced(t, func(cfg *llm.Config) { cfg.Timeout = 100 * time.Millisecond })
		fake.Push(llmfake.Reply{Content: validAnswer, Delay: 5 * time.Second}, llmfake.Reply{Content: validAnswer})
		if _, _, err := callRouting(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		s := rec.Ended()
		if len(s) != 2 || attrs(s[0])["error.type"].AsString() != "timeout" || s[0].EndTime().Sub(s[0].StartTime()) < 100*time.Millisecond {
			t.Errorf("spans = %v, want a first attempt timing out after 100ms", s)
		}
	})
	t.Run("connection", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // nothing listens there now
		_, c, rec, _ := traced(t, func(cfg *llm.Config) { cfg.BaseURL = "http://" + addr + "/api/v1"; cfg.Retries = -1 })
		if _, _, err := callRouting(t.Context(), c); err == nil {
			t.Fatal("Call succeeded")
		}
		s := rec.Ended()
		if len(s) != 2 || attrs(s[0])["error.type"].AsString() != "connection" || attrs(s[1])[llm.AttemptKey].AsInt64() != 2 {
			t.Errorf("spans = %v, want the primary and the fallback refused", s)
		}
	})
	t.Run("caller cancels", func(t *testing.T) {
		t.Parallel()
		fake, c, rec, _ := traced(t, nil)
		fake.Push(llmfake.Reply{Content: validAnswer, Delay: 10 * time.Second})
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if _, _, err := callRouting(ctx, c); err == nil {
			t.Fatal("Call succeeded")
		}
		if s := rec.Ended(); len(s) != 1 || attrs(s[0])["error.type"].AsString() != "timeout" {
			t.Errorf("spans = %v, want one ended by the caller's deadline", s)
		}
	})
}
