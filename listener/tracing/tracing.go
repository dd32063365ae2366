// Package tracing exports the service's OpenTelemetry traces over OTLP/HTTP when the standard
// OTel environment variables ask for it, and does nothing otherwise.
//
// Setup is called once at start-up. With OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) set it installs an SDK tracer provider with a batch
// span processor and an OTLP/HTTP exporter as the global provider, and the W3C tracecontext
// propagator. Without them it changes nothing: the global provider stays OpenTelemetry's
// no-op one, spans cost a context lookup and nothing is sent anywhere.
//
// Code that traces a unit of work uses Start and End, which go through the global provider,
// so it needs no wiring and is free when tracing is off:
//
//	ctx, span := tracing.Start(ctx, "chat.turn", attribute.String("flux.message.id", id))
//	defer func() { tracing.End(span, err) }()
//
// LogHandler wraps the service's slog handler so that every line logged with a context that
// carries a span (log.InfoContext(ctx, ...)) has the span's trace_id and span_id, and the
// log lines of a unit of work meet its trace.
//
// Attributes never carry personal data: ids, counts, models, states and error types only,
// never message text, names, emails or phone numbers. End therefore records an error's type
// (ErrorType), not its message, which may quote what a user or a model wrote.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// DefaultServiceName is service.name when OTEL_SERVICE_NAME (or service.name in
// OTEL_RESOURCE_ATTRIBUTES) does not set one.
const DefaultServiceName = "flux"

// Variables are the OpenTelemetry environment variables a deployment sets to configure traces,
// as .env.example and the README document them: Setup reads the endpoints, the protocol, the
// compression, OTEL_TRACES_EXPORTER and OTEL_SDK_DISABLED itself, and the exporter and the SDK
// read the rest (each OTEL_EXPORTER_OTLP_ variable also has a _TRACES_ form that wins for
// traces, as the specification says).
var Variables = []string{
	"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS",
	"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_TIMEOUT",
	"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
	"OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED",
}

// ErrConfig is wrapped by every error Setup returns for a variable it cannot honour.
var ErrConfig = errors.New("tracing: unusable OpenTelemetry configuration")

// Shutdown flushes the spans still queued and stops exporting. It returns when they were
// sent or ctx is done.
type Shutdown func(ctx context.Context) error

// Setup reads the standard OpenTelemetry variables of the process environment and, when
// they ask for traces, starts exporting them; release is service.version (omitted when "").
// Export errors are logged to log (slog.Default() when nil) as warnings.
//
// Tracing is on when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT is set,
// unless OTEL_SDK_DISABLED is "true" or OTEL_TRACES_EXPORTER is "none". Otherwise Setup does
// nothing and returns a Shutdown that does nothing.
//
// When it is on, the exporter reads the OTEL_EXPORTER_OTLP_[TRACES_]* variables itself
// (endpoint, headers, timeout, compression, certificates), the SDK reads
// OTEL_TRACES_SAMPLER[_ARG], OTEL_BSP_* and OTEL_SPAN_*_LIMIT, and the resource takes
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. Only OTLP over HTTP is built in: a protocol
// of "grpc", an exporter other than "otlp", an endpoint that is not an http(s) URL or a
// compression other than gzip is refused with an error wrapping ErrConfig, rather than
// silently sending nowhere, and the global state is left as it was.
//
// Shutdown flushes, then puts back the global provider, propagator and error handler that
// were there before Setup (so tests can call Setup more than once).
func Setup(ctx context.Context, release string, log *slog.Logger) (Shutdown, error) {
	noop := func(context.Context) error { return nil }
	on, err := enabled(os.Getenv)
	if err != nil || !on {
		return noop, err
	}
	if log == nil {
		log = slog.Default()
	}

	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return noop, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	attrs := []resource.Option{resource.WithAttributes(semconv.ServiceName(DefaultServiceName))}
	if release != "" {
		attrs = append(attrs, resource.WithAttributes(semconv.ServiceVersion(release)))
	}
	// Later options win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the defaults.
	res, err := resource.New(ctx, append(attrs, resource.WithTelemetrySDK(), resource.WithFromEnv())...)
	if err != nil {
		// A partial resource is still returned; an unparsable OTEL_RESOURCE_ATTRIBUTES is
		// worth a warning, not a service without traces.
		log.LogAttrs(ctx, slog.LevelWarn, "tracing: resource incomplete", slog.String("err", err.Error()))
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))

	prevProvider, prevPropagator, prevHandler := otel.GetTracerProvider(), otel.GetTextMapPropagator(), otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.LogAttrs(context.Background(), slog.LevelWarn, "tracing: export failed", slog.String("err", err.Error()))
	}))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})

	return func(ctx context.Context) error {
		err := tp.Shutdown(ctx)
		otel.SetTracerProvider(prevProvider)
		otel.SetTextMapPropagator(prevPropagator)
		otel.SetErrorHandler(prevHandler)
		if err != nil {
			return fmt.Errorf("tracing: shutdown: %w", err)
		}
		return nil
	}, nil
}

// enabled decides from the environment whether to export, and refuses what would silently
// send nowhere.
func enabled(getenv func(string) string) (bool, error) {
	env := func(key string) string { return strings.TrimSpace(getenv(key)) }
	if strings.EqualFold(env("OTEL_SDK_DISABLED"), "true") {
		return false, nil
	}
	if v := env("OTEL_TRACES_EXPORTER"); v != "" {
		for e := range strings.SplitSeq(v, ",") {
			switch strings.ToLower(strings.TrimSpace(e)) {
			case "none":
				return false, nil
			case "otlp":
			default:
				return false, fmt.Errorf("%w: OTEL_TRACES_EXPORTER=%q: only otlp (or none) is built in", ErrConfig, v)
			}
		}
	}
	endpointKey := "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	endpoint := env(endpointKey)
	if endpoint == "" {
		endpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT"
		endpoint = env(endpointKey)
	}
	if endpoint == "" {
		return false, nil
	}
	// The exporter falls back to https://localhost:4318 on a URL it cannot parse.
	if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false, fmt.Errorf("%w: %s=%q is not an http(s) URL such as http://localhost:4318", ErrConfig, endpointKey, endpoint)
	}
	for _, key := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		switch v := env(key); v {
		case "":
			continue
		case "http/protobuf", "http/json":
		case "grpc":
			return false, fmt.Errorf("%w: %s=grpc: only OTLP over HTTP is built in; "+
				"set http/protobuf and the collector's OTLP/HTTP endpoint (usually port 4318)", ErrConfig, key)
		default:
			return false, fmt.Errorf("%w: %s=%q: want http/protobuf or http/json", ErrConfig, key, v)
		}
		break // the traces variable takes precedence
	}
	for _, key := range []string{"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"} {
		switch v := env(key); v {
		case "", "gzip", "none":
		default:
			return false, fmt.Errorf("%w: %s=%q: want gzip or none", ErrConfig, key, v)
		}
	}
	return true, nil
}
