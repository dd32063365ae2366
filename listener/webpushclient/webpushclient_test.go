package webpushclient_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/SherClockHolmes/webpush-go"
	"golang.org/x/sync/errgroup"

	"github.com/flux-companion/flux/listener/pushfake"
	"github.com/flux-companion/flux/listener/webpushclient"
)

// setup starts a fake push service for a fresh VAPID key pair and a Config that sends to it.
func setup(t *testing.T) (*pushfake.Server, webpushclient.Config) {
	t.Helper()
	public, private, err := webpushclient.GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	fake, err := pushfake.Start(public)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	return fake, webpushclient.Config{
		VAPIDPublicKey:  public,
		VAPIDPrivateKey: private,
		Subscriber:      "mailto:ops@flux.example", // with the prefix webpush-go would double
		HTTPClient:      fake.Client(),
		TTL:             600,
	}
}

func subscription(s pushfake.Subscription) webpush.Subscription {
	return webpush.Subscription{Endpoint: s.Endpoint, Keys: webpush.Keys{P256dh: s.P256dh, Auth: s.Auth}}
}

func taskPayload(t *testing.T, taskID string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"task_id": taskID, "title": "Call mom", "body": "Due at 18:00",
		"actions": []string{"done", "reschedule", "missed"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSendDeliversTheTaskPush(t *testing.T) {
	t.Parallel()
	fake, cfg := setup(t)
	sub := fake.NewSubscription()
	payload := taskPayload(t, "6f1c2a9e-0b7d-4c1e-9a57-3d2f8e4b1c00")

	status, err := cfg.Send(context.Background(), subscription(sub), payload, webpush.UrgencyHigh)
	if err != nil || status != http.StatusCreated {
		t.Fatalf("Send = %d, %v; want 201", status, err)
	}
	if got := webpushclient.Classify(status, err); got != webpushclient.Delivered {
		t.Errorf("Classify = %v, want delivered", got)
	}
	d := fake.Deliveries()
	if len(d) != 1 {
		t.Fatalf("%d deliveries, want 1", len(d))
	}
	if !bytes.Equal(d[0].Payload, payload) {
		t.Errorf("the device decrypted %s, want %s", d[0].Payload, payload)
	}
	if d[0].Endpoint != sub.Endpoint || d[0].TTL != 600 || d[0].Urgency != "high" {
		t.Errorf("delivery to %s with TTL %d, urgency %q; want %s, 600, high", d[0].Endpoint, d[0].TTL, d[0].Urgency, sub.Endpoint)
	}
}

func TestSendOutcomes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		arrange func(fake *pushfake.Server, cfg *webpushclient.Config, sub *pushfake.Subscription)
		status  int
		want    webpushclient.Outcome
	}{
		{"permission revoked", func(f *pushfake.Server, _ *webpushclient.Config, s *pushfake.Subscription) {
			f.Expire(s.Endpoint)
		}, http.StatusGone, webpushclient.Gone},
		{"unknown endpoint", func(f *pushfake.Server, _ *webpushclient.Config, s *pushfake.Subscription) {
			s.Endpoint = f.URL() + "/push/unknown"
		}, http.StatusNotFound, webpushclient.Gone},
		{"service forgot the subscription", func(f *pushfake.Server, _ *webpushclient.Config, s *pushfake.Subscription) {
			f.Delete(s.Endpoint)
		}, http.StatusNotFound, webpushclient.Gone},
		{"outage", func(f *pushfake.Server, _ *webpushclient.Config, _ *pushfake.Subscription) {
			f.FailNext(1, http.StatusServiceUnavailable)
		}, http.StatusServiceUnavailable, webpushclient.Retry},
		{"internal error", func(f *pushfake.Server, _ *webpushclient.Config, _ *pushfake.Subscription) {
			f.FailNext(1, http.StatusInternalServerError)
		}, http.StatusInternalServerError, webpushclient.Retry},
		{"rate limited", func(f *pushfake.Server, _ *webpushclient.Config, _ *pushfake.Subscription) {
			f.FailNext(1, http.StatusTooManyRequests)
		}, http.StatusTooManyRequests, webpushclient.Retry},
		{"signed with another VAPID key", func(_ *pushfake.Server, c *webpushclient.Config, _ *pushfake.Subscription) {
			public, private, err := webpushclient.GenerateVAPIDKeys()
			if err != nil {
				t.Fatal(err)
			}
			c.VAPIDPublicKey, c.VAPIDPrivateKey = public, private
		}, http.StatusForbidden, webpushclient.Failed},
		{"body corrupted on the way", func(f *pushfake.Server, c *webpushclient.Config, _ *pushfake.Subscription) {
			c.HTTPClient = &http.Client{Transport: flipByte{f.Client().Transport}}
		}, http.StatusBadRequest, webpushclient.Failed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake, cfg := setup(t)
			sub := fake.NewSubscription()
			tc.arrange(fake, &cfg, &sub)

			status, err := cfg.Send(context.Background(), subscription(sub), taskPayload(t, "t1"), webpush.UrgencyNormal)
			if status != tc.status {
				t.Fatalf("Send = %d, %v; want %d", status, err, tc.status)
			}
			if got := webpushclient.Classify(status, err); got != tc.want {
				t.Errorf("Classify(%d, %v) = %v, want %v", status, err, got, tc.want)
			}
			// The push service's reason reaches the dispatch log.
			var se *webpushclient.StatusError
			if !errors.As(err, &se) || se.Status != tc.status || se.Body == "" {
				t.Errorf("error %v, want a *StatusError with status %d and the service's reason", err, tc.status)
			}
			if strings.Contains(err.Error(), sub.Endpoint) {
				t.Errorf("error %q leaks the endpoint", err)
			}
			if d := fake.Deliveries(); len(d) != 0 {
				t.Errorf("the device received %d messages, want none", len(d))
			}
		})
	}
}

