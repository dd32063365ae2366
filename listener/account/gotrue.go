package account

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	gotrue "github.com/supabase-community/gotrue-go"
	"github.com/supabase-community/gotrue-go/types"
)

// defaultAdminTimeout bounds an admin call when the caller's http.Client has no timeout (the same
// 10 s gotrue-go uses by default).
const defaultAdminTimeout = 10 * time.Second

type goTrueAdmin struct {
	url string // .../auth/v1
	key string
	hc  http.Client
}

// NewGoTrueAdmin returns an Admin that calls GoTrue's DELETE /admin/users/{id} with the service
// role key. baseURL is the project URL (https://<ref>.supabase.co); /auth/v1 is appended unless
// present. hc may be nil.
//
// gotrue-go's calls take no context. Each call is bounded by hc.Timeout (10 s when hc is nil or
// has none), and the call's context is also passed down to the transport, so cancelling it aborts
// the request in flight.
func NewGoTrueAdmin(baseURL, serviceRoleKey string, hc *http.Client) (Admin, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("account: GoTrue base URL must be http(s)://host, got %q", baseURL)
	}
	if serviceRoleKey == "" {
		return nil, errors.New("account: GoTrue admin needs the service role key")
	}
	if !strings.HasSuffix(u.Path, "/auth/v1") {
		u.Path += "/auth/v1"
	}
	u.RawQuery, u.Fragment = "", ""
	g := &goTrueAdmin{url: u.String(), key: serviceRoleKey}
	if hc != nil {
		g.hc = *hc
	}
	if g.hc.Timeout <= 0 {
		g.hc.Timeout = defaultAdminTimeout
	}
	if g.hc.Transport == nil {
		g.hc.Transport = http.DefaultTransport
	}
	return g, nil
}

func (g *goTrueAdmin) DeleteUser(ctx context.Context, id uuid.UUID) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("gotrue: delete user: %w", err)
	}
	// A transport per call: it carries this call's context and sees the status code, which
	// gotrue-go only reports inside its error text.
	rt := &callTransport{base: g.hc.Transport, ctx: ctx}
	defer rt.release()
	hc := g.hc
	hc.Transport = rt
	// The service role key is both the apikey and the bearer token, as GoTrue's admin API wants.
	client := gotrue.New("", g.key).WithCustomGoTrueURL(g.url).WithToken(g.key).WithClient(hc)
	err := client.AdminDeleteUser(types.AdminDeleteUserRequest{UserID: id})
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("gotrue: delete user: %w", context.Cause(ctx))
	}
	if rt.statusCode() == http.StatusNotFound {
		// Already deleted. Only GoTrue's own answer counts: a 404 from a wrong base URL must
		// not pass for an erasure.
		if msg := strings.ToLower(err.Error()); strings.Contains(msg, "user_not_found") || strings.Contains(msg, "user not found") {
			return nil
		}
		return fmt.Errorf("gotrue: delete user: 404 without GoTrue's user_not_found (is the base URL right?): %w", err)
	}
	return fmt.Errorf("gotrue: delete user: %w", err)
}

// callTransport ties the requests of one admin call to its context and records the last status.
type callTransport struct {
	base http.RoundTripper
	ctx  context.Context

	mu     sync.Mutex
	status int
	stops  []func()
}

func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// Derived from the request's own context, which carries http.Client.Timeout, and cancelled
	// with the call's context as well.
	ctx, cancel := context.WithCancelCause(req.Context())
	stop := context.AfterFunc(t.ctx, func() { cancel(context.Cause(t.ctx)) })
	t.mu.Lock()
	t.stops = append(t.stops, func() { stop(); cancel(nil) })
	t.mu.Unlock()
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if resp != nil {
		t.mu.Lock()
		t.status = resp.StatusCode
		t.mu.Unlock()
	}
	return resp, err
}

func (t *callTransport) statusCode() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.status
}

// release runs once the call has returned (gotrue-go has closed the response body by then).
func (t *callTransport) release() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, stop := range t.stops {
		stop()
	}
	t.stops = nil
}
