package tracing_test

// The Setup tests set environment variables and the global provider, so none is parallel.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/flux-companion/flux/internal/otlpfake"
	"github.com/flux-companion/flux/listener/tracing"
)

const wait = 10 * time.Second

// otelVars are cleared for every Setup test, so the machine's own environment cannot leak in.
var otelVars = []string{
	"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
	"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
	"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
	"OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
	"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
}

func cleanEnv(t *testing.T, set map[string]string) {
	t.Helper()
	for _, k := range otelVars {
		t.Setenv(k, "")
	}
	for k, v := range set {
		t.Setenv(k, v)
	}
}

func startFake(t *testing.T) *otlpfake.Server {
	t.Helper()
	fake, err := otlpfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	return fake
}

// setup calls Setup and shuts down at cleanup if the test did not.
func setup(t *testing.T) tracing.Shutdown {
	t.Helper()
	shutdown, err := tracing.Setup(t.Context(), "v1.2.3", slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Cleanup(func() { _ = shutdown(context.Background()) })
	return shutdown
}

func flush(t *testing.T, shutdown tracing.Shutdown) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// logLines decodes the JSON lines in buf.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

var errSecret = errors.New("user wrote: call mom at +15551234567")

// unit is a small unit of work: a root span, a child that logs and fails, a second child.
func unit(ctx context.Context, log *slog.Logger) {
	ctx, root := tracing.Start(ctx, "chat.turn", attribute.String("flux.message.id", "m_1"))
	log.InfoContext(ctx, "turn claimed")
	func() {
		ctx, node := tracing.Start(ctx, "agent.orchestrator")
		log.InfoContext(ctx, "node ran")
		tracing.End(node, errSecret)
	}()
	_, tx := tracing.Start(ctx, "chat.reply.write")
	tracing.End(tx, nil)
	tracing.End(root, nil)
	log.InfoContext(ctx, "turn done") // the root's context: still its ids, though it ended
}

func TestSetupExportsTraceWithLogIDs(t *testing.T) {
	fake := startFake(t)
	cleanEnv(t, map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": fake.URL(),
		"OTEL_EXPORTER_OTLP_HEADERS":  "x-api-key=lsv2_test,Langsmith-Project=flux-dev",
		"OTEL_RESOURCE_ATTRIBUTES":    "deployment.environment.name=test",
	})
	before := otel.GetTracerProvider()
	shutdown := setup(t)
	if otel.GetTracerProvider() == before {
		t.Fatal("Setup did not install a provider")
	}
	if _, ok := otel.GetTextMapPropagator().(propagation.TraceContext); !ok {
		t.Errorf("propagator = %T, want tracecontext", otel.GetTextMapPropagator())
	}

	var buf bytes.Buffer
	log := slog.New(tracing.LogHandler(slog.NewJSONHandler(&buf, nil)))
	log.Info("before any span")
	unit(t.Context(), log)
	flush(t, shutdown)
	if otel.GetTracerProvider() != before {
		t.Error("shutdown did not put the previous provider back")
	}

	spans, err := fake.WaitFor(3, wait)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := otlpfake.Outline(spans), "chat.turn\n  agent.orchestrator\n  chat.reply.write\n"; got != want {
		t.Errorf("outline:\n%s\nwant:\n%s", got, want)
	}
	root, _ := otlpfake.One(spans, "chat.turn")
	node, _ := otlpfake.One(spans, "agent.orchestrator")
	for _, sp := range spans {
		if sp.TraceID != root.TraceID || sp.Scope != tracing.ScopeName {
			t.Errorf("span %s in trace %s scope %q, want trace %s scope %s", sp.Name, sp.TraceID, sp.Scope, root.TraceID, tracing.ScopeName)
		}
	}
	if root.Attributes["flux.message.id"] != "m_1" || root.Status.Code != "unset" || root.Attributes["error.type"] != nil {
		t.Errorf("root = %+v", root)
	}
	if node.Status != (otlpfake.Status{Code: "error", Message: "_OTHER"}) {
		t.Errorf("node status = %+v, want error with the error's type only", node.Status)
	}
	if node.Attributes["error.type"] != "_OTHER" || len(node.Events) != 0 {
		t.Errorf("node attributes %v events %v, want error.type _OTHER and no exception event", node.Attributes, node.Events)
	}
	for k, want := range map[string]any{
		"service.name": "flux", "service.version": "v1.2.3", "deployment.environment.name": "test",
		"telemetry.sdk.language": "go",
	} {
		if root.Resource[k] != want {
			t.Errorf("resource %s = %v, want %v", k, root.Resource[k], want)
		}
	}
	assertNoSecret(t, spans)

	reqs := fake.Requests()
	if len(reqs) == 0 {
		t.Fatal("no request recorded")
	}
	if reqs[0].Header.Get("X-Api-Key") != "lsv2_test" || reqs[0].Header.Get("Langsmith-Project") != "flux-dev" {
		t.Errorf("headers = %v, want OTEL_EXPORTER_OTLP_HEADERS sent", reqs[0].Header)
	}
	if reqs[0].ContentType != otlpfake.ContentTypeProtobuf {
		t.Errorf("content type %q, want protobuf by default", reqs[0].ContentType)
	}

	lines := logLines(t, &buf)
	if len(lines) != 4 {
		t.Fatalf("%d log lines, want 4:\n%s", len(lines), buf.String())
	}
	if _, ok := lines[0][tracing.TraceIDKey]; ok {
		t.Errorf("line without a span has a trace id: %v", lines[0])
	}
	for i, want := range []string{root.SpanID, node.SpanID, root.SpanID} {
		l := lines[i+1]
		if l[tracing.TraceIDKey] != root.TraceID || l[tracing.SpanIDKey] != want {
			t.Errorf("line %q: trace %v span %v, want %s %s", l["msg"], l[tracing.TraceIDKey], l[tracing.SpanIDKey], root.TraceID, want)
		}
	}
}

