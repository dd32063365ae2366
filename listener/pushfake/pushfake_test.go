package pushfake_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/SherClockHolmes/webpush-go"

	"github.com/flux-companion/flux/listener/pushfake"
)

// vapidKey is an application server key pair, kept as an *ecdsa.PrivateKey so tests can sign
// JWTs of their own.
type vapidKey struct {
	priv    *ecdsa.PrivateKey
	public  string // base64url
	private string // base64url
}

func newVAPIDKey(t *testing.T) vapidKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := priv.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := priv.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return vapidKey{priv, b64(pub), b64(raw)}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func setup(t *testing.T) (*pushfake.Server, vapidKey) {
	t.Helper()
	k := newVAPIDKey(t)
	s, err := pushfake.Start(k.public)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, k
}

// capture is a webpush.HTTPClient that keeps the request instead of sending it.
type capture struct {
	header http.Header
	body   []byte
}

func (c *capture) Do(r *http.Request) (*http.Response, error) {
	c.header = r.Header.Clone()
	c.body, _ = io.ReadAll(r.Body)
	return &http.Response{StatusCode: http.StatusCreated, Body: http.NoBody}, nil
}

// encrypt returns the headers and body the real webpush-go client would send, so a test can
// alter one thing and replay it.
func encrypt(t *testing.T, sub pushfake.Subscription, k vapidKey, payload []byte) (http.Header, []byte) {
	t.Helper()
	c := &capture{}
	_, err := webpush.SendNotificationWithContext(context.Background(), payload,
		&webpush.Subscription{Endpoint: sub.Endpoint, Keys: webpush.Keys{P256dh: sub.P256dh, Auth: sub.Auth}},
		&webpush.Options{HTTPClient: c, Subscriber: "ops@flux.example", TTL: 60,
			VAPIDPublicKey: k.public, VAPIDPrivateKey: k.private})
	if err != nil {
		t.Fatal(err)
	}
	return c.header, c.body
}

type answer struct {
	status int
	header http.Header
	body   string
}

func post(t *testing.T, s *pushfake.Server, endpoint string, header http.Header, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// vapidAuth builds "vapid t=<JWT signed by signer>, k=<k>".
func vapidAuth(t *testing.T, signer *ecdsa.PrivateKey, k string, claims map[string]any) string {
	t.Helper()
	head := b64([]byte(`{"typ":"JWT","alg":"ES256"}`))
	body, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := head + "." + b64(body)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, signer, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return "vapid t=" + input + "." + b64(sig) + ", k=" + k
}

func TestVAPID(t *testing.T) {
	t.Parallel()
	other := newVAPIDKey(t)
	claims := func(s *pushfake.Server, change func(map[string]any)) map[string]any {
		c := map[string]any{"aud": s.URL(), "exp": time.Now().Add(12 * time.Hour).Unix(), "sub": "mailto:ops@flux.example"}
		change(c)
		return c
	}
	same := func(map[string]any) {}
	// signed makes the header with a JWT of the key the server expects, its claims changed by change.
	signed := func(change func(map[string]any)) func(*testing.T, *pushfake.Server, vapidKey) string {
		return func(t *testing.T, s *pushfake.Server, k vapidKey) string {
			return vapidAuth(t, k.priv, k.public, claims(s, change))
		}
	}
	for _, tc := range []struct {
		name string
		auth func(t *testing.T, s *pushfake.Server, k vapidKey) string
		want int
	}{
		{"valid, crafted by hand", signed(same), http.StatusCreated},
		{"https subscriber", signed(func(c map[string]any) { c["sub"] = "https://flux.example/contact" }), http.StatusCreated},
		{"missing", func(*testing.T, *pushfake.Server, vapidKey) string { return "" }, http.StatusUnauthorized},
		{"other scheme", func(*testing.T, *pushfake.Server, vapidKey) string { return "Bearer abc" }, http.StatusUnauthorized},
		{"signed by another key, k of ours", func(t *testing.T, s *pushfake.Server, k vapidKey) string {
			return vapidAuth(t, other.priv, k.public, claims(s, same))
		}, http.StatusForbidden},
		{"another application server's key pair", func(t *testing.T, s *pushfake.Server, _ vapidKey) string {
			return vapidAuth(t, other.priv, other.public, claims(s, same))
		}, http.StatusForbidden},
		{"no k", func(t *testing.T, s *pushfake.Server, k vapidKey) string {
			a := vapidAuth(t, k.priv, k.public, claims(s, same))
			return a[:strings.Index(a, ", k=")]
		}, http.StatusForbidden},
		{"claims altered after signing", func(t *testing.T, s *pushfake.Server, k vapidKey) string {
			a := vapidAuth(t, k.priv, k.public, claims(s, same))
			forged := b64([]byte(`{"aud":"` + s.URL() + `","exp":9999999999,"sub":"mailto:ops@flux.example"}`))
			parts := strings.Split(a, ".")
			parts[1] = forged
			return strings.Join(parts, ".")
		}, http.StatusForbidden},
		{"aud of another push service", signed(func(c map[string]any) { c["aud"] = "https://fcm.googleapis.com" }), http.StatusForbidden},
		{"aud with a path", signed(func(c map[string]any) { c["aud"] = c["aud"].(string) + "/push" }), http.StatusForbidden},
		{"expired", signed(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }), http.StatusForbidden},
		{"exp more than 24h ahead", signed(func(c map[string]any) { c["exp"] = time.Now().Add(25 * time.Hour).Unix() }), http.StatusForbidden},
		{"no sub", signed(func(c map[string]any) { delete(c, "sub") }), http.StatusForbidden},
		{"doubled mailto:", signed(func(c map[string]any) { c["sub"] = "mailto:mailto:ops@flux.example" }), http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, k := setup(t)
			sub := s.NewSubscription()
			header, body := encrypt(t, sub, k, []byte("hello"))
			header.Set("Authorization", tc.auth(t, s, k))

			got := post(t, s, sub.Endpoint, header, body)
			if got.status != tc.want {
				t.Fatalf("status %d (%s), want %d", got.status, got.body, tc.want)
			}
			t.Logf("answer: %d %s", got.status, got.body)
			if tc.want == http.StatusCreated {
				if d := s.Deliveries(); len(d) != 1 || string(d[0].Payload) != "hello" {
					t.Fatalf("deliveries %+v, want the one message", d)
				}
				return
			}
			if d := s.Deliveries(); len(d) != 0 {
				t.Errorf("a refused message was delivered: %+v", d)
			}
			if r := s.Rejected(); len(r) != 1 || r[0].Status != tc.want || r[0].Reason == "" || r[0].Endpoint != sub.Endpoint {
				t.Errorf("rejections %+v, want one %d for %s with a reason", r, tc.want, sub.Endpoint)
			}
		})
	}
}

