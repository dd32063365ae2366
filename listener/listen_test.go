package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/flux-companion/flux/listener/tracing"
	"github.com/flux-companion/flux/listener/tracing/tracingtest"
)

// flux listen (and flux dev) export traces when the OTEL_ variables say where, under the
// Sentry release, log the trace ids of a unit of work on its lines, and flush at exit. (Not
// parallel: the tracer provider is global.)
func TestListenExportsTracesAndLogsTheirIDs(t *testing.T) {
	fake := tracingtest.Receiver(t)
	env := map[string]string{"SENTRY_RELEASE": "flux@v9.9.9"}
	var buf bytes.Buffer
	log, stop, err := startTracing(t.Context(), func(k string) string { return env[k] }, slog.New(slog.NewJSONHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := tracing.Start(context.Background(), "chat.turn")
	log.InfoContext(ctx, "turn answered")
	tracing.End(span, nil)
	stop() // flushes: the span is there without waiting for a batch

	spans := fake.Spans()
	if len(spans) != 1 || spans[0].Resource["service.version"] != "flux@v9.9.9" || spans[0].Resource["service.name"] != "flux" {
		t.Fatalf("exported %+v, want the span under service flux, version flux@v9.9.9", spans)
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line["trace_id"] != spans[0].TraceID || line["span_id"] != spans[0].SpanID {
		t.Errorf("log line %s (%v), want trace %s span %s", buf.String(), err, spans[0].TraceID, spans[0].SpanID)
	}
	if tracing.Enabled() {
		t.Error("tracing still on after stop")
	}
}
