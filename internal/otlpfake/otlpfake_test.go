package otlpfake_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/flux-companion/flux/internal/otlpfake"
)

const wait = 10 * time.Second

func start(t *testing.T) *otlpfake.Server {
	t.Helper()
	fake, err := otlpfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	return fake
}

// provider exports to fake through the real OTLP/HTTP exporter; Flush sends what ended.
func provider(t *testing.T, fake *otlpfake.Server, opts ...otlptracehttp.Option) *sdktrace.TracerProvider {
	t.Helper()
	opts = append([]otlptracehttp.Option{
		otlptracehttp.WithEndpointURL(fake.TracesURL()),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}),
	}, opts...)
	exp, err := otlptracehttp.New(t.Context(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "flux-test"))),
	)
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

// emit makes a small trace: a root with two children, one of which has a child and failed.
func emit(ctx context.Context, tp trace.TracerProvider) trace.SpanContext {
	tr := tp.Tracer("otlpfake-test")
	ctx, root := tr.Start(ctx, "turn", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("s", "text"), attribute.Bool("b", true), attribute.Int("i", 42),
			attribute.Float64("f", 1.5), attribute.StringSlice("ss", []string{"a", "b"}),
		))
	cctx, node := tr.Start(ctx, "node")
	_, call := tr.Start(cctx, "call", trace.WithSpanKind(trace.SpanKindClient))
	time.Sleep(time.Millisecond)
	call.AddEvent("retry", trace.WithAttributes(attribute.Int("attempt", 2)))
	call.SetStatus(codes.Error, "boom")
	call.End()
	node.End()
	_, write := tr.Start(ctx, "write")
	write.End()
	root.End()
	return root.SpanContext()
}

func TestReceivesProtobufTrace(t *testing.T) {
	t.Parallel()
	fake := start(t)
	tp := provider(t, fake, otlptracehttp.WithHeaders(map[string]string{"x-api-key": "k-123", "Langsmith-Project": "flux"}))
	sc := emit(t.Context(), tp)
	if err := tp.ForceFlush(t.Context()); err != nil {
		t.Fatalf("flush: %v", err)
	}

	spans, err := fake.WaitFor(4, wait)
	if err != nil {
		t.Fatal(err)
	}
	if want := "turn\n  node\n    call\n  write\n"; otlpfake.Outline(spans) != want {
		t.Errorf("outline:\n%s\nwant:\n%s", otlpfake.Outline(spans), want)
	}
	if got := fake.Trace(sc.TraceID().String()); len(got) != 4 {
		t.Errorf("Trace(%s) has %d spans, want 4", sc.TraceID(), len(got))
	}
	root, err := otlpfake.One(spans, "turn")
	if err != nil {
		t.Fatal(err)
	}
	if root.TraceID != sc.TraceID().String() || root.SpanID != sc.SpanID().String() || root.ParentSpanID != "" {
		t.Errorf("root ids = %s/%s parent %q, want %s/%s and no parent", root.TraceID, root.SpanID, root.ParentSpanID, sc.TraceID(), sc.SpanID())
	}
	if root.Kind != "server" || root.Scope != "otlpfake-test" || root.Resource["service.name"] != "flux-test" {
		t.Errorf("root kind %q scope %q resource %v", root.Kind, root.Scope, root.Resource)
	}
	want := map[string]any{"s": "text", "b": true, "i": int64(42), "f": 1.5}
	for k, v := range want {
		if root.Attributes[k] != v {
			t.Errorf("attribute %s = %#v, want %#v", k, root.Attributes[k], v)
		}
	}
	if ss, _ := root.Attributes["ss"].([]any); len(ss) != 2 || ss[0] != "a" || ss[1] != "b" {
		t.Errorf("attribute ss = %#v, want [a b]", root.Attributes["ss"])
	}

	call, _ := otlpfake.One(spans, "call")
	node, _ := otlpfake.One(spans, "node")
	if call.ParentSpanID != node.SpanID || node.ParentSpanID != root.SpanID || call.TraceID != root.TraceID {
		t.Errorf("call's parent %s, node %s; node's parent %s, root %s", call.ParentSpanID, node.SpanID, node.ParentSpanID, root.SpanID)
	}
	if call.Kind != "client" || call.Status != (otlpfake.Status{Code: "error", Message: "boom"}) || call.Duration() < time.Millisecond {
		t.Errorf("call kind %q status %+v duration %v", call.Kind, call.Status, call.Duration())
	}
	if len(call.Events) != 1 || call.Events[0].Name != "retry" || call.Events[0].Attributes["attempt"] != int64(2) {
		t.Errorf("call events = %+v, want one retry with attempt 2", call.Events)
	}

	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1 batch", len(reqs))
	}
	r := reqs[0]
	if r.ContentType != otlpfake.ContentTypeProtobuf || r.Encoding != "" || r.Spans != 4 || r.Status != http.StatusOK {
		t.Errorf("request = %+v, want uncompressed protobuf with 4 spans answered 200", r)
	}
	if r.Header.Get("X-Api-Key") != "k-123" || r.Header.Get("Langsmith-Project") != "flux" {
		t.Errorf("headers = %v, want the configured x-api-key and Langsmith-Project", r.Header)
	}
}