func TestMessageChecks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		alter func(s *pushfake.Server, k vapidKey, header http.Header, body []byte) []byte
		want  int
	}{
		{"no TTL", func(_ *pushfake.Server, _ vapidKey, h http.Header, b []byte) []byte {
			h.Del("TTL")
			return b
		}, http.StatusBadRequest},
		{"old aesgcm encoding", func(_ *pushfake.Server, _ vapidKey, h http.Header, b []byte) []byte {
			h.Set("Content-Encoding", "aesgcm")
			return b
		}, http.StatusBadRequest},
		{"ciphertext byte flipped", func(_ *pushfake.Server, _ vapidKey, _ http.Header, b []byte) []byte {
			b[len(b)-100] ^= 0x01
			return b
		}, http.StatusBadRequest},
		{"salt byte flipped", func(_ *pushfake.Server, _ vapidKey, _ http.Header, b []byte) []byte {
			b[0] ^= 0x01
			return b
		}, http.StatusBadRequest},
		{"truncated", func(_ *pushfake.Server, _ vapidKey, _ http.Header, b []byte) []byte {
			return b[:40]
		}, http.StatusBadRequest},
		{"encrypted for another browser", func(s *pushfake.Server, k vapidKey, _ http.Header, _ []byte) []byte {
			_, b := encrypt(t, s.NewSubscription(), k, []byte("hello"))
			return b
		}, http.StatusBadRequest},
		{"over 4096 bytes", func(_ *pushfake.Server, _ vapidKey, _ http.Header, b []byte) []byte {
			return append(b, 0)
		}, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, k := setup(t)
			sub := s.NewSubscription()
			header, body := encrypt(t, sub, k, []byte("hello"))
			body = tc.alter(s, k, header, body)

			got := post(t, s, sub.Endpoint, header, body)
			if got.status != tc.want {
				t.Fatalf("status %d (%s), want %d", got.status, got.body, tc.want)
			}
			t.Logf("answer: %d %s", got.status, got.body)
			if d := s.Deliveries(); len(d) != 0 {
				t.Errorf("a refused message was delivered: %+v", d)
			}
		})
	}
}

