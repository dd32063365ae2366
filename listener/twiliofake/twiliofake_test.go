package twiliofake_test

import (
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
	verify "github.com/twilio/twilio-go/rest/verify/v2"

	"github.com/flux-companion/flux/internal/testwait"
	"github.com/flux-companion/flux/listener/twilioclient"
	"github.com/flux-companion/flux/listener/twiliofake"
)

const (
	token      = "faketoken0123456789"
	serviceSID = "VA0123456789abcdef0123456789abcdef"
	userPhone  = "+4915112345678"
	fluxPhone  = "+14155238886"
)

var (
	smSID = regexp.MustCompile(`^SM[0-9a-f]{32}$`)
	caSID = regexp.MustCompile(`^CA[0-9a-f]{32}$`)
	veSID = regexp.MustCompile(`^VE[0-9a-f]{32}$`)
)

// setup starts a fake and a real twilio-go client pointed at it.
func setup(t *testing.T) (*twiliofake.Server, *twilio.RestClient) {
	t.Helper()
	srv, err := twiliofake.Start(token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv, newClient(t, srv, token, 5*time.Second)
}

func newClient(t *testing.T, srv *twiliofake.Server, authToken string, timeout time.Duration) *twilio.RestClient {
	t.Helper()
	rc, err := twilioclient.New(twilioclient.Config{
		AccountSID:    twiliofake.AccountSID,
		AuthToken:     authToken,
		APIBaseURL:    srv.URL(),
		VerifyBaseURL: srv.URL(),
		Timeout:       timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

func sendWhatsApp(rc *twilio.RestClient, body string) (*openapi.ApiV2010Message, error) {
	return rc.Api.CreateMessage(&openapi.CreateMessageParams{
		To:   ptr("whatsapp:" + userPhone),
		From: ptr("whatsapp:" + fluxPhone),
		Body: &body,
	})
}

func TestRealClientSendsMessageAndCall(t *testing.T) {
	t.Parallel()
	srv, rc := setup(t)

	msg, err := sendWhatsApp(rc, "Time for your run. 1 done, 2 reschedule, 3 missed")
	if err != nil {
		t.Fatalf("CreateMessage: %v", err)
	}
	if msg.Sid == nil || !smSID.MatchString(*msg.Sid) {
		t.Errorf("message sid = %v, want ^SM[0-9a-f]{32}$", deref(msg.Sid))
	}
	if deref(msg.Status) != "queued" || deref(msg.To) != "whatsapp:"+userPhone || deref(msg.AccountSid) != twiliofake.AccountSID {
		t.Errorf("message = status %q to %q account %q", deref(msg.Status), deref(msg.To), deref(msg.AccountSid))
	}
	if _, err := time.Parse(time.RFC1123Z, deref(msg.DateCreated)); err != nil {
		t.Errorf("date_created %q is not RFC1123Z: %v", deref(msg.DateCreated), err)
	}

	twiml := `<Response><Gather numDigits="1" action="http://127.0.0.1:1/voice/gather"><Say>Press 1 for done.</Say></Gather></Response>`
	call, err := rc.Api.CreateCall(&openapi.CreateCallParams{
		To:             ptr(userPhone),
		From:           ptr(fluxPhone),
		Twiml:          &twiml,
		StatusCallback: ptr("http://127.0.0.1:1/voice/status"),
	})
	if err != nil {
		t.Fatalf("CreateCall: %v", err)
	}
	if call.Sid == nil || !caSID.MatchString(*call.Sid) {
		t.Errorf("call sid = %v, want ^CA[0-9a-f]{32}$", deref(call.Sid))
	}

	msgs, calls := srv.Messages(), srv.Calls()
	if len(msgs) != 1 || len(calls) != 1 {
		t.Fatalf("recorded %d messages and %d calls, want 1 and 1", len(msgs), len(calls))
	}
	if got := msgs[0]; got.SID != *msg.Sid || got.Form.Get("To") != "whatsapp:"+userPhone ||
		!strings.HasPrefix(got.Form.Get("Body"), "Time for your run") {
		t.Errorf("recorded message = %+v", got)
	}
	if got := calls[0]; got.SID != *call.Sid || got.Form.Get("Twiml") != twiml ||
		got.Form.Get("StatusCallback") != "http://127.0.0.1:1/voice/status" {
		t.Errorf("recorded call = %+v", got)
	}
	if n := len(srv.FailedRequests()); n != 0 {
		t.Errorf("%d failed requests, want 0", n)
	}
}

func TestVerifyFlow(t *testing.T) {
	t.Parallel()
	srv, rc := setup(t)

	v, err := rc.VerifyV2.CreateVerification(serviceSID, &verify.CreateVerificationParams{To: ptr(userPhone), Channel: ptr("sms")})
	if err != nil {
		t.Fatalf("CreateVerification: %v", err)
	}
	if deref(v.Status) != "pending" || v.Sid == nil || !veSID.MatchString(*v.Sid) {
		t.Fatalf("verification = status %q sid %q, want pending VE…", deref(v.Status), deref(v.Sid))
	}
	code := srv.LastCode(userPhone)
	if len(code) != 6 {
		t.Fatalf("LastCode = %q, want 6 digits", code)
	}

	check := func(code string) (*verify.VerifyV2VerificationCheck, error) {
		return rc.VerifyV2.CreateVerificationCheck(serviceSID, &verify.CreateVerificationCheckParams{To: ptr(userPhone), Code: &code})
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	got, err := check(wrong)
	if err != nil || deref(got.Status) != "pending" || got.Valid == nil || *got.Valid {
		t.Fatalf("check wrong code = %+v, %v; want pending, not valid", got, err)
	}
	got, err = check(code)
	if err != nil || deref(got.Status) != "approved" || got.Valid == nil || !*got.Valid {
		t.Fatalf("check right code = %+v, %v; want approved, valid", got, err)
	}

	// The approved verification is used up, as on Twilio.
	_, err = check(code)
	if status, code := restCode(err); status != 404 || code != 20404 {
		t.Fatalf("second check = %v, want 404 / 20404", err)
	}
	if srv.LastCode(userPhone) != "" {
		t.Errorf("LastCode after approval = %q, want empty", srv.LastCode(userPhone))
	}
}

func TestCheckWithoutVerificationIsNotFound(t *testing.T) {
	t.Parallel()
	_, rc := setup(t)
	_, err := rc.VerifyV2.CreateVerificationCheck(serviceSID, &verify.CreateVerificationCheckParams{To: ptr(userPhone), Code: ptr("123456")})
	if status, code := restCode(err); status != 404 || code != 20404 {
		t.Fatalf("err = %v, want Twilio 404 / 20404", err)
	}
}

func TestWrongAuthToken(t *testing.T) {
	t.Parallel()
	srv, _ := setup(t)
	rc := newClient(t, srv, "wrongtoken", 5*time.Second)

	_, err := sendWhatsApp(rc, "hi")
	if status, code := restCode(err); status != 401 || code != 20003 {
		t.Fatalf("err = %v, want Twilio 401 / 20003", err)
	}
	if retry, _ := twilioclient.Classify(err); retry {
		t.Error("401 classified retryable")
	}
	if len(srv.Messages()) != 0 || len(srv.FailedRequests()) != 1 {
		t.Errorf("recorded %d messages, %d failed; want 0, 1", len(srv.Messages()), len(srv.FailedRequests()))
	}
}

func TestFailNextStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		failure   twiliofake.Failure
		retryable bool
	}{
		{503, true},
		{429, true},
		{500, true},
		{400, false},
	} {
		t.Run(http.StatusText(int(tc.failure)), func(t *testing.T) {
			t.Parallel()
			srv, rc := setup(t)
			srv.FailNext(1, tc.failure)

			_, err := sendWhatsApp(rc, "hi")
			retry, status := twilioclient.Classify(err)
			if err == nil || retry != tc.retryable || status != int(tc.failure) {
				t.Fatalf("Classify(%v) = %v, %d; want %v, %d", err, retry, status, tc.retryable, tc.failure)
			}
			if len(srv.Messages()) != 0 || len(srv.FailedRequests()) != 1 {
				t.Errorf("recorded %d messages, %d failed; want 0, 1", len(srv.Messages()), len(srv.FailedRequests()))
			}

			// Only the next request failed.
			if _, err := sendWhatsApp(rc, "again"); err != nil {
				t.Fatalf("request after the injected failure: %v", err)
			}
			if len(srv.Messages()) != 1 {
				t.Errorf("recorded %d messages after recovery, want 1", len(srv.Messages()))
			}
		})
	}
}

// twilio-go drops response headers on errors, so check Retry-After on the wire.
func TestRetryAfterHeader(t *testing.T) {
	t.Parallel()
	srv, _ := setup(t)
	srv.FailNext(1, 429)

	req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/2010-04-01/Accounts/"+twiliofake.AccountSID+"/Messages.json", nil)
	req.SetBasicAuth(twiliofake.AccountSID, token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("status %d, Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestMissingToIsPermanent(t *testing.T) {
	t.Parallel()
	srv, rc := setup(t)
	_, err := rc.Api.CreateMessage(&openapi.CreateMessageParams{From: ptr("whatsapp:" + fluxPhone), Body: ptr("hi")})
	if _, code := restCode(err); code != 21604 {
		t.Fatalf("err = %v, want Twilio error 21604", err)
	}
	if retry, status := twilioclient.Classify(err); retry || status != 400 {
		t.Errorf("Classify = %v, %d; want permanent 400", retry, status)
	}
	if len(srv.Messages()) != 0 {
		t.Errorf("invalid message recorded as sent")
	}
}

func TestFailNextTimeout(t *testing.T) {
	t.Parallel()
	srv, _ := setup(t)
	const timeout = 300 * time.Millisecond
	rc := newClient(t, srv, token, timeout)
	srv.FailNext(1, twiliofake.Timeout)

	start := time.Now()
	_, err := sendWhatsApp(rc, "hi")
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("request succeeded, want timeout")
	}
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Errorf("err = %v, want a timeout", err)
	}
	// Generous upper bound for slow CI; the point is it does not hang.
	if elapsed < timeout || elapsed > timeout+2*time.Second {
		t.Errorf("returned after %v, want about %v", elapsed, timeout)
	}
	if retry, status := twilioclient.Classify(err); !retry || status != 0 {
		t.Errorf("Classify = %v, %d; want retryable, 0", retry, status)
	}
	if f := srv.FailedRequests(); len(f) != 1 || f[0].Status != 0 || len(srv.Messages()) != 0 {
		t.Errorf("failed = %+v, messages = %d; want one timed-out request, no message", f, len(srv.Messages()))
	}
}

// Close must release a handler blocked by a Timeout failure even when the
// client would wait much longer, and the client must see an error.
func TestCloseReleasesHangingRequest(t *testing.T) {
	t.Parallel()
	srv, rc := setup(t) // client timeout 5s
	srv.FailNext(1, twiliofake.Timeout)

	errc := make(chan error, 1)
	go func() {
		_, err := sendWhatsApp(rc, "hi")
		errc <- err
	}()
	testwait.For(t, "the request to reach the fake", func() bool { return len(srv.FailedRequests()) > 0 })

	start := time.Now()
	srv.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v with a hanging request", d)
	}
	select {
	case err := <-errc:
		if err == nil {
			t.Error("hanging request succeeded after Close")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("client still blocked after Close")
	}
}

func TestSendWebhookIsSignedLikeTwilio(t *testing.T) {
	t.Parallel()
	srv, _ := setup(t)
	validator := client.NewRequestValidator(token)

	type delivery struct {
		sig    string
		params map[string]string
	}
	got := make(chan delivery, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		params := map[string]string{}
		for k := range r.PostForm {
			params[k] = r.PostForm.Get(k)
		}
		got <- delivery{r.Header.Get("X-Twilio-Signature"), params}
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, "<Response/>")
	}))
	t.Cleanup(app.Close)

	for name, params := range map[string]url.Values{
		"whatsapp": twiliofake.WhatsAppReplyParams(userPhone, "whatsapp:"+fluxPhone, "1"),
		"voice":    twiliofake.VoiceGatherParams("CA0123456789abcdef0123456789abcdef", fluxPhone, userPhone, "3"),
	} {
		hookURL := app.URL + "/webhooks/twilio/" + name + "?task=42"
		resp, err := srv.SendWebhook(context.Background(), hookURL, params)
		if err != nil {
			t.Fatalf("%s: SendWebhook: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: status %d", name, resp.StatusCode)
		}
		d := <-got

		if !validator.Validate(hookURL, d.params, d.sig) {
			t.Errorf("%s: twilio-go rejects the signature", name)
		}
		tampered := maps.Clone(d.params)
		tampered["From"] = "+10000000000"
		if validator.Validate(hookURL, tampered, d.sig) {
			t.Errorf("%s: tampered params still validate", name)
		}
		if validator.Validate(strings.Replace(hookURL, "task=42", "task=43", 1), d.params, d.sig) {
			t.Errorf("%s: signature valid for another URL", name)
		}
		wrongKey := client.NewRequestValidator("othertoken")
		if wrongKey.Validate(hookURL, d.params, d.sig) {
			t.Errorf("%s: signature valid under another auth token", name)
		}
	}
}

