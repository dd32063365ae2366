package otlpfake

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/flux-companion/flux/internal/loopback"
)

// TracesPath is where the exporter posts spans: OTEL_EXPORTER_OTLP_ENDPOINT plus this.
const TracesPath = "/v1/traces"

// Content types of the two OTLP/HTTP encodings.
const (
	ContentTypeProtobuf = "application/x-protobuf"
	ContentTypeJSON     = "application/json"
)

// maxBody bounds a request body after decompression; the exporter's batches are far smaller.
const maxBody = 16 << 20

// Span is one received span, flattened from its resource and scope.
type Span struct {
	Name string
	// TraceID and SpanID are lower-case hex; ParentSpanID is "" for a root span.
	TraceID, SpanID, ParentSpanID string
	Kind                          string // "internal", "server", "client", "producer", "consumer" or "unspecified"
	Start, End                    time.Time
	// Attributes hold string, bool, int64, float64, []byte, []any or map[string]any values.
	Attributes map[string]any
	Status     Status
	Events     []Event
	Links      []Link
	Scope      string         // the instrumentation scope (tracer) name
	Resource   map[string]any // the resource's attributes, e.g. service.name
}

// Duration is End minus Start.
func (s Span) Duration() time.Duration { return s.End.Sub(s.Start) }

// Status is a span's status.
type Status struct {
	Code    string // "unset", "ok" or "error"
	Message string
}

// Event is an event on a span.
type Event struct {
	Name       string
	Time       time.Time
	Attributes map[string]any
}

// Link points at another span.
type Link struct {
	TraceID, SpanID string
	Attributes      map[string]any
}

// Request is one POST the fake received.
type Request struct {
	Header      http.Header
	ContentType string // without parameters
	Encoding    string // Content-Encoding, "" when uncompressed
	Spans       int    // how many spans it carried; 0 when it was refused
	Status      int    // the HTTP status answered
}

// Server is a running receiver.
type Server struct {
	ls  *loopback.Server
	url string

	mu       sync.Mutex
	requests []Request
	spans    []Span
	failWith int
	changed  chan struct{} // closed and replaced whenever something is recorded
}

// Start starts a receiver on 127.0.0.1 with a random port.
func Start() (*Server, error) { return StartOn("127.0.0.1:0") }

// StartOn is Start on a given address, which must be a loopback one.
func StartOn(addr string) (*Server, error) {
	ls, err := loopback.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("otlpfake: %w", err)
	}
	s := &Server{ls: ls, url: "http://" + ls.Addr(), changed: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+TracesPath, s.traces)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "otlpfake: no route for "+r.Method+" "+r.URL.Path, http.StatusNotFound)
	})
	ls.Serve(mux)
	return s, nil
}

// URL is the base URL, e.g. http://127.0.0.1:41234: the value for
// OTEL_EXPORTER_OTLP_ENDPOINT, to which the exporter appends TracesPath.
func (s *Server) URL() string { return s.url }

// TracesURL is URL plus TracesPath: the value for OTEL_EXPORTER_OTLP_TRACES_ENDPOINT.
func (s *Server) TracesURL() string { return s.url + TracesPath }

// Close stops the server and waits for its handlers. It is safe to call more than once.
func (s *Server) Close() { s.ls.Close() }

// FailWith makes the fake answer every following request with status (no span is
// recorded); 0 returns to normal answers.
func (s *Server) FailWith(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failWith = status
}

// Requests returns the requests received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.requests)
	for i := range out {
		out[i].Header = out[i].Header.Clone()
	}
	return out
}

// Spans returns the spans received so far, in arrival order.
func (s *Server) Spans() []Span {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.spans)
}

// Trace returns the received spans of one trace, in arrival order.
func (s *Server) Trace(traceID string) []Span {
	return slices.DeleteFunc(s.Spans(), func(sp Span) bool { return sp.TraceID != traceID })
}

// WaitFor waits until at least n spans have arrived and returns all received so far. After
// timeout it returns what arrived with an error that names the spans seen.
func (s *Server) WaitFor(n int, timeout time.Duration) ([]Span, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		s.mu.Lock()
		spans, changed := slices.Clone(s.spans), s.changed
		s.mu.Unlock()
		if len(spans) >= n {
			return spans, nil
		}
		select {
		case <-changed:
		case <-t.C:
			return spans, fmt.Errorf("otlpfake: %d spans after %v, want %d; got:\n%s", len(spans), timeout, n, Outline(spans))
		}
	}
}

// WaitForRequests waits until at least n requests have arrived, refused ones included, and
// returns them; after timeout it returns what arrived with an error.
func (s *Server) WaitForRequests(n int, timeout time.Duration) ([]Request, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		s.mu.Lock()
		count, changed := len(s.requests), s.changed
		s.mu.Unlock()
		if count >= n {
			return s.Requests(), nil
		}
		select {
		case <-changed:
		case <-t.C:
			return s.Requests(), fmt.Errorf("otlpfake: %d requests after %v, want %d", count, timeout, n)
		}
	}
}