func TestDeliveryRecordsWhatTheDeviceSees(t *testing.T) {
	t.Parallel()
	s, k := setup(t)
	sub := s.NewSubscription()
	header, body := encrypt(t, sub, k, []byte(`{"title":"Call mom"}`))
	header.Set("TTL", "600")
	header.Set("Urgency", "high")
	header.Set("Topic", "task-42")

	got := post(t, s, sub.Endpoint, header, body)
	if got.status != http.StatusCreated || !strings.HasPrefix(got.header.Get("Location"), s.URL()+"/") {
		t.Fatalf("status %d, Location %q: want 201 and a message URL", got.status, got.header.Get("Location"))
	}
	d := s.Deliveries()
	if len(d) != 1 {
		t.Fatalf("%d deliveries, want 1", len(d))
	}
	if d[0].Endpoint != sub.Endpoint || string(d[0].Payload) != `{"title":"Call mom"}` ||
		d[0].TTL != 600 || d[0].Urgency != "high" || d[0].Topic != "task-42" || d[0].Time.IsZero() {
		t.Errorf("delivery %+v", d[0])
	}
}

func TestExpireOnlyThatSubscription(t *testing.T) {
	t.Parallel()
	s, k := setup(t)
	revoked, kept := s.NewSubscription(), s.NewSubscription()
	s.Expire(revoked.Endpoint)

	h, b := encrypt(t, revoked, k, []byte("x"))
	if got := post(t, s, revoked.Endpoint, h, b); got.status != http.StatusGone {
		t.Errorf("expired endpoint answered %d, want 410", got.status)
	}
	h, b = encrypt(t, kept, k, []byte("y"))
	if got := post(t, s, kept.Endpoint, h, b); got.status != http.StatusCreated {
		t.Errorf("another endpoint answered %d, want 201", got.status)
	}
	if d := s.Deliveries(); len(d) != 1 || d[0].Endpoint != kept.Endpoint {
		t.Errorf("deliveries %+v, want only the kept subscription's", d)
	}
}

func TestUnknownAndDeletedAre404(t *testing.T) {
	t.Parallel()
	s, k := setup(t)
	sub := s.NewSubscription()
	h, b := encrypt(t, sub, k, []byte("x"))
	if got := post(t, s, s.URL()+"/push/nobody", h, b); got.status != http.StatusNotFound {
		t.Errorf("unknown endpoint answered %d, want 404", got.status)
	}
	s.Delete(sub.Endpoint)
	if got := post(t, s, sub.Endpoint, h, b); got.status != http.StatusNotFound {
		t.Errorf("deleted endpoint answered %d, want 404", got.status)
	}
}

func TestFailNextThenRecovers(t *testing.T) {
	t.Parallel()
	s, k := setup(t)
	sub := s.NewSubscription()
	s.FailNext(2, http.StatusTooManyRequests)

	for i := range 2 {
		h, b := encrypt(t, sub, k, []byte("x"))
		got := post(t, s, sub.Endpoint, h, b)
		if got.status != http.StatusTooManyRequests || got.header.Get("Retry-After") == "" {
			t.Fatalf("attempt %d: status %d, Retry-After %q: want 429 with Retry-After", i+1, got.status, got.header.Get("Retry-After"))
		}
	}
	h, b := encrypt(t, sub, k, []byte("x"))
	if got := post(t, s, sub.Endpoint, h, b); got.status != http.StatusCreated {
		t.Fatalf("after the injected failures: status %d, want 201", got.status)
	}
	if d, r := s.Deliveries(), s.Rejected(); len(d) != 1 || len(r) != 2 {
		t.Errorf("%d deliveries and %d rejections, want 1 and 2", len(d), len(r))
	}
}

func TestCertPEMIsTrustable(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CertPEM()) {
		t.Fatal("CertPEM holds no certificate")
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Post(s.URL()+"/push/nobody", "application/octet-stream", nil)
	if err != nil {
		t.Fatalf("a client trusting CertPEM cannot reach the server: %v", err)
	}
	resp.Body.Close()
	if !strings.HasPrefix(s.URL(), "https://127.0.0.1:") {
		t.Errorf("URL %s, want https on loopback", s.URL())
	}
}

func TestStartRejectsBadKey(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"", "not base64!", b64([]byte("sixteen byte key"))} {
		if s, err := pushfake.Start(key); err == nil {
			s.Close()
			t.Errorf("Start(%q) accepted an invalid VAPID public key", key)
		}
	}
}