func TestWebhookParams(t *testing.T) {
	t.Parallel()
	wa := twiliofake.WhatsAppReplyParams(userPhone, fluxPhone, "done")
	if wa.Get("From") != "whatsapp:"+userPhone || wa.Get("To") != "whatsapp:"+fluxPhone ||
		wa.Get("Body") != "done" || wa.Get("NumMedia") != "0" || !smSID.MatchString(wa.Get("MessageSid")) {
		t.Errorf("WhatsAppReplyParams = %v", wa)
	}
	if a, b := wa.Get("MessageSid"), twiliofake.WhatsAppReplyParams(userPhone, fluxPhone, "done").Get("MessageSid"); a == b {
		t.Errorf("two replies share MessageSid %s", a)
	}
	v := twiliofake.VoiceGatherParams("CA1", fluxPhone, userPhone, "2")
	if v.Get("CallSid") != "CA1" || v.Get("Digits") != "2" || v.Get("CallStatus") != "in-progress" ||
		v.Get("Direction") != "outbound-api" || v.Get("AccountSid") != twiliofake.AccountSID {
		t.Errorf("VoiceGatherParams = %v", v)
	}
}

func TestSendWebhookRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	srv, _ := setup(t)
	for _, u := range []string{"https://example.com/hook", "http://10.0.0.1/hook", "ftp://127.0.0.1/hook"} {
		if _, err := srv.SendWebhook(context.Background(), u, url.Values{}); err == nil {
			t.Errorf("SendWebhook(%q) succeeded, want refusal", u)
		}
	}
}

func TestStartOnRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	if srv, err := twiliofake.StartOn("0.0.0.0:0", token); err == nil {
		srv.Close()
		t.Fatal("StartOn(0.0.0.0:0) succeeded, want refusal")
	}
}

func ptr[T any](v T) *T { return &v }

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
