package twilioclient

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
)

// Hosts twilio-go sends the products Flux uses to.
const (
	APIHost    = "api.twilio.com"
	VerifyHost = "verify.twilio.com"
)

// DefaultTimeout bounds each request when Config.Timeout is zero. It matches
// twilio-go's own default.
const DefaultTimeout = 10 * time.Second

// ErrHostNotAllowed is returned (wrapped in a *url.Error by net/http) for a
// request to a host that has no configured base URL while the client is in
// redirect mode.
var ErrHostNotAllowed = errors.New("twilioclient: host not allowed while base URLs are configured")

// Config configures New.
type Config struct {
	AccountSID string
	AuthToken  string
	// APIBaseURL replaces https://api.twilio.com (Messages, Calls).
	// Empty means real Twilio, unless VerifyBaseURL is set (see package doc).
	APIBaseURL string
	// VerifyBaseURL replaces https://verify.twilio.com (Verify v2).
	// Empty means real Twilio, unless APIBaseURL is set (see package doc).
	VerifyBaseURL string
	// Timeout bounds each request, including reading the response.
	// Zero means DefaultTimeout.
	Timeout time.Duration
}

// New returns a twilio-go client authenticated as cfg.AccountSID whose
// requests go to the configured base URLs.
func New(cfg Config) (*twilio.RestClient, error) {
	if cfg.AccountSID == "" || cfg.AuthToken == "" {
		return nil, errors.New("twilioclient: account SID and auth token are required")
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("twilioclient: negative timeout %v", cfg.Timeout)
	}
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)

	rt, err := newTransport(cfg.APIBaseURL, cfg.VerifyBaseURL)
	if err != nil {
		return nil, err
	}
	c := &client.Client{
		Credentials: client.NewCredentials(cfg.AccountSID, cfg.AuthToken),
		HTTPClient: &http.Client{
			Transport: rt,
			Timeout:   cfg.Timeout,
			// Same as twilio-go's default client: Twilio answers 3xx only for
			// fetches, and following them would bypass nothing but hide them.
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
	c.SetAccountSid(cfg.AccountSID)
	rc := twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})
	if len(rt.routes) > 0 {
		// TWILIO_EDGE / TWILIO_REGION (read by twilio-go from the
		// environment) would turn api.twilio.com into api.<edge>.<region>.twilio.com,
		// which the redirect would then refuse.
		rc.RequestHandler.Edge = ""
		rc.RequestHandler.Region = ""
	}
	return rc, nil
}

// transport rewrites Twilio hosts to base URLs. With no routes it passes
// requests through unchanged.
type transport struct {
	routes map[string]*url.URL // Twilio host -> base URL
	next   http.RoundTripper
}

func newTransport(apiBase, verifyBase string) (*transport, error) {
	// A private clone so idle connections are not shared with (or closed by) other users of
	// http.DefaultTransport. Every request goes to one or two hosts from many concurrent
	// senders: keep enough idle connections per host that they are reused, not redialled.
	next := http.DefaultTransport.(*http.Transport).Clone()
	next.MaxIdleConns, next.MaxIdleConnsPerHost = 256, 128
	t := &transport{routes: map[string]*url.URL{}, next: next}
	for _, r := range []struct{ name, host, raw string }{
		{"APIBaseURL", APIHost, apiBase},
		{"VerifyBaseURL", VerifyHost, verifyBase},
	} {
		if r.raw == "" {
			continue
		}
		u, err := parseBaseURL(r.raw)
		if err != nil {
			return nil, fmt.Errorf("twilioclient: %s %q: %w", r.name, r.raw, err)
		}
		t.routes[r.host] = u
	}
	return t, nil
}

func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("scheme must be http or https, got %q", u.Scheme)
	case u.Host == "":
		return nil, errors.New("missing host")
	case u.User != nil:
		return nil, errors.New("must not contain credentials")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, errors.New("must not contain a query or fragment")
	}
	return u, nil
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if len(t.routes) == 0 {
		return t.next.RoundTrip(req)
	}
	base, ok := t.routes[req.URL.Hostname()]
	if !ok {
		closeBody(req)
		return nil, fmt.Errorf("%w: %s", ErrHostNotAllowed, req.URL.Host)
	}

	// A RoundTripper must not modify the caller's request.
	out := req.Clone(req.Context())
	u := *req.URL
	u.Scheme = base.Scheme
	u.Host = base.Host
	u.Path = strings.TrimSuffix(base.Path, "/") + req.URL.Path
	u.RawPath = strings.TrimSuffix(base.EscapedPath(), "/") + req.URL.EscapedPath()
	out.URL = &u
	out.Host = "" // send the Host header of the new URL, not api.twilio.com
	return t.next.RoundTrip(out)
}

// closeBody honours the RoundTripper contract of closing the request body
// even when the request is not sent.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
