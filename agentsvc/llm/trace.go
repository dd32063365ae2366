package llm

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"

	openai "github.com/sashabaranov/go-openai"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0" // the last release with the gen_ai attributes
	"go.opentelemetry.io/otel/trace"
)

// TracerName is the instrumentation scope of the model-call spans.
const TracerName = "github.com/flux-companion/flux/agentsvc/llm"

// ProviderName is gen_ai.provider.name (and the older gen_ai.system) of every call.
const ProviderName = "openrouter"

// Flux's own attributes on a model-call span.
const (
	AttemptKey    = attribute.Key("flux.llm.attempt")    // 1-based, counting every request of one Call
	AgentKey      = attribute.Key("flux.llm.agent")      // the Role
	CorrectionKey = attribute.Key("flux.llm.correction") // 0 for the first answer, n for the nth re-ask
)

// genAISystemKey is the attribute gen_ai.provider.name replaced; back ends that predate the
// rename still read it.
const genAISystemKey = attribute.Key("gen_ai.system")

// errorTypeKey is error.type, here in the HTTP conventions' sense: a status code or a short
// name, never a message.
const errorTypeKey = attribute.Key("error.type")

// server is the base URL's host and port, for server.address and server.port.
type server struct {
	address string
	port    int
}

func parseServer(baseURL string) server {
	u, err := url.Parse(baseURL)
	if err != nil || u.Hostname() == "" {
		return server{}
	}
	s := server{address: u.Hostname()}
	if p, err := strconv.Atoi(u.Port()); err == nil {
		s.port = p
	} else if u.Scheme == "https" {
		s.port = 443
	} else if u.Scheme == "http" {
		s.port = 80
	}
	return s
}

func (c *Client) tracer() trace.Tracer {
	tp := c.tp
	if tp == nil {
		tp = otel.GetTracerProvider() // a no-op until the service sets one up
	}
	return tp.Tracer(TracerName)
}

// startSpan starts the span of one HTTP attempt, named "chat {model}" as the GenAI
// conventions name it. Nothing from the messages goes in: only the request's shape.
func (c *Client) startSpan(ctx context.Context, req openai.ChatCompletionRequest, meta attemptMeta, attempt int) (context.Context, trace.Span) {
	attrs := []attribute.KeyValue{
		semconv.GenAIOperationNameChat,
		semconv.GenAIProviderNameKey.String(ProviderName),
		genAISystemKey.String(ProviderName),
		semconv.GenAIRequestModel(req.Model),
		semconv.GenAIRequestMaxTokens(req.MaxTokens),
		semconv.GenAIOutputTypeJSON,
		AgentKey.String(string(meta.role)),
		AttemptKey.Int(attempt),
		CorrectionKey.Int(meta.correction),
	}
	if req.Temperature != 0 {
		// Through its shortest decimal form, so 0.2 is 0.2 and not 0.20000000298023224.
		t, _ := strconv.ParseFloat(strconv.FormatFloat(float64(req.Temperature), 'g', -1, 32), 64)
		attrs = append(attrs, semconv.GenAIRequestTemperature(t))
	}
	if c.server.address != "" {
		attrs = append(attrs, semconv.ServerAddress(c.server.address))
		if c.server.port != 0 {
			attrs = append(attrs, semconv.ServerPort(c.server.port))
		}
	}
	return c.tracer().Start(ctx, "chat "+req.Model, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// recordResponse adds what the provider answered: its model, id, token counts and finish
// reasons, never the content.
func recordResponse(span trace.Span, resp openai.ChatCompletionResponse) {
	attrs := []attribute.KeyValue{
		semconv.GenAIUsageInputTokens(resp.Usage.PromptTokens),
		semconv.GenAIUsageOutputTokens(resp.Usage.CompletionTokens),
	}
	if resp.Model != "" {
		attrs = append(attrs, semconv.GenAIResponseModel(resp.Model))
	}
	if resp.ID != "" {
		attrs = append(attrs, semconv.GenAIResponseID(resp.ID))
	}
	if len(resp.Choices) > 0 {
		reasons := make([]string, 0, len(resp.Choices))
		for _, ch := range resp.Choices {
			reasons = append(reasons, string(ch.FinishReason))
		}
		attrs = append(attrs, semconv.GenAIResponseFinishReasons(reasons...))
	}
	span.SetAttributes(attrs...)
}

// endSpan ends an attempt's span; err is why its answer was not used. Only the error's type
// is recorded: provider messages and validation errors can quote the prompt or the answer.
func endSpan(span trace.Span, err error) {
	if err != nil {
		typ := errorType(err)
		span.SetAttributes(errorTypeKey.String(typ))
		span.SetStatus(codes.Error, typ)
	}
	span.End()
}

// errorType names a failed attempt: the HTTP status for a provider error, else "timeout",
// "canceled", "connection", "no_choices" or "invalid_answer", else "_OTHER".
func errorType(err error) string {
	var reqErr *openai.RequestError
	var apiErr *openai.APIError
	var netErr net.Error
	switch {
	case errors.Is(err, ErrInvalidAnswer):
		return "invalid_answer"
	case errors.Is(err, errNoChoices):
		return "no_choices"
	case errors.As(err, &reqErr) && reqErr.HTTPStatusCode != 0:
		return strconv.Itoa(reqErr.HTTPStatusCode)
	case errors.As(err, &apiErr) && apiErr.HTTPStatusCode != 0:
		return strconv.Itoa(apiErr.HTTPStatusCode)
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &netErr):
		if netErr.Timeout() {
			return "timeout"
		}
		return "connection"
	}
	return "_OTHER"
}
