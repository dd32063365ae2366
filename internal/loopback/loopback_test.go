package loopback

import (
	"io"
	"net/http"
	"testing"
	"time"
)

func TestRefusesOtherAddresses(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:0", "example.com:80", "no-port"} {
		if s, err := Listen(addr); err == nil {
			s.Close()
			t.Errorf("Listen(%q) succeeded, want a refusal", addr)
		}
	}
	for host, want := range map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true, "10.0.0.1": false, "": false} {
		if IsLoopback(host) != want {
			t.Errorf("IsLoopback(%q) = %v", host, !want)
		}
	}
}

// Close releases a handler blocked on Closing and returns only after it did.
func TestCloseReleasesBlockedHandlers(t *testing.T) {
	t.Parallel()
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered, returned := make(chan struct{}), make(chan struct{})
	s.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(returned)
		close(entered)
		select {
		case <-s.Closing():
		case <-time.After(time.Hour):
		}
	}))
	go func() {
		resp, err := http.Get("http://" + s.Addr())
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	<-entered
	s.Close()
	select {
	case <-returned:
	default:
		t.Fatal("Close returned while a handler was still running")
	}
}
