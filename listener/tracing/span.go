package tracing

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// ScopeName is the instrumentation scope of the service's own spans.
const ScopeName = "github.com/flux-companion/flux"

// ErrorTypeKey is the semantic-convention attribute End sets on a failed span.
const ErrorTypeKey = attribute.Key("error.type")

// Tracer returns the service's tracer from the current global provider. It is looked up
// again whenever the global provider changes rather than kept for good, because
// OpenTelemetry's global provider hands a kept tracer only to the first provider ever
// installed.
func Tracer() trace.Tracer {
	tp := otel.GetTracerProvider()
	if c := cached.Load(); c != nil && c.tp == tp { // c.tp's type is comparable: no panic
		return c.tr
	}
	tr := tp.Tracer(ScopeName)
	if reflect.TypeOf(tp).Comparable() {
		cached.Store(&cachedTracer{tp: tp, tr: tr})
	}
	return tr
}

type cachedTracer struct {
	tp trace.TracerProvider
	tr trace.Tracer
}

var (
	cached atomic.Pointer[cachedTracer]
	// pristine is OpenTelemetry's default global provider, installed before anyone set one.
	pristine = otel.GetTracerProvider()
)

// Start starts an internal span called name, a child of the span in ctx if there is one,
// with attrs. Use Tracer().Start for another kind (server, client, consumer).
//
// While OpenTelemetry's default provider is the global one (Setup found no endpoint), it
// returns ctx as it is and a span that records nothing but carries the parent's ids, as the
// default provider's spans do, without allocating.
func Start(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if otel.GetTracerProvider() == pristine {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			return ctx, idleSpan{sc: sc}
		}
		return ctx, noop.Span{}
	}
	if len(attrs) == 0 {
		return Tracer().Start(ctx, name)
	}
	return Tracer().Start(ctx, name, trace.WithAttributes(attrs...))
}

// Enabled reports whether spans are exported: Setup installed a provider (or a test did).
// Code that would do extra work only for a trace (a lookup, a span started after the fact)
// asks this first.
func Enabled() bool { return otel.GetTracerProvider() != pristine }

// StartWith is Start with any span options: a kind (server, client), links, a start time.
// Like Start, it costs nothing but a context lookup while tracing is off.
func StartWith(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if otel.GetTracerProvider() == pristine {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			return ctx, idleSpan{sc: sc}
		}
		return ctx, noop.Span{}
	}
	return Tracer().Start(ctx, name, opts...)
}

// idleSpan is a span that records nothing, with its parent's context so that propagation and
// log ids carry on through it.
type idleSpan struct {
	noop.Span
	sc trace.SpanContext
}

func (s idleSpan) SpanContext() trace.SpanContext { return s.sc }

// End ends span (with opts, such as an end time); a non-nil err marks it failed with
// error.type ErrorType(err) as both the attribute and the status description. The error's
// message is not recorded: it may quote what a user or a model wrote.
func End(span trace.Span, err error, opts ...trace.SpanEndOption) {
	if err != nil {
		typ := ErrorType(err)
		span.SetAttributes(ErrorTypeKey.String(typ))
		span.SetStatus(codes.Error, typ)
	}
	span.End(opts...)
}

// ErrorType is a short, low-cardinality name for err that carries none of its message:
//
//   - the ErrorType() string method of an error in the chain, the semantic conventions' way
//     for an error to name itself;
//   - "canceled" or "timeout" for context cancellation and deadlines, and for network
//     timeouts;
//   - "sqlstate_" and the code, for a database error (an error with SQLState() string, as
//     pgconn.PgError has);
//   - otherwise the Go type of the error under any fmt.Errorf wrapping, such as
//     "*url.Error", or "_OTHER" when that is a plain errors.New or errors.Join error.
//
// It is "" for a nil err.
func ErrorType(err error) string {
	if err == nil {
		return ""
	}
	var named interface{ ErrorType() string }
	if errors.As(err, &named) {
		if s := named.ErrorType(); s != "" {
			return s
		}
	}
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	}
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) && pg.SQLState() != "" {
		return "sqlstate_" + pg.SQLState()
	}
	for reflect.TypeOf(err) == fmtWrapError {
		inner := errors.Unwrap(err)
		if inner == nil {
			break
		}
		err = inner
	}
	t := reflect.TypeOf(err)
	if anonymous[t] {
		return "_OTHER"
	}
	if t.Name() != "" {
		return t.PkgPath() + "." + t.Name()
	}
	return t.String() // "*url.Error": a pointer type has no name of its own
}

var (
	fmtWrapError = reflect.TypeOf(fmt.Errorf("%w", errors.New("")))
	// anonymous are the error types that say nothing but their message.
	anonymous = map[reflect.Type]bool{
		reflect.TypeOf(errors.New("")):                                      true,
		reflect.TypeOf(errors.Join(errors.New(""))):                         true,
		reflect.TypeOf(fmt.Errorf("%w %w", errors.New(""), errors.New(""))): true,
		fmtWrapError: true, // one that wraps nil
	}
)