func TestReceivesGzipAndJSON(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name        string
		opts        []otlptracehttp.Option
		contentType string
		encoding    string
	}{
		{"gzip protobuf", []otlptracehttp.Option{otlptracehttp.WithCompression(otlptracehttp.GzipCompression)}, otlpfake.ContentTypeProtobuf, "gzip"},
		{"json", []otlptracehttp.Option{otlptracehttp.WithEncoding(otlptracehttp.EncodingJSON)}, otlpfake.ContentTypeJSON, ""},
		{"gzip json", []otlptracehttp.Option{
			otlptracehttp.WithEncoding(otlptracehttp.EncodingJSON),
			otlptracehttp.WithCompression(otlptracehttp.GzipCompression),
		}, otlpfake.ContentTypeJSON, "gzip"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := start(t)
			tp := provider(t, fake, tt.opts...)
			sc := emit(t.Context(), tp)
			if err := tp.ForceFlush(t.Context()); err != nil {
				t.Fatalf("flush: %v", err) // the exporter also fails on an answer it cannot read
			}
			spans, err := fake.WaitFor(4, wait)
			if err != nil {
				t.Fatal(err)
			}
			if want := "turn\n  node\n    call\n  write\n"; otlpfake.Outline(spans) != want {
				t.Errorf("outline:\n%s\nwant:\n%s", otlpfake.Outline(spans), want)
			}
			root, _ := otlpfake.One(spans, "turn")
			if root.TraceID != sc.TraceID().String() || root.Attributes["i"] != int64(42) || root.Kind != "server" {
				t.Errorf("root = %+v", root)
			}
			call, _ := otlpfake.One(spans, "call")
			if call.Status.Code != "error" || call.Start.IsZero() || call.End.Before(call.Start) {
				t.Errorf("call = %+v", call)
			}
			if r := fake.Requests()[0]; r.ContentType != tt.contentType || r.Encoding != tt.encoding {
				t.Errorf("request content type %q encoding %q, want %q %q", r.ContentType, r.Encoding, tt.contentType, tt.encoding)
			}
		})
	}
}

