package llm

import (
	"cmp"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"
	"go.opentelemetry.io/otel/trace"
)

// Defaults for Config's zero values.
const (
	DefaultBaseURL      = "https://openrouter.ai/api/v1"
	DefaultTimeout      = 30 * time.Second
	DefaultRetries      = 2
	DefaultBackoff      = 250 * time.Millisecond
	DefaultMaxRetryWait = 5 * time.Second
)

// Config configures a Client. Zero values take the defaults above.
type Config struct {
	APIKey  string
	BaseURL string // OPENROUTER_BASE_URL; DefaultBaseURL when empty
	// Referer and Title are OpenRouter's attribution headers (HTTP-Referer,
	// X-Title); empty ones are not sent.
	Referer, Title string
	Timeout        time.Duration // per HTTP attempt
	// Retries is how many times a transport failure is retried per model
	// (0: DefaultRetries; negative: none).
	Retries int
	// Backoff is the wait before the first retry, doubled for each further one.
	Backoff time.Duration
	// MaxRetryWait caps any wait between retries, including a server's
	// Retry-After: a user is waiting for the chat to answer.
	MaxRetryWait time.Duration
	HTTPClient   *http.Client // its Transport is wrapped, not changed; http.DefaultTransport when nil
	Logger       *slog.Logger // slog.Default() when nil
	// TracerProvider gets a span for every attempt (see trace.go); nil means the global
	// provider at the time of the call, a no-op until the service sets tracing up.
	TracerProvider trace.TracerProvider
}

// Client calls models for the agents. It is safe for concurrent use.
type Client struct {
	api          *openai.Client
	timeout      time.Duration
	retries      int
	backoff      time.Duration
	maxRetryWait time.Duration
	log          *slog.Logger
	tp           trace.TracerProvider // nil: the global one
	server       server               // for the spans' server.address and server.port
}

// New returns a client for cfg.
func New(cfg Config) *Client {
	hc := &http.Client{}
	if cfg.HTTPClient != nil {
		copied := *cfg.HTTPClient // the caller's client stays as it was
		hc = &copied
	}
	hc.Transport = &transport{
		base:    cmp.Or[http.RoundTripper](hc.Transport, http.DefaultTransport),
		referer: cfg.Referer,
		title:   cfg.Title,
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	oc.BaseURL = strings.TrimRight(cmp.Or(cfg.BaseURL, DefaultBaseURL), "/")
	oc.HTTPClient = hc

	retries := cmp.Or(cfg.Retries, DefaultRetries)
	if retries < 0 {
		retries = 0
	}
	return &Client{
		api:          openai.NewClientWithConfig(oc),
		timeout:      cmp.Or(cfg.Timeout, DefaultTimeout),
		retries:      retries,
		backoff:      cmp.Or(cfg.Backoff, DefaultBackoff),
		maxRetryWait: cmp.Or(cfg.MaxRetryWait, DefaultMaxRetryWait),
		log:          cmp.Or(cfg.Logger, slog.Default()),
		tp:           cfg.TracerProvider,
		server:       parseServer(oc.BaseURL),
	}
}

// transport adds OpenRouter's attribution headers and reports Retry-After to
// the attempt that sent the request (see retryHint).
type transport struct {
	base           http.RoundTripper
	referer, title string
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.referer != "" || t.title != "" {
		req = req.Clone(req.Context()) // a RoundTripper must not modify its request
		if t.referer != "" {
			req.Header.Set("HTTP-Referer", t.referer)
		}
		if t.title != "" {
			req.Header.Set("X-Title", t.title)
		}
	}
	resp, err := t.base.RoundTrip(req)
	if err == nil {
		if hint, ok := req.Context().Value(retryHintKey{}).(*retryHint); ok {
			hint.set(parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()))
		}
	}
	return resp, err
}

// retryHint carries a response's Retry-After from the transport to the
// attempt: go-openai's errors do not expose response headers.
type retryHint struct{ after atomic.Int64 }

type retryHintKey struct{}

func (h *retryHint) set(d time.Duration) { h.after.Store(int64(d)) }
func (h *retryHint) get() time.Duration  { return time.Duration(h.after.Load()) }

// parseRetryAfter reads either form RFC 9110 allows: delay-seconds or an
// HTTP date. It returns 0 for a missing or unusable value.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		return max(time.Duration(secs)*time.Second, 0)
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0)
	}
	return 0
}
