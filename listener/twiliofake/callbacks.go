package twiliofake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/flux-companion/flux/internal/loopback"
)

// Callback is one status callback the fake posted (or held back).
type Callback struct {
	URL    string // the StatusCallback URL, without the params of a GET
	Method string // POST, or GET when the call asked StatusCallbackMethod=GET
	Params url.Values
	// Token is the I-Twilio-Idempotency-Token header; a retry or duplicate
	// carries the same token as the first attempt.
	Token string
	// Attempt is 1, or 2 for Twilio's retry after a network error or an
	// Outcome.DuplicateCallbacks copy.
	Attempt int
	// Status is the HTTP status the app answered; 0 when there was no
	// answer (Err) or the callback was held.
	Status int
	Err    string // the network error, if any
	// Held: not posted because of Outcome.HoldCallbacks.
	Held bool
	Time time.Time
}

// SID is the MessageSid or CallSid the callback is about.
func (c Callback) SID() string {
	if sid := c.Params.Get("MessageSid"); sid != "" {
		return sid
	}
	return c.Params.Get("CallSid")
}

// State is the status the callback reports: MessageStatus or CallStatus.
func (c Callback) State() string {
	if st := c.Params.Get("MessageStatus"); st != "" {
		return st
	}
	return c.Params.Get("CallStatus")
}

// Callbacks returns every status callback attempt recorded so far (posted
// by the fake, held back, or sent with SendStatusCallback), oldest first.
func (s *Server) Callbacks() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneCallbacks(s.callbacks)
}

// WaitCallbacks waits until at least n callback attempts about sid (every
// SID if sid is "") are recorded, and returns them. It fails after timeout,
// or at once when the server is closed, returning what it has.
func (s *Server) WaitCallbacks(sid string, n int, timeout time.Duration) ([]Callback, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		var got []Callback
		for _, c := range s.callbacks {
			if sid == "" || c.SID() == sid {
				got = append(got, c)
			}
		}
		got = cloneCallbacks(got)
		changed := s.cbChanged
		s.mu.Unlock()
		if len(got) >= n {
			return got, nil
		}
		select {
		case <-changed:
		case <-deadline.C:
			return got, fmt.Errorf("twiliofake: %d callbacks for %q after %v, want %d", len(got), sid, timeout, n)
		case <-s.ctx.Done():
			return got, fmt.Errorf("twiliofake: server closed with %d callbacks for %q, want %d", len(got), sid, n)
		}
	}
}

func (s *Server) recordCallback(c Callback) {
	c.Params = cloneValues(c.Params)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callbacks = append(s.callbacks, c)
	close(s.cbChanged)
	s.cbChanged = make(chan struct{})
}

func cloneCallbacks(cs []Callback) []Callback {
	out := slices.Clone(cs)
	for i := range out {
		out[i].Params = cloneValues(out[i].Params)
	}
	return out
}

// deliver posts one status callback the way Twilio does by default: on a
// network error (no connection, no answer) it retries once after the
// callback delay with the same idempotency token (Twilio's connection
// override defaults rc=1, rp=ct,rt); an HTTP error status (4xx, 5xx) is
// not retried. Close aborts it.
func (s *Server) deliver(ctx context.Context, rawURL, method string, params url.Values, o Outcome) {
	c := Callback{URL: rawURL, Method: method, Params: params, Token: newSID(""), Attempt: 1, Time: time.Now()}
	if o.HoldCallbacks {
		c.Held = true
		s.recordCallback(c)
		return
	}
	err := s.attempt(ctx, c)
	c.Attempt = 2
	switch {
	case ctx.Err() != nil:
	case err != nil:
		if sleep(ctx, callbackDelay) {
			_ = s.attempt(ctx, c)
		}
	case o.DuplicateCallbacks:
		_ = s.attempt(ctx, c)
	}
}

// attempt posts c once and records the attempt, unless Close aborted it.
func (s *Server) attempt(ctx context.Context, c Callback) error {
	c.Time = time.Now()
	c, err := s.postCallback(ctx, c)
	if err != nil && (ctx.Err() != nil || s.closing()) {
		return err // aborted by Close: not an attempt Twilio made
	}
	s.recordCallback(c)
	return err
}

// postCallback posts c and fills in the app's HTTP status or the network error.
func (s *Server) postCallback(ctx context.Context, c Callback) (Callback, error) {
	resp, err := s.post(ctx, c.URL, c.Method, c.Params, c.Token)
	if err != nil {
		c.Err = err.Error()
		return c, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	c.Status = resp.StatusCode
	return c, nil
}

// SendStatusCallback posts params (see MessageStatusParams and
// CallStatusParams) to rawURL as a Twilio status callback, signed like
// SendWebhook, and records it in Callbacks. It returns the app's HTTP
// status. Tests use it to replay, reorder, delay or duplicate callbacks.
func (s *Server) SendStatusCallback(ctx context.Context, rawURL string, params url.Values) (int, error) {
	if err := checkHookURL(rawURL); err != nil {
		return 0, err
	}
	c := Callback{URL: rawURL, Method: http.MethodPost, Params: params, Token: newSID(""), Attempt: 1, Time: time.Now()}
	c, err := s.postCallback(ctx, c)
	s.recordCallback(c)
	return c.Status, err
}

func (s *Server) closing() bool {
	select {
	case <-s.ls.Closing():
		return true
	default:
		return false
	}
}

// checkHookURL accepts only http(s) URLs on a loopback host.
func checkHookURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("twiliofake: webhook URL %q: %w", rawURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("twiliofake: webhook URL %q: scheme must be http or https", rawURL)
	}
	if !loopback.IsLoopback(u.Hostname()) {
		return fmt.Errorf("twiliofake: webhook URL %q: host is not loopback", rawURL)
	}
	return nil
}

// post sends params to rawURL like Twilio: a form-encoded POST signed over
// the URL and the params, or a GET with the params appended to the query
// and signed over that full URL. rawURL must have passed checkHookURL.
func (s *Server) post(ctx context.Context, rawURL, method string, params url.Values, token string) (*http.Response, error) {
	if s.closing() {
		return nil, errors.New("twiliofake: server closed")
	}
	var req *http.Request
	var err error
	if method == http.MethodGet {
		full := rawURL
		if q := params.Encode(); q != "" {
			sep := "?"
			if strings.Contains(rawURL, "?") {
				sep = "&"
			}
			full += sep + q
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, full, nil)
		if err == nil {
			req.Header.Set("X-Twilio-Signature", Signature(s.authToken, full, nil))
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, rawURL, strings.NewReader(params.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", Signature(s.authToken, rawURL, params))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("twiliofake: webhook to %q: %w", rawURL, err)
	}
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	// Twilio retries deliveries with the same token; apps may dedupe on it.
	req.Header.Set("I-Twilio-Idempotency-Token", token)
	resp, err := s.webhooks.Do(req)
	if err != nil {
		return nil, fmt.Errorf("twiliofake: webhook to %q: %w", rawURL, err)
	}
	return resp, nil
}
