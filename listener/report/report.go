// Package report sends errors and recovered panics to Sentry, with nothing that could identify a
// person, and keeps a panic in one unit of work (a chat turn, a send) from stopping the others.
//
// A nil *Reporter is valid: it only logs. Events carry the release, the environment and the
// replica's roles; BeforeSend drops the request, user, breadcrumbs and free-form extras, and
// rewrites messages and exception values so that e-mail addresses, phone numbers, provider
// SIDs, tokens and quoted text (where error messages carry titles and message text) never leave.
package report

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/otel/trace"
)

// Config of a Reporter. An empty DSN disables it.
type Config struct {
	DSN         string // SENTRY_DSN
	Environment string // SENTRY_ENVIRONMENT
	Release     string // SENTRY_RELEASE, else the module's build version
	Roles       []string
	HTTPClient  *http.Client // tests point it at a loopback server
}

// Reporter captures errors and panics.
type Reporter struct {
	client *sentry.Client
	scope  *sentry.Scope
	log    *slog.Logger
}

// New returns a Reporter, or nil (log only) when cfg.DSN is empty.
func New(cfg Config, log *slog.Logger) (*Reporter, error) {
	if cfg.DSN == "" {
		return nil, nil
	}
	client, err := sentry.NewClient(sentry.ClientOptions{
		Dsn: cfg.DSN, Environment: cfg.Environment, Release: Release(cfg.Release),
		HTTPClient: cfg.HTTPClient, SendDefaultPII: false, AttachStacktrace: true,
		BeforeSend: func(e *sentry.Event, hint *sentry.EventHint) *sentry.Event { return withTrace(scrub(e), hint) },
	})
	if err != nil {
		return nil, fmt.Errorf("report: sentry: %w", err)
	}
	scope := sentry.NewScope()
	scope.SetTag("roles", strings.Join(cfg.Roles, ","))
	return &Reporter{client: client, scope: scope, log: log}, nil
}

// Release is the release events (and traces) are reported under: configured (SENTRY_RELEASE)
// when set, else "flux@" and the module's build version.
func Release(configured string) string {
	if configured == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			return "flux@" + bi.Main.Version
		}
	}
	return configured
}

// Error reports err from unit (logged in any case by the caller).
func (r *Reporter) Error(unit string, err error) {
	if r == nil || err == nil {
		return
	}
	r.capture(unit, func(h *sentry.Hub) { h.CaptureException(err) })
}

// Protect runs f as one unit of work. A panic in it is recovered, logged with its stack,
// reported, and returned as an error, so the caller fails that unit only.
func (r *Reporter) Protect(ctx context.Context, log *slog.Logger, unit string, f func() error) (err error) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		err = fmt.Errorf("%s: %w: %v", unit, ErrPanic, p)
		log.ErrorContext(ctx, "recovered a panic; this unit of work failed, the others go on",
			"unit", unit, "panic", fmt.Sprint(p), "stack", string(debug.Stack()), reportedKey, r != nil)
		if r != nil {
			r.capture(unit, func(h *sentry.Hub) { h.RecoverWithContext(ctx, p) })
		}
	}()
	return f()
}

// Flush waits up to timeout for events to be sent.
func (r *Reporter) Flush(timeout time.Duration) {
	if r != nil {
		r.client.Flush(timeout)
	}
}

func (r *Reporter) capture(unit string, f func(*sentry.Hub)) {
	hub := sentry.NewHub(r.client, r.scope.Clone())
	hub.ConfigureScope(func(s *sentry.Scope) { s.SetTag("unit", unit) })
	f(hub)
}

// withTrace sets the event's trace context to the OpenTelemetry span of the context it was
// captured in (a logged error's, a recovered panic's), so that the error meets its trace and
// its log lines: Sentry's "trace" context, trace_id and span_id in the same hex. Without a span
// the event has none (scrub dropped the SDK's own random one).
func withTrace(e *sentry.Event, hint *sentry.EventHint) *sentry.Event {
	if e == nil || hint == nil || hint.Context == nil {
		return e
	}
	sc := trace.SpanContextFromContext(hint.Context)
	if !sc.IsValid() {
		return e
	}
	if e.Contexts == nil {
		e.Contexts = map[string]sentry.Context{}
	}
	e.Contexts["trace"] = sentry.Context{"trace_id": sc.TraceID().String(), "span_id": sc.SpanID().String()}
	return e
}

