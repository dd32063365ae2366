package graph

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// TracerName is the instrumentation scope of the node spans: the service's own, as the
// listener's spans are (listener/tracing.ScopeName; this package does not import the listener).
const TracerName = "github.com/flux-companion/flux"

// The node span's attributes.
const (
	NodeKey         = attribute.Key("flux.agent.node")
	nodeAttemptsKey = attribute.Key("flux.llm.attempts") // model requests the node made
	nodeTokensKey   = attribute.Key("flux.llm.tokens")   // and the tokens they cost
)

// startNode starts the OpenTelemetry span of a node of the turn, "agent.<node>", at began:
// a child of the span in ctx (the runner's agentrun.turn) and the parent of the node's model
// calls (agentsvc/llm), which take the returned context. It goes through the global provider,
// a no-op unless the service set tracing up. Only the node's name is recorded.
//
// While OpenTelemetry's default provider is the global one (tracing is off) it returns ctx as
// it is and a span that does nothing, without allocating.
func startNode(ctx context.Context, node string, began time.Time) (context.Context, trace.Span) {
	if otel.GetTracerProvider() == pristine {
		return ctx, noop.Span{}
	}
	return otel.Tracer(TracerName).Start(ctx, "agent."+node, trace.WithTimestamp(began),
		trace.WithAttributes(NodeKey.String(node)))
}

// pristine is OpenTelemetry's default global provider, installed before anyone set one.
var pristine = otel.GetTracerProvider()

// endNode ends a node's span with what its trace entry says: model requests and tokens, and
// failure as a status without the error's text (it can quote the prompt or the answer).
func endNode(span trace.Span, s Span) {
	if s.Attempts > 0 {
		span.SetAttributes(nodeAttemptsKey.Int(s.Attempts), nodeTokensKey.Int(s.Tokens))
	}
	if s.Error != "" {
		span.SetStatus(codes.Error, "")
	}
	span.End()
}