func assertNoSecret(t *testing.T, spans []otlpfake.Span) {
	t.Helper()
	for _, sp := range spans {
		all, _ := json.Marshal(sp)
		if strings.Contains(string(all), "+1555") || strings.Contains(string(all), "mom") {
			t.Errorf("span %s carries the error's message: %s", sp.Name, all)
		}
	}
}

func TestSetupTracesEndpointJSONGzip(t *testing.T) {
	fake := startFake(t)
	cleanEnv(t, map[string]string{
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": fake.TracesURL(),
		"OTEL_EXPORTER_OTLP_ENDPOINT":        "http://127.0.0.1:1", // the traces variable wins
		"OTEL_EXPORTER_OTLP_PROTOCOL":        "grpc",               // likewise
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json",
		"OTEL_EXPORTER_OTLP_COMPRESSION":     "gzip",
		"OTEL_SERVICE_NAME":                  "flux-staging",
	})
	shutdown := setup(t)
	unit(t.Context(), slog.New(slog.DiscardHandler))
	flush(t, shutdown)
	spans, err := fake.WaitFor(3, wait)
	if err != nil {
		t.Fatal(err)
	}
	if spans[0].Resource["service.name"] != "flux-staging" {
		t.Errorf("service.name = %v, want OTEL_SERVICE_NAME's", spans[0].Resource["service.name"])
	}
	if r := fake.Requests()[0]; r.ContentType != otlpfake.ContentTypeJSON || r.Encoding != "gzip" {
		t.Errorf("request content type %q encoding %q, want gzipped JSON", r.ContentType, r.Encoding)
	}
}