func TestRefusesWhatACollectorRefuses(t *testing.T) {
	t.Parallel()
	fake := start(t)
	post := func(path, contentType, encoding, body string) int {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, fake.URL()+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentType)
		if encoding != "" {
			req.Header.Set("Content-Encoding", encoding)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tt := range []struct {
		name, path, contentType, encoding, body string
		want                                    int
	}{
		{"text", otlpfake.TracesPath, "text/plain", "", "hello", http.StatusUnsupportedMediaType},
		{"garbage protobuf", otlpfake.TracesPath, otlpfake.ContentTypeProtobuf, "", "\xff\xff\xff", http.StatusBadRequest},
		{"garbage json", otlpfake.TracesPath, otlpfake.ContentTypeJSON, "", "{", http.StatusBadRequest},
		{"bad hex id", otlpfake.TracesPath, otlpfake.ContentTypeJSON, "", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}`, http.StatusBadRequest},
		{"not gzip", otlpfake.TracesPath, otlpfake.ContentTypeProtobuf, "gzip", "plain", http.StatusBadRequest},
		{"brotli", otlpfake.TracesPath, otlpfake.ContentTypeProtobuf, "br", "", http.StatusUnsupportedMediaType},
		{"metrics", "/v1/metrics", otlpfake.ContentTypeProtobuf, "", "", http.StatusNotFound},
		{"empty protobuf", otlpfake.TracesPath, otlpfake.ContentTypeProtobuf + "; charset=binary", "", "", http.StatusOK},
		{"empty json", otlpfake.TracesPath, otlpfake.ContentTypeJSON, "", "{}", http.StatusOK},
	} {
		if got := post(tt.path, tt.contentType, tt.encoding, tt.body); got != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.want)
		}
	}
	if n := len(fake.Spans()); n != 0 {
		t.Errorf("%d spans recorded, want none", n)
	}
	if n := len(fake.Requests()); n != 8 { // the 404 never reaches the receiver
		t.Errorf("%d requests recorded, want 8", n)
	}
}

func TestFailWith(t *testing.T) {
	t.Parallel()
	fake := start(t)
	tp := provider(t, fake)
	fake.FailWith(http.StatusServiceUnavailable)
	emit(t.Context(), tp)
	if err := tp.ForceFlush(t.Context()); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("flush err = %v, want the 503", err)
	}
	if reqs, err := fake.WaitForRequests(1, wait); err != nil || reqs[0].Status != http.StatusServiceUnavailable || reqs[0].Spans != 0 {
		t.Errorf("requests = %+v, %v; want one refused with 503", reqs, err)
	}

	fake.FailWith(0)
	emit(t.Context(), tp)
	if err := tp.ForceFlush(t.Context()); err != nil {
		t.Fatalf("flush after recovery: %v", err)
	}
	if _, err := fake.WaitFor(4, wait); err != nil {
		t.Error(err)
	}
}

func TestWaitForGivesUp(t *testing.T) {
	t.Parallel()
	fake := start(t)
	start := time.Now()
	spans, err := fake.WaitFor(1, 50*time.Millisecond)
	if err == nil || len(spans) != 0 {
		t.Fatalf("WaitFor = %v, %v; want no spans and an error", spans, err)
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > 5*time.Second {
		t.Errorf("WaitFor gave up after %v, want 50ms", d)
	}
	if _, err := fake.WaitForRequests(1, 10*time.Millisecond); err == nil {
		t.Error("WaitForRequests reported requests that never came")
	}
}

func TestOutlineOfSeveralTraces(t *testing.T) {
	t.Parallel()
	at := func(ms int) time.Time { return time.Unix(0, 0).Add(time.Duration(ms) * time.Millisecond) }
	spans := []otlpfake.Span{
		{Name: "b-child", TraceID: "t1", SpanID: "3", ParentSpanID: "1", Start: at(2)},
		{Name: "a-child", TraceID: "t1", SpanID: "2", ParentSpanID: "1", Start: at(2)},
		{Name: "early", TraceID: "t1", SpanID: "4", ParentSpanID: "1", Start: at(1)},
		{Name: "root", TraceID: "t1", SpanID: "1", Start: at(0)},
		{Name: "orphan", TraceID: "t2", SpanID: "9", ParentSpanID: "8", Start: at(5)},
	}
	if got, want := otlpfake.Outline(spans), "root\n  early\n  a-child\n  b-child\norphan\n"; got != want {
		t.Errorf("outline:\n%s\nwant:\n%s", got, want)
	}
	if _, err := otlpfake.One(spans, "missing"); !errors.Is(err, otlpfake.ErrNoSpan) {
		t.Errorf("One(missing) = %v, want ErrNoSpan", err)
	}
	twice := append(spans, otlpfake.Span{Name: "root"})
	if _, err := otlpfake.One(twice, "root"); err == nil {
		t.Error("One found one of two spans called root")
	}
}

func TestRefusesOtherAddresses(t *testing.T) {
	t.Parallel()
	if s, err := otlpfake.StartOn("0.0.0.0:0"); err == nil {
		s.Close()
		t.Fatal("StartOn(0.0.0.0:0) succeeded, want a refusal")
	}
}