func (s *Server) traces(w http.ResponseWriter, r *http.Request) {
	req := Request{Header: r.Header.Clone(), Encoding: r.Header.Get("Content-Encoding")}
	req.ContentType, _, _ = mime.ParseMediaType(r.Header.Get("Content-Type"))
	spans, status, err := s.decode(r, req)
	req.Spans, req.Status = len(spans), status
	s.record(req, spans)
	if err != nil {
		http.Error(w, "otlpfake: "+err.Error(), status)
		return
	}
	// An empty ExportTraceServiceResponse: everything was accepted.
	var body []byte
	if req.ContentType == ContentTypeJSON {
		body = []byte("{}")
	} else {
		body, _ = proto.Marshal(&coltracepb.ExportTraceServiceResponse{}) // an empty message cannot fail
	}
	w.Header().Set("Content-Type", req.ContentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// decode reads the body and returns its spans, or the status to refuse it with.
func (s *Server) decode(r *http.Request, req Request) ([]Span, int, error) {
	s.mu.Lock()
	fail := s.failWith
	s.mu.Unlock()
	if fail != 0 {
		return nil, fail, fmt.Errorf("failing with %d as told", fail)
	}
	if req.ContentType != ContentTypeProtobuf && req.ContentType != ContentTypeJSON {
		return nil, http.StatusUnsupportedMediaType,
			fmt.Errorf("content type %q is neither %s nor %s", req.ContentType, ContentTypeProtobuf, ContentTypeJSON)
	}
	var body io.Reader = r.Body
	switch req.Encoding {
	case "", "identity":
	case "gzip":
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("gzip body: %w", err)
		}
		defer gz.Close()
		body = gz
	default:
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("content encoding %q is not supported", req.Encoding)
	}
	raw, err := io.ReadAll(io.LimitReader(body, maxBody+1))
	switch {
	case err != nil:
		return nil, http.StatusBadRequest, fmt.Errorf("read body: %w", err)
	case len(raw) > maxBody:
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body over %d bytes", maxBody)
	}
	var msg coltracepb.ExportTraceServiceRequest
	if req.ContentType == ContentTypeJSON {
		err = unmarshalJSON(raw, &msg)
	} else {
		err = proto.Unmarshal(raw, &msg)
	}
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("decode %s body: %w", req.ContentType, err)
	}
	return flatten(&msg), http.StatusOK, nil
}

func (s *Server) record(req Request, spans []Span) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req)
	s.spans = append(s.spans, spans...)
	close(s.changed)
	s.changed = make(chan struct{})
}

// unmarshalJSON decodes OTLP's JSON mapping, which differs from protojson's in one way that
// matters: trace and span ids are hex, not base64. They are rewritten before protojson reads
// the message.
func unmarshalJSON(raw []byte, msg *coltracepb.ExportTraceServiceRequest) error {
	var tree map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep 64-bit integers (times, intValue) exact
	if err := dec.Decode(&tree); err != nil {
		return err
	}
	for _, rs := range objects(tree["resourceSpans"]) {
		for _, ss := range objects(rs["scopeSpans"]) {
			for _, sp := range objects(ss["spans"]) {
				if err := hexToBase64(sp, "traceId", "spanId", "parentSpanId"); err != nil {
					return err
				}
				for _, l := range objects(sp["links"]) {
					if err := hexToBase64(l, "traceId", "spanId"); err != nil {
						return err
					}
				}
			}
		}
	}
	rewritten, err := json.Marshal(tree)
	if err != nil {
		return err
	}
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(rewritten, msg)
}

