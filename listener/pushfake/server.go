package pushfake

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxBody is the largest request body accepted. RFC 8030 requires push services to accept
// 4096-octet payloads and real services stop there (413), which is also exactly what
// webpush-go's padding produces.
const maxBody = 4096

// Subscription is what a browser's PushSubscription hands the application server.
type Subscription struct {
	Endpoint string `json:"endpoint"`
	P256dh   string `json:"p256dh"` // base64url (no padding) uncompressed P-256 point
	Auth     string `json:"auth"`   // base64url (no padding) 16-byte auth secret
}

// Delivery is a push message that was accepted and decrypted.
type Delivery struct {
	Endpoint string
	Payload  []byte // the plaintext the device would see
	TTL      int
	Urgency  string // "" when the sender did not set one
	Topic    string
	Time     time.Time
}

// Rejection is a request the service refused, with the status it answered and why.
type Rejection struct {
	Endpoint string
	Status   int
	Reason   string
	Time     time.Time
}

// Server is a running fake push service. Its methods are safe for concurrent use.
type Server struct {
	ts     *httptest.Server
	vapid  *ecdsa.PublicKey
	vapidK []byte // the raw key, compared with the k= parameter

	observer atomic.Pointer[func(Delivery)]

	mu         sync.Mutex
	subs       map[string]*subscriber // by push id
	expired    map[string]bool        // by push id
	failures   []int                  // statuses for the next requests, in order
	deliveries []Delivery
	rejected   []Rejection
}

// subscriber is the browser side of a subscription: the keys it keeps to itself.
type subscriber struct {
	key  *ecdh.PrivateKey
	auth []byte
}

// Start runs a fake push service that accepts messages signed by the VAPID key pair whose
// public half is vapidPublicKey (base64url, as webpush-go and browsers' applicationServerKey use).
func Start(vapidPublicKey string) (*Server, error) {
	raw, err := decodeBase64URL(vapidPublicKey)
	if err != nil {
		return nil, fmt.Errorf("pushfake: VAPID public key is not base64url: %w", err)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		return nil, fmt.Errorf("pushfake: VAPID public key is not an uncompressed P-256 point: %w", err)
	}
	// Listening ourselves rather than through httptest.NewUnstartedServer turns a bind failure
	// into an error instead of a panic, which matters under `flux dev`.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("pushfake: listen: %w", err)
	}
	s := &Server{
		vapid:   pub,
		vapidK:  raw,
		subs:    map[string]*subscriber{},
		expired: map[string]bool{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /push/{id}", s.push)
	s.ts = &httptest.Server{
		Listener: l,
		Config:   &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
	}
	s.ts.StartTLS()
	return s, nil
}

// URL is the service's base URL, https://127.0.0.1:port.
func (s *Server) URL() string { return s.ts.URL }

// Client returns an HTTP client that trusts the server's certificate.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// CertPEM is the server's certificate, for a process that trusts it through a CA file.
func (s *Server) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.ts.Certificate().Raw})
}

// Close stops the server, waiting for requests in flight.
func (s *Server) Close() { s.ts.Close() }

// NewSubscription subscribes a new "browser": a fresh P-256 key pair and auth secret, as
// PushManager.subscribe() creates them. The server keeps the private half to decrypt messages.
func (s *Server) NewSubscription() Subscription {
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		panic("pushfake: generate P-256 key: " + err.Error()) // crypto/rand does not fail
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	id := rand.Text()

	s.mu.Lock()
	s.subs[id] = &subscriber{key: key, auth: auth}
	s.mu.Unlock()
	return Subscription{
		Endpoint: s.endpoint(id),
		P256dh:   base64.RawURLEncoding.EncodeToString(key.PublicKey().Bytes()),
		Auth:     base64.RawURLEncoding.EncodeToString(auth),
	}
}

// Expire makes endpoint answer 410 Gone from now on, as when the user revokes the permission.
func (s *Server) Expire(endpoint string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expired[s.id(endpoint)] = true
}

// Delete forgets the subscription, so its endpoint answers 404 like an unknown one.
func (s *Server) Delete(endpoint string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.subs, s.id(endpoint))
}

// FailNext answers the next n requests, to any endpoint, with status before any other check.
// 429 and 503 carry "Retry-After: 1", as rate limits and outages do.
func (s *Server) FailNext(n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, slices.Repeat([]int{status}, max(n, 0))...)
}