// Without the variables, or with tracing switched off, nothing changes and nothing is sent.
func TestSetupOff(t *testing.T) {
	fake := startFake(t)
	for name, env := range map[string]map[string]string{
		"no endpoint":   {"OTEL_SERVICE_NAME": "flux", "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=k"},
		"sdk disabled":  {"OTEL_EXPORTER_OTLP_ENDPOINT": fake.URL(), "OTEL_SDK_DISABLED": "TRUE"},
		"exporter none": {"OTEL_EXPORTER_OTLP_ENDPOINT": fake.URL(), "OTEL_TRACES_EXPORTER": "none"},
	} {
		t.Run(name, func(t *testing.T) {
			cleanEnv(t, env)
			before, beforeProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
			shutdown := setup(t)
			if otel.GetTracerProvider() != before || otel.GetTextMapPropagator() != beforeProp {
				t.Error("Setup changed the global provider or propagator")
			}
			var buf bytes.Buffer
			log := slog.New(tracing.LogHandler(slog.NewJSONHandler(&buf, nil)))
			ctx, span := tracing.Start(t.Context(), "chat.turn")
			if span.IsRecording() || span.SpanContext().IsValid() {
				t.Error("span is recording or has ids without tracing")
			}
			log.InfoContext(ctx, "x")
			tracing.End(span, errSecret)
			if strings.Contains(buf.String(), tracing.TraceIDKey) {
				t.Errorf("log line has a trace id without tracing: %s", buf.String())
			}
			flush(t, shutdown)
		})
	}
	if reqs := fake.Requests(); len(reqs) != 0 {
		t.Errorf("fake got %d requests, want none", len(reqs))
	}
}

func TestSetupRefusesWhatItCannotHonour(t *testing.T) {
	for name, tt := range map[string]struct {
		env  map[string]string
		want []string
	}{
		"grpc": {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			[]string{"OTEL_EXPORTER_OTLP_PROTOCOL=grpc", "only OTLP over HTTP", "http/protobuf", "4318"}},
		"traces grpc": {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"},
			[]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc"}},
		"unknown protocol": {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "thrift"},
			[]string{`"thrift"`}},
		"no scheme": {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"},
			[]string{`OTEL_EXPORTER_OTLP_ENDPOINT="collector:4318" is not an http(s) URL`}},
		"zipkin": {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "otlp,zipkin"},
			[]string{"OTEL_TRACES_EXPORTER", "only otlp"}},
		"zstd": {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"},
			[]string{"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"}},
	} {
		t.Run(name, func(t *testing.T) {
			cleanEnv(t, tt.env)
			before := otel.GetTracerProvider()
			shutdown, err := tracing.Setup(t.Context(), "", nil)
			if !errors.Is(err, tracing.ErrConfig) {
				t.Fatalf("Setup err = %v, want ErrConfig", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %q does not say %q", err, w)
				}
			}
			if otel.GetTracerProvider() != before {
				t.Error("a refused Setup changed the global provider")
			}
			if err := shutdown(t.Context()); err != nil {
				t.Errorf("shutdown after refusal: %v", err)
			}
		})
	}
}

// The SDK reads OTEL_TRACES_SAMPLER itself.
func TestSetupHonoursSampler(t *testing.T) {
	fake := startFake(t)
	cleanEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": fake.URL(), "OTEL_TRACES_SAMPLER": "always_off"})
	shutdown := setup(t)
	ctx, span := tracing.Start(t.Context(), "chat.turn")
	if span.IsRecording() || span.SpanContext().IsSampled() {
		t.Error("span sampled with always_off")
	}
	var buf bytes.Buffer
	slog.New(tracing.LogHandler(slog.NewJSONHandler(&buf, nil))).InfoContext(ctx, "x")
	if !strings.Contains(buf.String(), span.SpanContext().TraceID().String()) {
		t.Errorf("log line %s lacks the unsampled trace id: its lines still belong together", buf.String())
	}
	tracing.End(span, nil)
	flush(t, shutdown)
	if n := len(fake.Spans()); n != 0 {
		t.Errorf("fake got %d spans, want none", n)
	}
}