// flipByte corrupts one byte of the encrypted body after webpush-go has sealed it.
type flipByte struct{ next http.RoundTripper }

func (f flipByte) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	body[len(body)/2] ^= 0x80
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	return f.next.RoundTrip(r)
}

func TestRetryAfterOutageDelivers(t *testing.T) {
	t.Parallel()
	fake, cfg := setup(t)
	sub := subscription(fake.NewSubscription())
	fake.FailNext(1, http.StatusServiceUnavailable)

	status, err := cfg.Send(context.Background(), sub, []byte("first"), webpush.UrgencyNormal)
	if webpushclient.Classify(status, err) != webpushclient.Retry {
		t.Fatalf("first attempt: %d, %v; want a retryable answer", status, err)
	}
	status, err = cfg.Send(context.Background(), sub, []byte("second"), webpush.UrgencyNormal)
	if webpushclient.Classify(status, err) != webpushclient.Delivered {
		t.Fatalf("retry: %d, %v; want delivered", status, err)
	}
	if d := fake.Deliveries(); len(d) != 1 || string(d[0].Payload) != "second" {
		t.Errorf("deliveries %+v, want the retried message only", d)
	}
}

func TestSendWithoutAnAnswer(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name    string
		arrange func(fake *pushfake.Server, cfg *webpushclient.Config)
		ctx     context.Context // nil: context.Background()
		payload string          // "": "x"
		want    webpushclient.Outcome
	}{
		{name: "push service down", want: webpushclient.Retry, arrange: func(f *pushfake.Server, _ *webpushclient.Config) { f.Close() }},
		{name: "cancelled", ctx: cancelled, want: webpushclient.Retry},
		{name: "certificate not trusted", want: webpushclient.Retry,
			arrange: func(_ *pushfake.Server, c *webpushclient.Config) { c.HTTPClient = nil }}, // the default client does not trust the fake
		{name: "payload over 4 KB", payload: strings.Repeat("a", 4096), want: webpushclient.Failed},
		{name: "no subscriber", want: webpushclient.Failed,
			arrange: func(_ *pushfake.Server, c *webpushclient.Config) { c.Subscriber = "mailto:" }},
		{name: "malformed VAPID key", want: webpushclient.Failed,
			arrange: func(_ *pushfake.Server, c *webpushclient.Config) { c.VAPIDPrivateKey = "not base64!" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake, cfg := setup(t)
			sub := fake.NewSubscription()
			if tc.arrange != nil {
				tc.arrange(fake, &cfg)
			}

			ctx, payload := cmp.Or(tc.ctx, context.Background()), []byte(cmp.Or(tc.payload, "x"))
			status, err := cfg.Send(ctx, subscription(sub), payload, webpush.UrgencyNormal)
			if status != 0 || err == nil {
				t.Fatalf("Send = %d, %v; want no answer and an error", status, err)
			}
			if got := webpushclient.Classify(status, err); got != tc.want {
				t.Errorf("Classify(%v) = %v, want %v", err, got, tc.want)
			}
			if strings.Contains(err.Error(), sub.Endpoint) {
				t.Errorf("error %q leaks the endpoint", err)
			}
			if d := fake.Deliveries(); len(d) != 0 {
				t.Errorf("the device received %d messages, want none", len(d))
			}
		})
	}
}