// Deliveries returns the accepted messages in arrival order. A message is recorded before its
// 201 is sent, so a sender that saw 201 finds it here.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.deliveries)
	for i := range out {
		out[i].Payload = slices.Clone(out[i].Payload)
	}
	return out
}

// Observe calls f with every accepted message, decrypted, as it arrives (from the request's
// goroutine), e.g. for `flux dev` to print the traffic. nil stops it.
func (s *Server) Observe(f func(Delivery)) { s.observer.Store(&f) }

// Rejected returns the refused requests in arrival order.
func (s *Server) Rejected() []Rejection {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.rejected)
}

func (s *Server) endpoint(id string) string { return s.URL() + "/push/" + id }

func (s *Server) id(endpoint string) string {
	return strings.TrimPrefix(endpoint, s.URL()+"/push/")
}

// httpError is a refusal: the status, why, and Retry-After when the sender should wait.
type httpError struct {
	status     int
	reason     string
	retryAfter string
}

func (s *Server) push(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	d, herr := s.receive(r, id)
	now := time.Now()

	s.mu.Lock()
	if herr != nil {
		s.rejected = append(s.rejected, Rejection{Endpoint: s.endpoint(id), Status: herr.status, Reason: herr.reason, Time: now})
	} else {
		d.Time = now
		s.deliveries = append(s.deliveries, d)
	}
	s.mu.Unlock()
	if f := s.observer.Load(); herr == nil && f != nil && *f != nil {
		(*f)(d)
	}

	if herr != nil {
		if herr.retryAfter != "" {
			w.Header().Set("Retry-After", herr.retryAfter)
		}
		// The JSON shape of autopush's errors, so a sender logging the body sees the reason.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(herr.status)
		json.NewEncoder(w).Encode(map[string]any{
			"code": herr.status, "error": http.StatusText(herr.status), "message": herr.reason,
		})
		return
	}
	w.Header().Set("Location", s.URL()+"/m/"+rand.Text())
	w.WriteHeader(http.StatusCreated)
}

// receive applies a push service's checks in a push service's order: injected outages first,
// then routing (unknown, expired), then authentication, then the message itself.
func (s *Server) receive(r *http.Request, id string) (Delivery, *httpError) {
	s.mu.Lock()
	var injected int
	if len(s.failures) > 0 {
		injected, s.failures = s.failures[0], s.failures[1:]
	}
	sub, expired := s.subs[id], s.expired[id]
	s.mu.Unlock()

	switch {
	case injected != 0:
		e := &httpError{status: injected, reason: "injected failure"}
		if injected == http.StatusTooManyRequests || injected == http.StatusServiceUnavailable {
			e.retryAfter = "1"
		}
		return Delivery{}, e
	case expired:
		return Delivery{}, &httpError{status: http.StatusGone, reason: "subscription expired"}
	case sub == nil:
		return Delivery{}, &httpError{status: http.StatusNotFound, reason: "no such subscription"}
	}
	if status, reason := s.checkVAPID(r.Header.Get("Authorization"), time.Now()); status != 0 {
		return Delivery{}, &httpError{status: status, reason: reason}
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "aes128gcm" {
		return Delivery{}, &httpError{status: http.StatusBadRequest, reason: fmt.Sprintf("Content-Encoding %q, want aes128gcm", ce)}
	}
	ttl, err := strconv.Atoi(r.Header.Get("TTL"))
	if err != nil || ttl < 0 {
		return Delivery{}, &httpError{status: http.StatusBadRequest, reason: fmt.Sprintf("TTL header %q is not a non-negative integer", r.Header.Get("TTL"))}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return Delivery{}, &httpError{status: http.StatusRequestEntityTooLarge, reason: fmt.Sprintf("body larger than %d bytes", maxBody)}
		}
		return Delivery{}, &httpError{status: http.StatusBadRequest, reason: "read body: " + err.Error()}
	}
	payload, err := sub.decrypt(body)
	if err != nil {
		return Delivery{}, &httpError{status: http.StatusBadRequest, reason: "decrypt: " + err.Error()}
	}
	return Delivery{
		Endpoint: s.endpoint(id),
		Payload:  payload,
		TTL:      ttl,
		Urgency:  r.Header.Get("Urgency"),
		Topic:    r.Header.Get("Topic"),
	}, nil
}

// decodeBase64URL accepts keys with or without padding; both circulate.
func decodeBase64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
