package tracing_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/flux-companion/flux/listener/tracing"
)

type pgError struct{ code string }

func (e *pgError) Error() string    { return "ERROR: duplicate key value (alice@example.com)" }
func (e *pgError) SQLState() string { return e.code }

type namedError struct{}

func (namedError) Error() string     { return "secret text" }
func (namedError) ErrorType() string { return "flux.invalid_answer" }

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

var _ net.Error = timeoutError{}

type plainError struct{}

func (plainError) Error() string { return "plain" }

func TestErrorType(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("user text"), "_OTHER"},
		{fmt.Errorf("claim %s: %w", "m_1", errors.New("user text")), "_OTHER"},
		{fmt.Errorf("a: %w, b: %w", errSecret, errSecret), "_OTHER"},
		{errors.Join(errSecret, errSecret), "_OTHER"},
		{fmt.Errorf("nothing wrapped: %w", nil), "_OTHER"},
		{fmt.Errorf("turn: %w", context.Canceled), "canceled"},
		{fmt.Errorf("turn: %w", context.DeadlineExceeded), "timeout"},
		{&url.Error{Op: "Post", URL: "http://x", Err: timeoutError{}}, "timeout"},
		{fmt.Errorf("insert: %w", &pgError{"23505"}), "sqlstate_23505"},
		{fmt.Errorf("node: %w", namedError{}), "flux.invalid_answer"},
		{fmt.Errorf("send: %w", &url.Error{Op: "Post", URL: "http://x", Err: errors.New("refused")}), "*url.Error"},
		{fmt.Errorf("x: %w", plainError{}), "github.com/flux-companion/flux/listener/tracing_test.plainError"},
	} {
		if got := tracing.ErrorType(tt.err); got != tt.want {
			t.Errorf("ErrorType(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// recorder is a provider that keeps ended spans in memory, without touching the globals.
func recorder() (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	rec := tracetest.NewSpanRecorder()
	return sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)), rec
}

func TestEndRecordsTypeNotMessage(t *testing.T) {
	t.Parallel()
	tp, rec := recorder()
	_, span := tp.Tracer("t").Start(t.Context(), "write")
	tracing.End(span, fmt.Errorf("insert reply for %q: %w", "call mom", &pgError{"23505"}))
	_, ok := tp.Tracer("t").Start(t.Context(), "ok")
	tracing.End(ok, nil)

	ended := rec.Ended()
	if len(ended) != 2 {
		t.Fatalf("%d spans ended, want 2", len(ended))
	}
	failed := ended[0]
	if failed.Status().Code != codes.Error || failed.Status().Description != "sqlstate_23505" {
		t.Errorf("status = %+v, want error sqlstate_23505", failed.Status())
	}
	attrs := failed.Attributes()
	if len(attrs) != 1 || attrs[0].Key != tracing.ErrorTypeKey || attrs[0].Value.AsString() != "sqlstate_23505" {
		t.Errorf("attributes = %v, want only error.type", attrs)
	}
	if len(failed.Events()) != 0 {
		t.Errorf("events = %v, want none: an exception event would carry the message", failed.Events())
	}
	if ended[1].Status().Code != codes.Unset || len(ended[1].Attributes()) != 0 {
		t.Errorf("span ended without error: status %+v attributes %v", ended[1].Status(), ended[1].Attributes())
	}
}

func TestLogHandler(t *testing.T) {
	t.Parallel()
	tp, _ := recorder()
	ctx, span := tp.Tracer("t").Start(t.Context(), "turn")
	defer span.End()
	sc := span.SpanContext()

	var buf bytes.Buffer
	h := tracing.LogHandler(slog.NewJSONHandler(&buf, nil))
	if tracing.LogHandler(h) != h {
		t.Error("wrapping twice adds a second layer")
	}
	log := slog.New(h).With("run_id", "r1")
	log.InfoContext(ctx, "with span", "a", 1, "b", 2, "c", 3, "d", 4, "e", 5, "f", 6) // past slog's inline attributes
	log.Info("without")
	log.WithGroup("g").InfoContext(ctx, "grouped", "x", 1)
	log.DebugContext(ctx, "below the level")

	lines := logLines(t, &buf)
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3 (debug is off):\n%s", len(lines), buf.String())
	}
	l := lines[0]
	if l[tracing.TraceIDKey] != sc.TraceID().String() || l[tracing.SpanIDKey] != sc.SpanID().String() ||
		l["run_id"] != "r1" || l["f"] != float64(6) {
		t.Errorf("line = %v, want trace %s span %s and every attribute", l, sc.TraceID(), sc.SpanID())
	}
	if strings.Contains(buf.String(), "!BUG") {
		t.Errorf("slog reports a shared record: %s", buf.String())
	}
	if _, ok := lines[1][tracing.TraceIDKey]; ok {
		t.Errorf("line without a context has a trace id: %v", lines[1])
	}
	if g, _ := lines[2]["g"].(map[string]any); g[tracing.TraceIDKey] != sc.TraceID().String() || g["x"] != float64(1) {
		t.Errorf("grouped line = %v, want the ids inside the group", lines[2])
	}
}