func objects(v any) []map[string]any {
	list, _ := v.([]any)
	var out []map[string]any
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func hexToBase64(m map[string]any, keys ...string) error {
	for _, k := range keys {
		v, ok := m[k].(string)
		if !ok {
			continue
		}
		b, err := hex.DecodeString(v)
		if err != nil {
			return fmt.Errorf("%s %q is not hex: %w", k, v, err)
		}
		m[k] = base64.StdEncoding.EncodeToString(b)
	}
	return nil
}

func flatten(msg *coltracepb.ExportTraceServiceRequest) []Span {
	var out []Span
	for _, rs := range msg.GetResourceSpans() {
		res := attributes(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				span := Span{
					Name:         sp.GetName(),
					TraceID:      hex.EncodeToString(sp.GetTraceId()),
					SpanID:       hex.EncodeToString(sp.GetSpanId()),
					ParentSpanID: hex.EncodeToString(sp.GetParentSpanId()),
					Kind:         kind(sp.GetKind()),
					Start:        unixNano(sp.GetStartTimeUnixNano()),
					End:          unixNano(sp.GetEndTimeUnixNano()),
					Attributes:   attributes(sp.GetAttributes()),
					Status:       Status{Code: statusCode(sp.GetStatus().GetCode()), Message: sp.GetStatus().GetMessage()},
					Scope:        ss.GetScope().GetName(),
					Resource:     res,
				}
				for _, e := range sp.GetEvents() {
					span.Events = append(span.Events, Event{
						Name: e.GetName(), Time: unixNano(e.GetTimeUnixNano()), Attributes: attributes(e.GetAttributes()),
					})
				}
				for _, l := range sp.GetLinks() {
					span.Links = append(span.Links, Link{
						TraceID: hex.EncodeToString(l.GetTraceId()), SpanID: hex.EncodeToString(l.GetSpanId()),
						Attributes: attributes(l.GetAttributes()),
					})
				}
				out = append(out, span)
			}
		}
	}
	return out
}

func unixNano(n uint64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, 0).Add(time.Duration(n)) // span times are well inside int64
}

func kind(k tracepb.Span_SpanKind) string {
	switch k {
	case tracepb.Span_SPAN_KIND_INTERNAL:
		return "internal"
	case tracepb.Span_SPAN_KIND_SERVER:
		return "server"
	case tracepb.Span_SPAN_KIND_CLIENT:
		return "client"
	case tracepb.Span_SPAN_KIND_PRODUCER:
		return "producer"
	case tracepb.Span_SPAN_KIND_CONSUMER:
		return "consumer"
	}
	return "unspecified"
}

func statusCode(c tracepb.Status_StatusCode) string {
	switch c {
	case tracepb.Status_STATUS_CODE_OK:
		return "ok"
	case tracepb.Status_STATUS_CODE_ERROR:
		return "error"
	}
	return "unset"
}

func attributes(kvs []*commonpb.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[kv.GetKey()] = value(kv.GetValue())
	}
	return m
}

func value(v *commonpb.AnyValue) any {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return x.DoubleValue
	case *commonpb.AnyValue_BytesValue:
		return x.BytesValue
	case *commonpb.AnyValue_ArrayValue:
		out := make([]any, 0, len(x.ArrayValue.GetValues()))
		for _, e := range x.ArrayValue.GetValues() {
			out = append(out, value(e))
		}
		return out
	case *commonpb.AnyValue_KvlistValue:
		return attributes(x.KvlistValue.GetValues())
	}
	return nil
}

// Outline renders spans as a tree of names, two spaces of indent a level: roots (spans whose
// parent is not among them) first, children under their parent, siblings in order of start
// time and then name. It is for comparing a trace's shape in a test:
//
//	chat.turn
//	  agent.orchestrator
//	    chat openai/gpt-4o
func Outline(spans []Span) string {
	ids := make(map[string]bool, len(spans))
	for _, sp := range spans {
		ids[sp.TraceID+sp.SpanID] = true
	}
	children := map[string][]Span{} // by parent's trace+span id; "" holds the roots
	for _, sp := range spans {
		parent := ""
		if sp.ParentSpanID != "" && ids[sp.TraceID+sp.ParentSpanID] {
			parent = sp.TraceID + sp.ParentSpanID
		}
		children[parent] = append(children[parent], sp)
	}
	for _, list := range children {
		sort.SliceStable(list, func(i, j int) bool {
			if !list[i].Start.Equal(list[j].Start) {
				return list[i].Start.Before(list[j].Start)
			}
			return list[i].Name < list[j].Name
		})
	}
	var b strings.Builder
	var walk func(parent string, depth int)
	walk = func(parent string, depth int) {
		for _, sp := range children[parent] {
			b.WriteString(strings.Repeat("  ", depth))
			b.WriteString(sp.Name)
			b.WriteByte('\n')
			walk(sp.TraceID+sp.SpanID, depth+1)
		}
	}
	walk("", 0)
	return b.String()
}

// Named returns the spans called name, in the order given.
func Named(spans []Span, name string) []Span {
	return slices.DeleteFunc(slices.Clone(spans), func(sp Span) bool { return sp.Name != name })
}

// ErrNoSpan is returned by One when no span has the name.
var ErrNoSpan = errors.New("otlpfake: no such span")

// One returns the only span called name, or an error if there is none or more than one.
func One(spans []Span, name string) (Span, error) {
	found := Named(spans, name)
	switch len(found) {
	case 0:
		return Span{}, fmt.Errorf("%w: %q", ErrNoSpan, name)
	case 1:
		return found[0], nil
	}
	return Span{}, fmt.Errorf("otlpfake: %d spans called %q, want one", len(found), name)
}
