// Package tracingtest points the service's tracing at a loopback OTLP receiver
// (internal/otlpfake) for a test, through the standard variables, as `flux listen` would be
// pointed at a collector, and checks that no span carries a person's data.
package tracingtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/flux-companion/flux/internal/otlpfake"
	"github.com/flux-companion/flux/internal/testwait"
	"github.com/flux-companion/flux/listener/tracing"
)

// Receiver starts a receiver and points the environment at it (OTEL_EXPORTER_OTLP_ENDPOINT,
// every other documented OTEL_ variable cleared), as an operator points `flux listen` at a
// collector. The test must not be parallel (t.Setenv refuses that).
func Receiver(t *testing.T) *otlpfake.Server {
	t.Helper()
	fake, err := otlpfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	for _, k := range tracing.Variables {
		t.Setenv(k, "")
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", fake.URL())
	return fake
}

// Export starts a Receiver and sets tracing up to export to it, with spans sent within
// milliseconds of their end. The tracer provider is global: a parallel test cannot run
// meanwhile. At cleanup, after whatever the test registered later (a service it runs),
// tracing is shut down and the receiver closed.
func Export(t *testing.T) *otlpfake.Server {
	t.Helper()
	fake := Receiver(t)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "10") // milliseconds
	shutdown, err := tracing.Setup(context.Background(), "flux@test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			t.Errorf("tracing shutdown: %v", err)
		}
	})
	return fake
}

// WaitSpan waits until a span called name that match accepts (nil: any) has arrived, and
// returns it; the test fails after timeout, showing what did arrive.
func WaitSpan(t *testing.T, fake *otlpfake.Server, timeout time.Duration, name string, match func(otlpfake.Span) bool) otlpfake.Span {
	t.Helper()
	var found otlpfake.Span
	if !testwait.Until(timeout, func() bool {
		for _, sp := range otlpfake.Named(fake.Spans(), name) {
			if match == nil || match(sp) {
				found = sp
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no matching %s span after %v; received:\n%s", name, timeout, otlpfake.Outline(fake.Spans()))
	}
	return found
}

// NoPersonalData fails the test if any of texts (a person's name, email, phone number, what
// they wrote, a provider id tied to their number) appears anywhere in spans: a name, an
// attribute, an event, a status, a link, the resource.
func NoPersonalData(t *testing.T, spans []otlpfake.Span, texts ...string) {
	t.Helper()
	if len(spans) == 0 {
		t.Fatal("no spans to check")
	}
	for _, sp := range spans {
		rendered := fmt.Sprintf("%+v", sp)
		for _, s := range texts {
			if s != "" && strings.Contains(rendered, s) {
				t.Errorf("span %s carries %q: %s", sp.Name, s, rendered)
			}
		}
	}
}
