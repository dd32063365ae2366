package service_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flux-companion/flux/listener/service"
	"github.com/flux-companion/flux/sql/pgtest"
)

// With a metrics address, /metrics leaves the public port (where Twilio and browsers reach the
// service) for its own.
func TestMetricsOnTheirOwnAddress(t *testing.T) {
	t.Parallel()
	url := pgtest.DB(t)
	listen := func() (net.Listener, string) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return ln, "http://" + ln.Addr().String()
	}
	pub, pubURL := listen()
	priv, privURL := listen()
	runService(t, service.Config{
		DatabaseURL: url, Listener: pub, MetricsListener: priv, PublicBaseURL: pubURL,
		DisableFeed: true, DisableDispatch: true,
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	get := func(u string) (int, string) {
		t.Helper()
		var resp *http.Response
		var err error
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if resp, err = http.Get(u); err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(privURL + "/metrics"); code != 200 || !strings.Contains(body, "flux_outbox_pending") {
		t.Fatalf("metrics address: %d %.200s", code, body)
	}
	if code, _ := get(pubURL + "/metrics"); code != 404 {
		t.Fatalf("public port still serves /metrics: %d", code)
	}
	if code, _ := get(pubURL + "/healthz"); code != 200 {
		t.Fatalf("healthz on the public port: %d", code)
	}
}
