package twiliofake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flux-companion/flux/internal/loopback"
)

// Request kinds.
const (
	KindMessage           = "message"
	KindCall              = "call"
	KindVerification      = "verification"
	KindVerificationCheck = "verification_check"
	KindMessageFetch      = "message_fetch" // GET …/Messages/{Sid}.json
	KindCallFetch         = "call_fetch"    // GET …/Calls/{Sid}.json
)

// Request is one API request the fake received.
type Request struct {
	Kind string     // one of the Kind constants
	Path string     // request path, e.g. /2010-04-01/Accounts/AC…/Messages.json
	Form url.Values // form-encoded request body
	// SID of the resource created or checked (SM…, CA…, VE…); empty for
	// failed requests.
	SID string
	// Status is the HTTP status the fake answered with; 0 when the request
	// timed out (Timeout failure).
	Status int
	Time   time.Time
	// Body is, for a created message, the text it carries: Body, or for a
	// template (ContentSid) send its body with the ContentVariables filled
	// in. Empty for other requests.
	Body string
	// Code is, for a verification, the code sent to the number (what the
	// person would read on their phone).
	Code string
}

// Failure is what FailNext makes the fake answer: an HTTP status code
// (400–599) or Timeout.
type Failure int

// Timeout makes a request hang until the client gives up or the server is
// closed, so the client sees a timeout.
const Timeout Failure = -1

// RetryAfterSeconds is the Retry-After header value sent with injected 429
// and 503 answers.
const RetryAfterSeconds = 1

// Server is a running fake Twilio.
type Server struct {
	authToken string
	url       string
	ls        *loopback.Server // its Closing releases Timeout handlers
	webhooks  *http.Client

	latency  atomic.Int64 // nanoseconds each API request takes, like a real network round trip
	observer atomic.Pointer[func(Request)]

	// Status callbacks and resource lifecycles run in goroutines on ctx,
	// which Close cancels before waiting for them (wg).
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	clock  atomic.Pointer[func() time.Time]

	mu            sync.Mutex
	closed        bool // set by Close; no lifecycle goroutine starts after it
	requests      []Request
	failed        []Request
	failures      []Failure                // injected, consumed front first
	verifications map[string]*verification // by To
	messages      map[string]*message      // by SID
	calls         map[string]*call         // by SID
	windows       map[string]time.Time     // WhatsApp customer-service window end, by number
	templates     map[string]Template      // by content SID
	outcomes      map[string]Outcome       // by number
	callbacks     []Callback
	cbChanged     chan struct{} // closed and replaced when callbacks grows
}

type verification struct {
	sid, serviceSID, accountSID, channel, code string
	created                                    time.Time
}

// SetLatency makes every API request take d before it is answered (0: answer at once), so a
// sender has requests in flight the way it does against the real API.
func (s *Server) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// Start starts a fake on 127.0.0.1 with a random port that accepts
// authToken as every account's auth token.
func Start(authToken string) (*Server, error) {
	return StartOn("127.0.0.1:0", authToken)
}

// StartOn is Start on a given address, e.g. "127.0.0.1:8099" for `flux dev`.
// The address must be a loopback one.
func StartOn(addr, authToken string) (*Server, error) {
	// twilio-go refuses non-alphanumeric credentials before sending
	// (error 21224), so such a token could never authenticate.
	if authToken == "" || strings.IndexFunc(authToken, notAlphanumeric) >= 0 {
		return nil, fmt.Errorf("twiliofake: auth token %q must be non-empty and alphanumeric", authToken)
	}
	ls, err := loopback.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("twiliofake: %w", err)
	}

	s := &Server{
		authToken: authToken,
		ls:        ls,
		url:       "http://" + ls.Addr(),
		webhooks: &http.Client{
			Timeout: 15 * time.Second, // Twilio's webhook timeout
			// Status callbacks come many at a time (several per message): keep connections to
			// the app open, as Twilio's own pool does, instead of dialing for each.
			Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second},
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		verifications: map[string]*verification{},
		messages:      map[string]*message{},
		calls:         map[string]*call{},
		windows:       map[string]time.Time{},
		templates:     map[string]Template{},
		outcomes:      map[string]Outcome{},
		cbChanged:     make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	ls.Serve(s.routes())
	return s, nil
}

// URL is the fake's base URL, e.g. http://127.0.0.1:41234. Use it as both
// twilioclient.Config.APIBaseURL and VerifyBaseURL.
func (s *Server) URL() string { return s.url }

// Close stops the server and waits for its handlers, including ones blocked
// by a Timeout failure, to return; then it stops the pending status
// callbacks (an in-flight one is aborted) and waits for their goroutines.
// It is safe to call more than once.
func (s *Server) Close() {
	s.ls.Close()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	s.webhooks.CloseIdleConnections()
}

// spawn runs f in a goroutine that Close cancels (through ctx) and waits
// for. After Close it does nothing.
func (s *Server) spawn(f func(ctx context.Context)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f(s.ctx)
	}()
}

// sleep waits d or until ctx is done; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// FailNext makes the next n API requests fail with f instead of being
// handled. It panics on a Failure that is neither Timeout nor 400–599.
func (s *Server) FailNext(n int, f Failure) {
	if f != Timeout && (f < 400 || f > 599) {
		panic(fmt.Sprintf("twiliofake: FailNext: invalid failure %d (want Timeout or 400-599)", f))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, slices.Repeat([]Failure{f}, max(n, 0))...)
}

// Requests returns the API requests that succeeded, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneRequests(s.requests)
}

// FailedRequests returns the API requests answered with an error (injected
// failures, auth and validation errors) or left to time out, oldest first.
func (s *Server) FailedRequests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneRequests(s.failed)
}

// Messages returns the successfully created messages, oldest first.
func (s *Server) Messages() []Request { return s.ofKind(KindMessage) }

// Calls returns the successfully created calls, oldest first.
func (s *Server) Calls() []Request { return s.ofKind(KindCall) }

// LastCode returns the OTP code of the pending verification for to, or ""
// if there is none.
func (s *Server) LastCode(to string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.verifications[to]; ok {
		return v.code
	}
	return ""
}

func (s *Server) ofKind(kind string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	if r.Status >= 200 && r.Status < 300 {
		s.requests = append(s.requests, r)
	} else {
		s.failed = append(s.failed, r)
	}
	s.mu.Unlock()
	if f := s.observer.Load(); f != nil && *f != nil {
		r.Form = cloneValues(r.Form)
		(*f)(r)
	}
}

// Observe calls f with every API request as it is answered (from the request's goroutine), e.g.
// for `flux dev` to print the traffic. nil stops it.
func (s *Server) Observe(f func(Request)) { s.observer.Store(&f) }

// nextFailure pops the next injected failure, if any.
func (s *Server) nextFailure() (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) == 0 {
		return 0, false
	}
	f := s.failures[0]
	s.failures = s.failures[1:]
	return f, true
}

// cloneRequests deep-copies so callers cannot race with or mutate the log.
func cloneRequests(rs []Request) []Request {
	out := slices.Clone(rs)
	for i := range out {
		out[i].Form = cloneValues(out[i].Form)
	}
	return out
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// newSID returns prefix + 32 lowercase hex digits, the shape of every
// Twilio SID (SM…, CA…, VE…, AC…).
func newSID(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return prefix + hex.EncodeToString(b)
}

func notAlphanumeric(r rune) bool {
	return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
}
