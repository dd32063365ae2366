// Package otlpfake is an OTLP/HTTP trace receiver on a loopback address, for tests: it
// answers the way an OpenTelemetry collector does, so the service's real exporter
// (otlptracehttp, pointed at the fake with OTEL_EXPORTER_OTLP_ENDPOINT=URL()) is exercised
// end to end instead of an in-memory stand-in.
//
// It implements
//
//	POST /v1/traces
//
// for both OTLP/HTTP encodings: binary protobuf (Content-Type application/x-protobuf, the
// exporter's default) and JSON (application/json, OTLP's JSON mapping with hex trace and
// span ids), each optionally gzip-compressed (Content-Encoding gzip, which the exporter
// sends when OTEL_EXPORTER_OTLP_COMPRESSION=gzip). A decoded request is answered 200 with
// an empty ExportTraceServiceResponse in the request's encoding; another content type
// gets 415, a body that does not decode 400, as a collector answers them. FailWith makes
// the fake answer every request with an error status instead, to simulate a collector
// that is down.
//
// Every request is recorded (Requests: headers, encoding, how many spans it carried) and
// every span flattened into a Span (Spans), with ids in hex and attributes as plain Go
// values, so tests compare with ==. WaitFor waits, with a timeout of the caller's, for a
// number of spans to arrive, because the exporter sends in batches in the background;
// Outline renders spans as an indented tree of names for comparing a trace's shape.
//
// The server binds to loopback only (internal/loopback), and Close waits for its handlers.
package otlpfake