func TestConcurrentSends(t *testing.T) {
	t.Parallel()
	fake, cfg := setup(t)
	const n = 50
	subs := make([]pushfake.Subscription, n)
	for i := range subs {
		subs[i] = fake.NewSubscription()
	}

	var g errgroup.Group
	for i, sub := range subs {
		g.Go(func() error {
			status, err := cfg.Send(context.Background(), subscription(sub), taskPayload(t, fmt.Sprint(i)), webpush.UrgencyHigh)
			if webpushclient.Classify(status, err) != webpushclient.Delivered {
				return fmt.Errorf("send %d: %d, %v", i, status, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}

	got := map[string][]byte{}
	for _, d := range fake.Deliveries() {
		got[d.Endpoint] = d.Payload
	}
	if len(got) != n {
		t.Fatalf("%d subscriptions received a message, want %d", len(got), n)
	}
	for i, sub := range subs {
		if want := taskPayload(t, fmt.Sprint(i)); !bytes.Equal(got[sub.Endpoint], want) {
			t.Errorf("subscription %d decrypted %s, want %s", i, got[sub.Endpoint], want)
		}
	}
}

func TestCAPoolTrustsTheFake(t *testing.T) {
	t.Parallel()
	fake, cfg := setup(t)
	caFile := filepath.Join(t.TempDir(), "pushfake.pem")
	if err := os.WriteFile(caFile, fake.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	client, err := webpushclient.CAPool(caFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTPClient = client

	status, err := cfg.Send(context.Background(), subscription(fake.NewSubscription()), []byte("hi"), webpush.UrgencyNormal)
	if webpushclient.Classify(status, err) != webpushclient.Delivered {
		t.Fatalf("Send through CAPool's client = %d, %v; want delivered", status, err)
	}

	notPEM := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := webpushclient.CAPool(notPEM); err == nil {
		t.Error("CAPool accepted a file without certificates")
	}
	if _, err := webpushclient.CAPool(filepath.Join(t.TempDir(), "missing.pem")); err == nil {
		t.Error("CAPool accepted a missing file")
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		err    error
		want   webpushclient.Outcome
	}{
		{200, nil, webpushclient.Delivered},
		{201, nil, webpushclient.Delivered},
		{202, nil, webpushclient.Delivered},
		{404, nil, webpushclient.Gone},
		{410, nil, webpushclient.Gone},
		{429, nil, webpushclient.Retry},
		{500, nil, webpushclient.Retry},
		{502, nil, webpushclient.Retry},
		{503, nil, webpushclient.Retry},
		{400, nil, webpushclient.Failed},
		{401, nil, webpushclient.Failed},
		{403, nil, webpushclient.Failed},
		{413, nil, webpushclient.Failed},
		{0, errors.New("bad key"), webpushclient.Failed},
	} {
		if got := webpushclient.Classify(tc.status, tc.err); got != tc.want {
			t.Errorf("Classify(%d, %v) = %v, want %v", tc.status, tc.err, got, tc.want)
		}
	}
}