// A record handed to several handlers (as slog.Logger does not, but a fan-out handler may)
// keeps its own attributes: the ids are added to a clone.
func TestLogHandlerLeavesCallersRecord(t *testing.T) {
	t.Parallel()
	tp, _ := recorder()
	ctx, span := tp.Tracer("t").Start(t.Context(), "turn")
	defer span.End()
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "m", 0)
	for i := range 7 {
		r.AddAttrs(slog.Int(fmt.Sprint("k", i), i))
	}
	before := r.NumAttrs()
	if err := tracing.LogHandler(slog.DiscardHandler).Handle(ctx, r); err != nil {
		t.Fatal(err)
	}
	if r.NumAttrs() != before {
		t.Errorf("the caller's record went from %d to %d attributes", before, r.NumAttrs())
	}
	if err := tracing.LogHandler(slog.DiscardHandler).Handle(nil, r); err != nil { //nolint:staticcheck // a nil context must not panic
		t.Fatal(err)
	}
}

// nopHandler handles every record and does nothing, so the benchmarks measure the wrapper.
type nopHandler struct{}

func (nopHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (nopHandler) Handle(context.Context, slog.Record) error { return nil }
func (h nopHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h nopHandler) WithGroup(string) slog.Handler           { return h }

// BenchmarkLogHandlerNoSpan: what wrapping costs a record whose context has no span, next to
// the bare handler; "span" is the price when there is one.
func BenchmarkLogHandlerNoSpan(b *testing.B) {
	// A context a few layers deep, as a request's is.
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), struct{ k int }{1}, "v"))
	defer cancel()
	ctx = context.WithValue(ctx, struct{ k int }{2}, "w")
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "turn claimed", 0)
	r.AddAttrs(slog.String("message_id", "m_1"), slog.Int("attempt", 1))
	run := func(b *testing.B, h slog.Handler, ctx context.Context) {
		b.ReportAllocs()
		for b.Loop() {
			_ = h.Handle(ctx, r)
		}
	}
	b.Run("bare", func(b *testing.B) { run(b, nopHandler{}, ctx) })
	b.Run("wrapped", func(b *testing.B) { run(b, tracing.LogHandler(nopHandler{}), ctx) })
	b.Run("wrapped-span", func(b *testing.B) {
		tp, _ := recorder()
		sctx, span := tp.Tracer("t").Start(ctx, "turn")
		defer span.End()
		run(b, tracing.LogHandler(nopHandler{}), sctx)
	})
}

// BenchmarkStartNoProvider: Start and End with OpenTelemetry's default global provider, as
// the service runs without the variables.
func BenchmarkStartNoProvider(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, span := tracing.Start(ctx, "chat.turn")
		tracing.End(span, nil)
	}
}
