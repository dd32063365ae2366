package webpushclient

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/SherClockHolmes/webpush-go"
)

// defaultTimeout bounds one push so a hung push service cannot stall the dispatcher.
const defaultTimeout = 10 * time.Second

// Config is the application server's identity and delivery settings.
type Config struct {
	VAPIDPublicKey  string // base64url, as given to the browser's applicationServerKey
	VAPIDPrivateKey string // base64url
	Subscriber      string // contact for the push service: an e-mail (with or without mailto:) or an https URL
	HTTPClient      *http.Client
	// TTL is how many seconds the push service keeps the message for an offline device;
	// 0 means deliver now or drop.
	TTL int
}

// StatusError is a push service's non-2xx answer, with the start of its body: services put the
// reason there (a VAPID mismatch, an oversized payload).
type StatusError struct {
	Host   string // the push service, not the endpoint: the endpoint is a bearer capability
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("webpush: push service %s answered %d %s: %s",
		e.Host, e.Status, http.StatusText(e.Status), e.Body)
}

// Send encrypts payload for sub and posts it. It returns the HTTP status and, when the status
// is not 2xx, a *StatusError; when no answer arrived, status 0 and the cause. Pass both to
// Classify to decide what to do next.
func (c Config) Send(ctx context.Context, sub webpush.Subscription, payload []byte, urgency webpush.Urgency) (status int, err error) {
	host := endpointHost(sub.Endpoint)
	subscriber := strings.TrimPrefix(c.Subscriber, "mailto:")
	if subscriber == "" || c.VAPIDPublicKey == "" || c.VAPIDPrivateKey == "" {
		return 0, errors.New("webpush: Config needs VAPIDPublicKey, VAPIDPrivateKey and Subscriber")
	}
	resp, err := webpush.SendNotificationWithContext(ctx, payload, &sub, &webpush.Options{
		HTTPClient:      doer{cmp.Or(c.HTTPClient, defaultClient)},
		Subscriber:      subscriber,
		TTL:             c.TTL,
		Urgency:         urgency,
		VAPIDPublicKey:  c.VAPIDPublicKey,
		VAPIDPrivateKey: c.VAPIDPrivateKey,
	})
	if err != nil {
		return 0, fmt.Errorf("webpush: send to %s: %w", host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Drain a little so the connection can be reused.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return resp.StatusCode, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return resp.StatusCode, &StatusError{Host: host, Status: resp.StatusCode, Body: strings.TrimSpace(string(body))}
}

// Outcome is what a send result means for the subscription and the outbox row.
type Outcome int

const (
	Delivered Outcome = iota + 1 // the push service accepted the message
	Gone                         // the subscription no longer exists: delete it, do not retry
	Retry                        // transient: try again later
	Failed                       // our request is wrong: retrying the same request cannot succeed
)

func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Gone:
		return "gone"
	case Retry:
		return "retry"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Classify maps Send's result to an Outcome. An answer decides by its status; without one, a
// failed round trip (network, timeout, cancellation) is Retry and anything else (a malformed
// key, a payload over 4 KB) is Failed.
func Classify(status int, err error) Outcome {
	switch {
	case status == 0:
		if _, ok := errors.AsType[transportError](err); ok {
			return Retry
		}
		return Failed
	case status >= 200 && status < 300:
		return Delivered
	case status == http.StatusNotFound || status == http.StatusGone:
		return Gone
	case status == http.StatusTooManyRequests || status >= 500:
		return Retry
	default:
		return Failed
	}
}

// GenerateVAPIDKeys creates an application server key pair, both halves base64url.
func GenerateVAPIDKeys() (public, private string, err error) {
	private, public, err = webpush.GenerateVAPIDKeys() // webpush-go's order is (private, public)
	return public, private, err
}

// CAPool returns a client that trusts the system roots plus the PEM certificates in pemFile,
// e.g. the certificate of a local fake push service.
func CAPool(pemFile string) (*http.Client, error) {
	pemBytes, err := os.ReadFile(pemFile)
	if err != nil {
		return nil, fmt.Errorf("webpush: read CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool() // no system roots here; the file's certificates still count
	}
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("webpush: no PEM certificates in %s", pemFile)
	}
	tr := pushTransport()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: defaultTimeout}, nil
}

// defaultClient is shared by every Config without its own, so connections are reused.
var defaultClient = &http.Client{Transport: pushTransport(), Timeout: defaultTimeout}

// pushTransport keeps enough idle connections per push service (FCM, Mozilla, Apple serve
// everyone from a few hosts) for concurrent senders to reuse them instead of redialling.
func pushTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 64
	return tr
}

// doer marks errors from the HTTP round trip, the only ones worth retrying; webpush-go returns
// them mixed with errors from building the request.
type doer struct{ c *http.Client }

func (d doer) Do(r *http.Request) (*http.Response, error) {
	resp, err := d.c.Do(r)
	if err != nil {
		// *url.Error quotes the whole endpoint, whose path is the subscription's capability;
		// keep only the push service in what reaches logs.
		if ue, ok := err.(*url.Error); ok {
			ue.URL = r.URL.Scheme + "://" + r.URL.Host + "/…"
		}
		return nil, transportError{err}
	}
	return resp, nil
}

type transportError struct{ err error }

func (e transportError) Error() string { return e.err.Error() }
func (e transportError) Unwrap() error { return e.err }

// endpointHost names the push service for errors without leaking the endpoint's secret path.
func endpointHost(endpoint string) string {
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
		return u.Host
	}
	return "(unparsable endpoint)"
}
