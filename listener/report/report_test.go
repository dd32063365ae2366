package report_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/flux-companion/flux/listener/report"
)

// sentryServer speaks Sentry's envelope ingestion on loopback and keeps the raw events.
type sentryServer struct {
	mu     sync.Mutex
	events []map[string]any
	raw    bytes.Buffer
}

func (s *sentryServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		body = zr
	}
	b, _ := io.ReadAll(body)
	if !strings.HasSuffix(r.URL.Path, "/envelope/") {
		http.Error(w, "not an envelope", 404)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.raw.Write(b)
	// An envelope is a header line, then (item header, payload) line pairs.
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for i := 1; i+1 < len(lines); i += 2 {
		var item struct{ Type string }
		if json.Unmarshal([]byte(lines[i]), &item) == nil && item.Type == "event" {
			var e map[string]any
			if json.Unmarshal([]byte(lines[i+1]), &e) == nil {
				s.events = append(s.events, e)
			}
		}
	}
	w.WriteHeader(200)
}

func TestPanicsAndErrorsReachSentryWithoutPII(t *testing.T) {
	srv := &sentryServer{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dsn := strings.Replace(ts.URL, "http://", "http://publickey@", 1) + "/42"
	var logs bytes.Buffer
	r, err := report.New(report.Config{DSN: dsn, Environment: "test", Release: "flux@test", Roles: []string{"dispatch", "agents"}},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(report.NewHandler(slog.NewJSONHandler(&logs, nil), r))

	// What a person wrote and who they are, as it could end up in a panic or an error.
	pii := []string{"Call mom about the surgery", "maya@example.com", "+4915123456789", "SM0123456789abcdef0123456789abcdef",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"}
	err = r.Protect(context.Background(), log, "chat turn", func() error {
		panic(fmt.Sprintf("agent: task %q of %s (%s), message %s, token %s", pii[0], pii[1], pii[2], pii[3], pii[4]))
	})
	if !errors.Is(err, report.ErrPanic) {
		t.Fatalf("Protect returned %v, want the panic as an error", err)
	}
	// Another unit goes on, and its logged error is reported too.
	if err := r.Protect(context.Background(), log, "send whatsapp", func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	log.Error("dispatch failed permanently", "error", fmt.Sprintf("whatsapp to %s: %q refused", pii[2], pii[0]), "user_email", pii[1])
	r.Flush(5 * time.Second)

	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.events) != 2 {
		t.Fatalf("%d events, want the panic and the logged error:\n%s", len(srv.events), srv.raw.String())
	}
	for _, s := range pii {
		if strings.Contains(srv.raw.String(), s) {
			t.Errorf("%q reached Sentry:\n%s", s, srv.raw.String())
		}
	}
	units := map[string]bool{}
	for _, e := range srv.events {
		tags, _ := e["tags"].(map[string]any)
		if e["environment"] != "test" || e["release"] != "flux@test" || tags["roles"] != "dispatch,agents" {
			t.Errorf("event without release, environment or roles: %v", e)
		}
		units[fmt.Sprint(tags["unit"])] = true
	}
	if !units["chat turn"] || !units["log"] {
		t.Errorf("events from units %v, want the chat turn's panic and the logged error", units)
	}
	if !strings.Contains(srv.raw.String(), `"message":"agent: task [redacted]`) || !strings.Contains(srv.raw.String(), "dispatch failed permanently") {
		t.Errorf("the events do not say what failed:\n%s", srv.raw.String())
	}
	if !strings.Contains(logs.String(), "recovered a panic") {
		t.Errorf("the panic was not logged: %s", logs.String())
	}
}

// Without a DSN nothing is sent and Protect still recovers.
func TestWithoutADSNPanicsAreStillContained(t *testing.T) {
	r, err := report.New(report.Config{}, slog.New(slog.DiscardHandler))
	if err != nil || r != nil {
		t.Fatalf("New without a DSN: %v %v", r, err)
	}
	err = r.Protect(context.Background(), slog.New(slog.DiscardHandler), "unit", func() error { panic("boom") })
	if !errors.Is(err, report.ErrPanic) {
		t.Fatalf("got %v", err)
	}
}

// An event captured in the context of a span (a logged error, a recovered panic) carries the
// span's trace and span ids as Sentry's trace context, so that the error meets its trace and
// its log lines; one captured without a span carries none.
func TestEventsCarryTheTraceOfTheirContext(t *testing.T) {
	srv := &sentryServer{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dsn := strings.Replace(ts.URL, "http://", "http://publickey@", 1) + "/42"
	r, err := report.New(report.Config{DSN: dsn, Release: "flux@test"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(report.NewHandler(slog.NewJSONHandler(io.Discard, nil), r))
	ctx, span := sdktrace.NewTracerProvider().Tracer("t").Start(context.Background(), "chat.turn")
	defer span.End()
	sc := span.SpanContext()

	log.ErrorContext(ctx, "agent turn failed", "error", "boom")
	_ = r.Protect(ctx, log, "chat turn", func() error { panic("boom") })
	log.Error("no span here", "error", "boom")
	r.Flush(5 * time.Second)

	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.events) != 3 {
		t.Fatalf("%d events, want 3:\n%s", len(srv.events), srv.raw.String())
	}
	for i, e := range srv.events {
		contexts, _ := e["contexts"].(map[string]any)
		tc, ok := contexts["trace"].(map[string]any)
		if i == 2 {
			if ok {
				t.Errorf("an event without a span has trace context %v", tc)
			}
			continue
		}
		if tc["trace_id"] != sc.TraceID().String() || tc["span_id"] != sc.SpanID().String() {
			t.Errorf("event %d (%v) has trace context %v, want trace %s span %s", i, e["message"], tc, sc.TraceID(), sc.SpanID())
		}
	}
}