// A collector that is down neither fails nor slows the unit of work: spans are queued and the
// export's error is logged.
func TestSetupCollectorDown(t *testing.T) {
	fake := startFake(t)
	fake.FailWith(400) // not retried by the exporter
	cleanEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": fake.URL()})
	var logged bytes.Buffer
	shutdown, err := tracing.Setup(t.Context(), "", slog.New(slog.NewJSONHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	unit(t.Context(), slog.New(slog.DiscardHandler))
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("a unit of work took %v with the collector down", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_ = shutdown(ctx) // the failed flush may be reported here too
	if _, err := fake.WaitForRequests(1, wait); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged.String(), "tracing: export failed") || !strings.Contains(logged.String(), "400") {
		t.Errorf("log = %s, want the export failure as a warning", logged.String())
	}
}

// defaultProvider is OpenTelemetry's own global provider, before any test installs another.
var defaultProvider = otel.GetTracerProvider()

// Start follows whatever provider is global: nothing with the default one (keeping the
// parent's ids), the installed one otherwise, and a replaced one at once.
func TestStartFollowsGlobalProvider(t *testing.T) {
	prev := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	other, _ := recorder()
	pctx, parent := other.Tracer("other").Start(t.Context(), "parent")
	defer parent.End()

	otel.SetTracerProvider(defaultProvider)
	ctx, span := tracing.Start(pctx, "chat.turn")
	if ctx != pctx || span.IsRecording() || !span.SpanContext().Equal(parent.SpanContext()) {
		t.Errorf("with the default provider: new context %v, recording %v, ids %v; want the parent's context and ids",
			ctx != pctx, span.IsRecording(), span.SpanContext())
	}
	tracing.End(span, errSecret)
	if !parent.IsRecording() {
		t.Fatal("ending the idle span ended its parent")
	}
	if _, span := tracing.Start(t.Context(), "root"); span.SpanContext().IsValid() {
		t.Error("a root span has ids with the default provider")
	}

	for i := range 2 { // the second provider replaces the first at once
		tp, rec := recorder()
		otel.SetTracerProvider(tp)
		_, span := tracing.Start(pctx, "chat.turn", attribute.Int("n", i))
		tracing.End(span, nil)
		ended := rec.Ended()
		if len(ended) != 1 || ended[0].Parent().SpanID() != parent.SpanContext().SpanID() ||
			ended[0].InstrumentationScope().Name != tracing.ScopeName {
			t.Errorf("provider %d recorded %v, want one child of the parent", i, ended)
		}
	}
}

// StartWith and Enabled follow the global provider as Start does: off and free with the
// default one, a span of the given kind, links and start time with an installed one.
func TestStartWithFollowsGlobalProvider(t *testing.T) {
	prev := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	otel.SetTracerProvider(defaultProvider)
	if tracing.Enabled() {
		t.Error("enabled with the default provider")
	}
	ctx := t.Context()
	if n := testing.AllocsPerRun(100, func() {
		c, span := tracing.StartWith(ctx, "dispatch.send")
		tracing.End(span, nil)
		_ = c
	}); n != 0 {
		t.Errorf("StartWith and End allocate %v times with the default provider", n)
	}

	tp, rec := recorder()
	otel.SetTracerProvider(tp)
	if !tracing.Enabled() {
		t.Error("not enabled with an installed provider")
	}
	_, claim := tp.Tracer("t").Start(ctx, "escalation.claim")
	claim.End()
	began := time.Now().Add(-time.Second)
	_, span := tracing.StartWith(ctx, "twilio.messages.create", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(began), trace.WithLinks(trace.Link{SpanContext: claim.SpanContext()}))
	tracing.End(span, nil)
	ended := rec.Ended()
	if len(ended) != 2 {
		t.Fatalf("%d spans, want 2", len(ended))
	}
	got := ended[1]
	if got.SpanKind() != trace.SpanKindClient || !got.StartTime().Equal(began) || len(got.Links()) != 1 ||
		got.Links()[0].SpanContext.SpanID() != claim.SpanContext().SpanID() || got.InstrumentationScope().Name != tracing.ScopeName {
		t.Errorf("span %s: kind %v, start %v, links %v", got.Name(), got.SpanKind(), got.StartTime(), got.Links())
	}
}