// What could identify a person in an error message.
var (
	quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|“[^”]*”|'[^']*'`)
	email  = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	phone  = regexp.MustCompile(`\+?[0-9][0-9 ().-]{6,}[0-9]`)
	sid    = regexp.MustCompile(`\b(?:SM|MM|CA|VE|AC|HX|VA|PN)[0-9a-fA-F]{32}\b`)
	token  = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*|\b[A-Za-z0-9_-]{32,}\b`)
)

// Redact rewrites text so that nothing personal is left in it.
func Redact(s string) string {
	for _, re := range []*regexp.Regexp{quoted, email, sid, token, phone} {
		s = re.ReplaceAllString(s, "[redacted]")
	}
	return s
}

// scrub keeps what locates a fault (types, stack frames, tags) and drops or rewrites the rest.
// The breadcrumbs and free-form data the SDK could attach go with the request and the user.
func scrub(e *sentry.Event) *sentry.Event {
	e.User = sentry.User{}
	e.Request = nil
	e.Breadcrumbs = nil
	e.ServerName = ""
	e.Message = Redact(e.Message)
	for i := range e.Exception {
		e.Exception[i].Value = Redact(e.Exception[i].Value)
		bare(e.Exception[i].Stacktrace)
	}
	for i := range e.Threads {
		bare(e.Threads[i].Stacktrace)
	}
	for k := range e.Contexts {
		if k != "os" && k != "runtime" && k != "device" {
			delete(e.Contexts, k)
		}
	}
	return e
}

// reportedKey marks a log record whose event was captured already (a recovered panic, with its
// stack), so that Handler does not send it twice.
const reportedKey = "reported"

// bare keeps a stack's functions, files and lines: local variables hold user data, and the
// source lines around a frame are not needed to find it.
func bare(st *sentry.Stacktrace) {
	if st == nil {
		return
	}
	for i := range st.Frames {
		f := &st.Frames[i]
		f.Vars, f.PreContext, f.PostContext, f.ContextLine = nil, nil, nil, ""
	}
}

// ErrPanic marks an error made from a recovered panic (Protect).
var ErrPanic = errors.New("panic")

// Handler forwards every ERROR record of a logger to the Reporter, as an event named by the
// record's message with its error attribute (redacted): whatever a component logs as an error
// reaches Sentry without each call site knowing of it.
type Handler struct {
	slog.Handler
	r     *Reporter
	attrs []slog.Attr
}

// NewHandler wraps next; with a nil Reporter it returns next.
func NewHandler(next slog.Handler, r *Reporter) slog.Handler {
	if r == nil {
		return next
	}
	return &Handler{Handler: next, r: r}
}

func (h *Handler) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Level >= slog.LevelError {
		var errText string
		reported := false
		each := func(a slog.Attr) bool {
			switch a.Key {
			case "error", "panic":
				errText = a.Value.String()
			case reportedKey:
				reported = a.Value.Bool()
			}
			return true
		}
		for _, a := range h.attrs {
			each(a)
		}
		rec.Attrs(each)
		if reported {
			return h.Handler.Handle(ctx, rec)
		}
		h.r.capture("log", func(hub *sentry.Hub) {
			hub.CaptureEventWithHint(&sentry.Event{
				Level:     sentry.LevelError,
				Message:   rec.Message,
				Exception: []sentry.Exception{{Type: rec.Message, Value: errText}},
			}, &sentry.EventHint{Context: ctx})
		})
	}
	return h.Handler.Handle(ctx, rec)
}

func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	return &Handler{Handler: h.Handler.WithAttrs(as), r: h.r, attrs: append(append([]slog.Attr{}, h.attrs...), as...)}
}

func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{Handler: h.Handler.WithGroup(name), r: h.r, attrs: h.attrs}
}
