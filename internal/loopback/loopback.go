// Package loopback serves HTTP on this machine only: the local fakes of Twilio, the push
// service and OpenRouter, which tests and `flux dev` start from both the listener and the
// agents. It is internal: nothing outside this module needs it.
package loopback

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// IsLoopback reports whether host (a name or an IP, no port) is this machine.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Server is an HTTP server bound to a loopback address. Handlers that block (a simulated hang
// or delay) select on Closing, so Close can release them and wait for every handler to return.
type Server struct {
	ln        net.Listener
	srv       *http.Server
	served    chan struct{}
	closing   chan struct{}
	closeOnce sync.Once
}

// Listen binds addr ("127.0.0.1:0" for a free port) and refuses anything but loopback. The
// server does not serve until Serve.
func Listen(addr string) (*Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", addr, err)
	}
	if !IsLoopback(host) {
		return nil, fmt.Errorf("address %q is not loopback", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %q: %w", addr, err)
	}
	return &Server{ln: ln, served: make(chan struct{}), closing: make(chan struct{})}, nil
}

// Addr is the bound host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Closing is closed when Close starts.
func (s *Server) Closing() <-chan struct{} { return s.closing }

// Serve serves h in the background until Close.
func (s *Server) Serve(h http.Handler) {
	s.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(s.ln) // http.ErrServerClosed after Close
	}()
}

// Close releases blocked handlers, stops the server and waits for every handler to return.
// It is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		if s.srv == nil {
			_ = s.ln.Close()
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// Shutdown waits for active handlers, which closing s.closing released; Close is the
		// fallback for one that does not return.
		if err := s.srv.Shutdown(ctx); err != nil {
			_ = s.srv.Close()
		}
		<-s.served
	})
}
