package twilioclient_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/flux-companion/flux/listener/twilioclient"
)

const (
	sid   = "AC0123456789abcdef0123456789abcdef"
	token = "authtoken0123"
)

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		cfg  twilioclient.Config
		want string
	}{
		"no credentials":    {twilioclient.Config{APIBaseURL: "http://127.0.0.1:1"}, "account SID and auth token"},
		"bad scheme":        {twilioclient.Config{AccountSID: sid, AuthToken: token, APIBaseURL: "ftp://127.0.0.1"}, `APIBaseURL "ftp://127.0.0.1": scheme`},
		"unparsable":        {twilioclient.Config{AccountSID: sid, AuthToken: token, VerifyBaseURL: "http://[::1"}, `VerifyBaseURL "http://[::1"`},
		"no host":           {twilioclient.Config{AccountSID: sid, AuthToken: token, APIBaseURL: "http:///x"}, "missing host"},
		"relative":          {twilioclient.Config{AccountSID: sid, AuthToken: token, APIBaseURL: "127.0.0.1:8080"}, "APIBaseURL"},
		"negative timeout":  {twilioclient.Config{AccountSID: sid, AuthToken: token, Timeout: -time.Second}, "negative timeout"},
		"query in base URL": {twilioclient.Config{AccountSID: sid, AuthToken: token, APIBaseURL: "http://127.0.0.1/?a=b"}, "query"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := twilioclient.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// The rewrite keeps path and query, prefixes the base URL's path, sends the
// new Host and keeps Basic auth.
func TestNewRewritesTwilioHosts(t *testing.T) {
	t.Parallel()
	type seen struct{ host, path, user, pass string }
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		got <- seen{r.Host, r.URL.Path, user, pass}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued"}`)
	}))
	t.Cleanup(srv.Close)

	rc, err := twilioclient.New(twilioclient.Config{
		AccountSID: sid, AuthToken: token,
		APIBaseURL: srv.URL + "/twilio/", VerifyBaseURL: srv.URL,
	})
	if err != nil {
		t.Fatal(err)
	}
	to, from, body := "whatsapp:+4915112345678", "whatsapp:+14155238886", "hi"
	msg, err := rc.Api.CreateMessage(&openapi.CreateMessageParams{To: &to, From: &from, Body: &body})
	if err != nil {
		t.Fatalf("CreateMessage: %v", err)
	}
	if *msg.Sid != "SM0123456789abcdef0123456789abcdef" {
		t.Errorf("sid = %s", *msg.Sid)
	}
	want := seen{strings.TrimPrefix(srv.URL, "http://"), "/twilio/2010-04-01/Accounts/" + sid + "/Messages.json", sid, token}
	if s := <-got; s != want {
		t.Errorf("request = %+v, want %+v", s, want)
	}
}

func TestNewRefusesOtherHosts(t *testing.T) {
	t.Parallel()
	// Only the API base URL is set: verify.twilio.com must be refused too,
	// not sent to real Twilio.
	rc, err := twilioclient.New(twilioclient.Config{AccountSID: sid, AuthToken: token, APIBaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{
		"https://example.com/2010-04-01/Accounts/" + sid + "/Messages.json",
		"https://verify.twilio.com/v2/Services/VA1/Verifications",
		"https://messaging.twilio.com/v1/Services",
	} {
		_, err := rc.Post(u, url.Values{"To": {"+1"}}, map[string]interface{}{}, "")
		if !errors.Is(err, twilioclient.ErrHostNotAllowed) {
			t.Errorf("POST %s: err = %v, want ErrHostNotAllowed", u, err)
		}
		if retry, _ := twilioclient.Classify(err); retry {
			t.Errorf("POST %s: refusal classified retryable", u)
		}
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	timeoutErr := &url.Error{Op: "Post", URL: "http://127.0.0.1", Err: timeoutError{}}
	refused := &url.Error{Op: "Post", URL: "http://127.0.0.1", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}
	for _, tc := range []struct {
		name      string
		err       error
		retryable bool
		status    int
	}{
		{"nil", nil, false, 0},
		{"429 rate limit", &client.TwilioRestError{Status: 429, Code: 20429}, true, 429},
		{"500", &client.TwilioRestError{Status: 500}, true, 500},
		{"503", fmt.Errorf("send: %w", &client.TwilioRestError{Status: 503}), true, 503},
		{"400 invalid number", &client.TwilioRestError{Status: 400, Code: 21211}, false, 400},
		{"401 bad credentials", &client.TwilioRestError{Status: 401, Code: 20003}, false, 401},
		{"404", &client.TwilioRestError{Status: 404, Code: 20404}, false, 404},
		{"v1 error 502", &client.RestErrorV1{HttpStatusCode: 502}, true, 502},
		{"non-JSON 502 page", fmt.Errorf("error decoding the response for an HTTP error code: 502: %w", errors.New("invalid character '<'")), true, 502},
		{"timeout", timeoutErr, true, 0},
		{"connection refused", refused, true, 0},
		{"host refused", &url.Error{Op: "Post", URL: "https://example.com", Err: fmt.Errorf("%w: example.com", twilioclient.ErrHostNotAllowed)}, false, 0},
		{"other", errors.New("boom"), false, 0},
	} {
		retry, status := twilioclient.Classify(tc.err)
		if retry != tc.retryable || status != tc.status {
			t.Errorf("%s: Classify = %v, %d; want %v, %d", tc.name, retry, status, tc.retryable, tc.status)
		}
	}
}

// A Twilio that is down (nothing listening) is worth retrying.
func TestClassifyConnectionRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	rc, err := twilioclient.New(twilioclient.Config{AccountSID: sid, AuthToken: token, APIBaseURL: "http://" + addr, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	to, from, body := "+1", "+2", "hi"
	_, err = rc.Api.CreateMessage(&openapi.CreateMessageParams{To: &to, From: &from, Body: &body})
	if retry, status := twilioclient.Classify(err); err == nil || !retry || status != 0 {
		t.Fatalf("Classify(%v) = %v, %d; want retryable, 0", err, retry, status)
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
