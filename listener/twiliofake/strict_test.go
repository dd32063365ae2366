package twiliofake_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/flux-companion/flux/listener/twiliofake"
)

const (
	templateSID = "HX0123456789abcdef0123456789abcdef"
	waitFor     = 3 * time.Second // deadline for callbacks that come within milliseconds
)

// hit is one request the app under test received from the fake.
type hit struct {
	method string
	path   string
	params url.Values
	token  string
	valid  bool // X-Twilio-Signature checked by twilio-go's RequestValidator
}

// app is the application side: it answers status callbacks with status and
// checks their signatures the way an app using twilio-go does.
type app struct {
	*httptest.Server
	mu     sync.Mutex
	hits   []hit
	status int
	block  chan struct{} // when set, handlers wait for it or the client to go
	got    chan struct{} // signalled on each hit
}

func newApp(t *testing.T) *app {
	t.Helper()
	a := &app{status: http.StatusNoContent, got: make(chan struct{}, 100)}
	validator := client.NewRequestValidator(token)
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		full := "http://" + r.Host + r.URL.RequestURI()
		signed := map[string]string{}
		for k := range r.PostForm {
			signed[k] = r.PostForm.Get(k)
		}
		params := r.PostForm
		if r.Method == http.MethodGet {
			params = r.URL.Query()
		}
		a.mu.Lock()
		a.hits = append(a.hits, hit{
			method: r.Method, path: r.URL.Path, params: params,
			token: r.Header.Get("I-Twilio-Idempotency-Token"),
			valid: validator.Validate(full, signed, r.Header.Get("X-Twilio-Signature")),
		})
		status, block := a.status, a.block
		a.mu.Unlock()
		a.got <- struct{}{}
		if block != nil {
			select {
			case <-block:
			case <-r.Context().Done():
			}
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *app) received() []hit {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.hits)
}

func sendMessage(t *testing.T, rc *twilio.RestClient, p *openapi.CreateMessageParams) *openapi.ApiV2010Message {
	t.Helper()
	msg, err := rc.Api.CreateMessage(p)
	if err != nil {
		t.Fatalf("CreateMessage: %v", err)
	}
	if deref(msg.Status) != "queued" {
		t.Fatalf("created message status %q, want queued", deref(msg.Status))
	}
	return msg
}

func whatsAppParams(body, statusCallback string) *openapi.CreateMessageParams {
	p := (&openapi.CreateMessageParams{}).SetTo("whatsapp:" + userPhone).SetFrom("whatsapp:" + fluxPhone)
	if body != "" {
		p.SetBody(body)
	}
	if statusCallback != "" {
		p.SetStatusCallback(statusCallback)
	}
	return p
}

func states(cbs []twiliofake.Callback) []string {
	var out []string
	for _, c := range cbs {
		out = append(out, c.State())
	}
	return out
}

// waitStates waits for the n callbacks of sid and checks their states.
func waitStates(t *testing.T, srv *twiliofake.Server, sid string, want ...string) []twiliofake.Callback {
	t.Helper()
	cbs, err := srv.WaitCallbacks(sid, len(want), waitFor)
	if err != nil {
		t.Fatalf("%v (got %v)", err, states(cbs))
	}
	if got := states(cbs); !slices.Equal(got, want) {
		t.Fatalf("callback states %v, want %v", got, want)
	}
	return cbs
}

func fetchMessage(t *testing.T, rc *twilio.RestClient, sid string) *openapi.ApiV2010Message {
	t.Helper()
	m, err := rc.Api.FetchMessage(sid, nil)
	if err != nil {
		t.Fatalf("FetchMessage: %v", err)
	}
	return m
}

func restCode(err error) (status, code int) {
	var rest *client.TwilioRestError
	if errors.As(err, &rest) {
		return rest.Status, rest.Code
	}
	return 0, 0
}

func TestWhatsAppInsideWindowIsDeliveredAndRead(t *testing.T) {
	t.Parallel()
	srv, rc := setup(t)
	a := newApp(t)
	srv.OpenWindow("whatsapp:"+userPhone, time.Now().Add(time.Hour))

	cbURL := a.URL + "/webhooks/twilio/status?task=42"
	msg := sendMessage(t, rc, whatsAppParams("Time for your run", cbURL))
	cbs := waitStates(t, srv, *msg.Sid, "queued", "sent", "delivered", "read")

	for i, c := range cbs {
		p := c.Params
		if c.Status != http.StatusNoContent || c.URL != cbURL || c.Method != http.MethodPost || c.Attempt != 1 {
			t.Errorf("callback %d = status %d url %q method %s attempt %d", i, c.Status, c.URL, c.Method, c.Attempt)
		}
		if p.Get("MessageSid") != *msg.Sid || p.Get("SmsSid") != *msg.Sid || p.Get("SmsStatus") != p.Get("MessageStatus") ||
			p.Get("AccountSid") != twiliofake.AccountSID || p.Get("From") != "whatsapp:"+fluxPhone ||
			p.Get("To") != "whatsapp:"+userPhone || p.Get("ApiVersion") != "2010-04-01" || p.Get("ChannelPrefix") != "whatsapp" {
			t.Errorf("callback %d params = %v", i, p)
		}
		if p.Has("ErrorCode") {
			t.Errorf("callback %d carries ErrorCode %q", i, p.Get("ErrorCode"))
		}
	}
	hits := a.received()
	if len(hits) != 4 {
		t.Fatalf("app received %d callbacks, want 4", len(hits))
	}
	for i, h := range hits {
		if !h.valid || h.path != "/webhooks/twilio/status" || h.params.Get("MessageStatus") != cbs[i].State() {
			t.Errorf("app hit %d = %+v; want a validly signed %s", i, h, cbs[i].State())
		}
	}
	if hits[0].token == hits[1].token {
		t.Error("two different callbacks share an idempotency token")
	}

	got := fetchMessage(t, rc, *msg.Sid)
	if deref(got.Status) != "read" || got.ErrorCode != nil || deref(got.DateSent) == "<nil>" || deref(got.Body) != "Time for your run" {
		t.Errorf("fetched message = status %q error %v date_sent %q body %q", deref(got.Status), got.ErrorCode, deref(got.DateSent), deref(got.Body))
	}
}

func TestWhatsAppOutsideWindowFails63016(t *testing.T) {
	t.Parallel()
	srv, rc := setup(t)
	a := newApp(t)

	msg := sendMessage(t, rc, whatsAppParams("free-form, no window", a.URL+"/status"))
	cbs := waitStates(t, srv, *msg.Sid, "queued", "failed")
	if code := cbs[1].Params.Get("ErrorCode"); code != "63016" {
		t.Errorf("failed callback ErrorCode = %q, want 63016", code)
	}
	if cbs[0].Params.Has("ErrorCode") {
		t.Error("queued callback carries an ErrorCode")
	}

	got := fetchMessage(t, rc, *msg.Sid)
	const wording = "Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template."
	if deref(got.Status) != "failed" || got.ErrorCode == nil || *got.ErrorCode != 63016 || deref(got.ErrorMessage) != wording {
		t.Errorf("fetched message = status %q code %v message %q", deref(got.Status), got.ErrorCode, deref(got.ErrorMessage))
	}
	if r, ok := srv.Message(*msg.Sid); !ok || r.Status != twiliofake.MessageFailed || r.ErrorCode != twiliofake.CodeOutsideWindow {
		t.Errorf("Message() = %+v, %v", r, ok)
	}
}

// A user's WhatsApp message delivered through SendWebhook opens the window
// for 24 hours of the fake's clock.
func TestSendWebhookOpensWindowForADay(t *testing.T) {
	t.Parallel()
	srv, rc := setup(t)
	a := newApp(t)
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	srv.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	resp, err := srv.SendWebhook(context.Background(), a.URL+"/webhooks/twilio/whatsapp",
		twiliofake.WhatsAppReplyParams(userPhone, fluxPhone, "1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := srv.WindowCloses(userPhone); !got.Equal(now.Add(24 * time.Hour)) {
		t.Fatalf("window closes %v, want %v", got, now.Add(24*time.Hour))
	}

	advance(23 * time.Hour)
	inside := sendMessage(t, rc, whatsAppParams("within the day", a.URL+"/status"))
	waitStates(t, srv, *inside.Sid, "queued", "sent", "delivered", "read")

	advance(2 * time.Hour)
	outside := sendMessage(t, rc, whatsAppParams("a day too late", a.URL+"/status"))
	cbs := waitStates(t, srv, *outside.Sid, "queued", "failed")
	if cbs[1].Params.Get("ErrorCode") != "63016" {
		t.Errorf("ErrorCode = %q, want 63016", cbs[1].Params.Get("ErrorCode"))
	}

	// CloseWindow and OpenWindow in the past close it, too.
	srv.OpenWindow(userPhone, now.Add(time.Hour))
	srv.CloseWindow("whatsapp:" + userPhone)
	if !srv.WindowCloses(userPhone).IsZero() {
		t.Error("CloseWindow left the window open")
	}
}

func TestTemplateGoesThroughOutsideWindow(t *testing.T) {
	t.Parallel()
	srv, rc := setup(t)
	a := newApp(t)
	srv.AddTemplate(templateSID, "Hi {{1}}, your {{2}} is due at {{1}}'s usual time.", "Done", "Later")

	p := whatsAppParams("", a.URL+"/status").SetContentSid(templateSID).SetContentVariables(`{"1":"Ana","2":"evening run"}`)
	msg := sendMessage(t, rc, p)
	const rendered = "Hi Ana, your evening run is due at Ana's usual time."
	if deref(msg.Body) != rendered {
		t.Errorf("created body = %q, want %q", deref(msg.Body), rendered)
	}
	waitStates(t, srv, *msg.Sid, "queued", "sent", "delivered", "read")
	if got := fetchMessage(t, rc, *msg.Sid); deref(got.Body) != rendered || deref(got.Status) != "read" {
		t.Errorf("fetched = body %q status %q", deref(got.Body), deref(got.Status))
	}
	if ms := srv.Messages(); len(ms) != 1 || ms[0].Body != rendered || ms[0].Form.Get("ContentSid") != templateSID {
		t.Errorf("recorded messages = %+v", ms)
	}
	if r, _ := srv.Message(*msg.Sid); r.ContentSID != templateSID || r.Body != rendered {
		t.Errorf("Message() = %+v", r)
	}
}

func TestTemplateRefusals(t *testing.T) {
	t.Parallel()
	srv, rc := setup(t)
	srv.AddTemplate(templateSID, "Hi {{1}}, {{2}}?")

	for _, tc := range []struct {
		name, sid, vars string
		code            int
	}{
		{"unknown sid", "HXffffffffffffffffffffffffffffffff", `{"1":"a","2":"b"}`, 21655},
		{"malformed sid", "HX123", `{"1":"a","2":"b"}`, 21655},
		{"not a content sid", "SM0123456789abcdef0123456789abcdef", `{"1":"a","2":"b"}`, 21655},
		{"not json", templateSID, `1=a`, 21656},
		{"array", templateSID, `["a","b"]`, 21656},
		{"empty value", templateSID, `{"1":"a","2":""}`, 21656},
		{"null value", templateSID, `{"1":"a","2":null}`, 21656},
		{"number value", templateSID, `{"1":"a","2":2}`, 21656},
		{"keys not 1..n", templateSID, `{"1":"a","3":"b"}`, 21656},
		{"named key", templateSID, `{"name":"a"}`, 21656},
		{"newline", templateSID, `{"1":"a\nb","2":"c"}`, 21656},
		{"variables without sid", "", `{"1":"a"}`, 21654},
	} {
		p := whatsAppParams("", "").SetContentVariables(tc.vars)
		if tc.sid != "" {
			p.SetContentSid(tc.sid)
		} else {
			p.SetBody("hi")
		}
		_, err := rc.Api.CreateMessage(p)
		if status, code := restCode(err); status != 400 || code != tc.code {
			t.Errorf("%s: err = %v, want 400 / %d", tc.name, err, tc.code)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d refused messages recorded as sent", n)
	}
}

func TestTemplateWrongParamCountFails63028(t *testing.T) {
	t.Parallel()
	srv, rc := setup(t)
	a := newApp(t)
	srv.AddTemplate(templateSID, "Hi {{1}}, your {{2}} is due.")

	for _, vars := range []string{`{"1":"Ana"}`, `{"1":"Ana","2":"run","3":"extra"}`} {
		msg := sendMessage(t, rc, whatsAppParams("", a.URL+"/status").SetContentSid(templateSID).SetContentVariables(vars))
		cbs := waitStates(t, srv, *msg.Sid, "queued", "failed")
		if cbs[1].Params.Get("ErrorCode") != "63028" {
			t.Errorf("%s: ErrorCode = %q, want 63028", vars, cbs[1].Params.Get("ErrorCode"))
		}
		got := fetchMessage(t, rc, *msg.Sid)
		if deref(got.Status) != "failed" || got.ErrorCode == nil || *got.ErrorCode != 63028 ||
			deref(got.ErrorMessage) != "Number of parameters provided does not match the expected number of parameters" {
			t.Errorf("%s: fetched = status %q code %v message %q", vars, deref(got.Status), got.ErrorCode, deref(got.ErrorMessage))
		}
	}
}

func TestMessageOutcomes(t *testing.T) {
	t.Parallel()
	srv, rc := setup(t)
	a := newApp(t)
	srv.OpenWindow(userPhone, time.Now().Add(time.Hour))

	for _, tc := range []struct {
		outcome twiliofake.Outcome
		states  []string
		code    string
	}{
		{twiliofake.Outcome{Message: twiliofake.MessageUndelivered, ErrorCode: twiliofake.CodeInvalidRecipient}, []string{"queued", "sent", "undelivered"}, "63024"},
		{twiliofake.Outcome{Message: twiliofake.MessageUndelivered}, []string{"queued", "sent", "undelivered"}, "30008"},
		{twiliofake.Outcome{Message: twiliofake.MessageFailed, ErrorCode: 30003}, []string{"queued", "failed"}, "30003"},
		{twiliofake.Outcome{Message: twiliofake.MessageDelivered}, []string{"queued", "sent", "delivered"}, ""},
	} {
		srv.SetOutcome(userPhone, tc.outcome)
		msg := sendMessage(t, rc, whatsAppParams("hi", a.URL+"/status"))
		cbs := waitStates(t, srv, *msg.Sid, tc.states...)
		if got := cbs[len(cbs)-1].Params.Get("ErrorCode"); got != tc.code {
			t.Errorf("%+v: ErrorCode = %q, want %q", tc.outcome, got, tc.code)
		}
		fetched := fetchMessage(t, rc, *msg.Sid)
		if deref(fetched.Status) != tc.states[len(tc.states)-1] {
			t.Errorf("%+v: fetched status %q", tc.outcome, deref(fetched.Status))
		}
	}

	// Outcomes are per recipient: another number gets the default.
	other := "+4915199999999"
	srv.OpenWindow(other, time.Now().Add(time.Hour))
	msg := sendMessage(t, rc, whatsAppParams("hi", a.URL+"/status").SetTo("whatsapp:"+other))
	waitStates(t, srv, *msg.Sid, "queued", "sent", "delivered", "read")

	// SMS has no read receipt.
	sms := sendMessage(t, rc, (&openapi.CreateMessageParams{}).SetTo(other).SetFrom(fluxPhone).SetBody("hi").SetStatusCallback(a.URL+"/status"))
	cbs := waitStates(t, srv, *sms.Sid, "queued", "sent", "delivered")
	if cbs[0].Params.Has("ChannelPrefix") {
		t.Error("SMS callback has ChannelPrefix")
	}
}

func createCall(t *testing.T, rc *twilio.RestClient, statusCallback string, events ...string) *openapi.ApiV2010Call {
	t.Helper()
	p := (&openapi.CreateCallParams{}).SetTo(userPhone).SetFrom(fluxPhone).SetTwiml("<Response><Say>Run!</Say></Response>")
	if statusCallback != "" {
		p.SetStatusCallback(statusCallback)
	}
	if len(events) > 0 {
		p.SetStatusCallbackEvent(events)
	}
	c, err := rc.Api.CreateCall(p)
	if err != nil {
		t.Fatalf("CreateCall: %v", err)
	}
	if deref(c.Status) != "queued" {
		t.Fatalf("created call status %q, want queued", deref(c.Status))
	}
	return c
}

func TestCallCallbacks(t *testing.T) {
	t.Parallel()
	srv, rc := setup(t)
	a := newApp(t)

	c := createCall(t, rc, a.URL+"/voice/status", "initiated", "ringing", "answered", "completed")
	cbs := waitStates(t, srv, *c.Sid, "initiated", "ringing", "in-progress", "completed")
	for i, cb := range cbs {
		p := cb.Params
		if p.Get("CallSid") != *c.Sid || p.Get("AccountSid") != twiliofake.AccountSID || p.Get("From") != fluxPhone ||
			p.Get("To") != userPhone || p.Get("Direction") != "outbound-api" || p.Get("ApiVersion") != "2010-04-01" ||
			p.Get("CallbackSource") != "call-progress-events" || p.Get("SequenceNumber") != strconv.Itoa(i) {
			t.Errorf("callback %d params = %v", i, p)
		}
		if _, err := time.Parse(time.RFC1123Z, p.Get("Timestamp")); err != nil {
			t.Errorf("callback %d Timestamp %q: %v", i, p.Get("Timestamp"), err)
		}
		if final := i == 3; p.Has("CallDuration") != final {
			t.Errorf("callback %d (%s) CallDuration = %q", i, cb.State(), p.Get("CallDuration"))
		}
	}
	if cbs[3].Params.Get("CallDuration") != "10" {
		t.Errorf("CallDuration = %q, want 10", cbs[3].Params.Get("CallDuration"))
	}
	for i, h := range a.received() {
		if !h.valid {
			t.Errorf("app hit %d: signature invalid", i)
		}
	}
	got, err := rc.Api.FetchCall(*c.Sid, nil)
	if err != nil || deref(got.Status) != "completed" || deref(got.Duration) != "10" || deref(got.EndTime) == "<nil>" {
		t.Errorf("FetchCall = %+v, %v; want completed, duration 10", got, err)
	}

	// Without StatusCallbackEvent, Twilio posts completed only.
	c2 := createCall(t, rc, a.URL+"/voice/status")
	cbs = waitStates(t, srv, *c2.Sid, "completed")
	if cbs[0].Params.Get("SequenceNumber") != "0" {
		t.Errorf("SequenceNumber = %q, want 0", cbs[0].Params.Get("SequenceNumber"))
	}
}

func TestCallOutcomes(t *testing.T) {
	t.Parallel()
	srv, rc := setup(t)
	a := newApp(t)

	for _, tc := range []struct {
		final  twiliofake.CallStatus
		states []string
	}{
		{twiliofake.CallNoAnswer, []string{"initiated", "ringing", "no-answer"}},
		{twiliofake.CallBusy, []string{"initiated", "ringing", "busy"}},
		{twiliofake.CallFailed, []string{"initiated", "failed"}},
	} {
		srv.SetOutcome(userPhone, twiliofake.Outcome{Call: tc.final})
		c := createCall(t, rc, a.URL+"/voice/status", "initiated ringing answered completed")
		cbs := waitStates(t, srv, *c.Sid, tc.states...)
		if d := cbs[len(cbs)-1].Params.Get("CallDuration"); d != "0" {
			t.Errorf("%s: CallDuration = %q, want 0", tc.final, d)
		}
		got, err := rc.Api.FetchCall(*c.Sid, nil)
		if err != nil || deref(got.Status) != string(tc.final) {
			t.Errorf("%s: FetchCall = %v, %v", tc.final, deref(got.Status), err)
		}
	}
}

func TestCallStatusCallbackGET(t *testing.T) {
	t.Parallel()
	srv, rc := setup(t)
	a := newApp(t)
	p := (&openapi.CreateCallParams{}).SetTo(userPhone).SetFrom(fluxPhone).SetUrl("http://127.0.0.1:1/twiml").
		SetStatusCallback(a.URL + "/voice/status?task=7").SetStatusCallbackMethod("GET")
	c, err := rc.Api.CreateCall(p)
	if err != nil {
		t.Fatal(err)
	}
	waitStates(t, srv, *c.Sid, "completed")
	hits := a.received()
	if len(hits) != 1 || hits[0].method != http.MethodGet || !hits[0].valid ||
		hits[0].params.Get("task") != "7" || hits[0].params.Get("CallStatus") != "completed" {
		t.Errorf("app hits = %+v; want one validly signed GET", hits)
	}
}

func TestNonLoopbackStatusCallbackRefused(t *testing.T) {
	t.Parallel()
	srv, rc := setup(t)
	for _, u := range []string{"https://example.com/status", "http://10.0.0.1/status", "ftp://127.0.0.1/status", "not a url"} {
		_, err := rc.Api.CreateMessage(whatsAppParams("hi", u))
		if status, code := restCode(err); status != 400 || code != 21609 {
			t.Errorf("message with StatusCallback %q: err = %v, want 400 / 21609", u, err)
		}
		_, err = rc.Api.CreateCall((&openapi.CreateCallParams{}).SetTo(userPhone).SetFrom(fluxPhone).SetTwiml("<Response/>").SetStatusCallback(u))
		if status, code := restCode(err); status != 400 || code != 21609 {
			t.Errorf("call with StatusCallback %q: err = %v, want 400 / 21609", u, err)
		}
	}
	if len(srv.Messages())+len(srv.Calls()) != 0 {
		t.Error("refused requests recorded as created")
	}
}

func TestFetchUnknownIsNotFound(t *testing.T) {
	t.Parallel()
	_, rc := setup(t)
	_, err := rc.Api.FetchMessage("SM00000000000000000000000000000000", nil)
	if status, code := restCode(err); status != 404 || code != 20404 {
		t.Errorf("FetchMessage: err = %v, want 404 / 20404", err)
	}
	_, err = rc.Api.FetchCall("CA00000000000000000000000000000000", nil)
	if status, code := restCode(err); status != 404 || code != 20404 {
		t.Errorf("FetchCall: err = %v, want 404 / 20404", err)
	}
}

// Held callbacks are recorded, not posted; a test replays them in any order.
func TestHeldCallbacksReplayedInReverse(t *testing.T) {
	t.Parallel()
	srv, rc := setup(t)
	a := newApp(t)
	srv.OpenWindow(userPhone, time.Now().Add(time.Hour))
	srv.SetOutcome(userPhone, twiliofake.Outcome{HoldCallbacks: true})

	msg := sendMessage(t, rc, whatsAppParams("hi", a.URL+"/status"))
	held := waitStates(t, srv, *msg.Sid, "queued", "sent", "delivered", "read")
	for _, c := range held {
		if !c.Held || c.Status != 0 {
			t.Errorf("callback %s = held %v status %d; want held, not posted", c.State(), c.Held, c.Status)
		}
	}
	if r, _ := srv.Message(*msg.Sid); r.Status != twiliofake.MessageRead {
		t.Errorf("held callbacks stopped the message at %s", r.Status)
	}
	if n := len(a.received()); n != 0 {
		t.Fatalf("app received %d held callbacks", n)
	}

	for _, c := range slices.Backward(held) {
		if status, err := srv.SendStatusCallback(context.Background(), c.URL, c.Params); err != nil || status != http.StatusNoContent {
			t.Fatalf("SendStatusCallback: %d, %v", status, err)
		}
	}
	hits := a.received()
	var got []string
	for _, h := range hits {
		got = append(got, h.params.Get("MessageStatus"))
		if !h.valid {
			t.Error("replayed callback not validly signed")
		}
	}
	if want := []string{"read", "delivered", "sent", "queued"}; !slices.Equal(got, want) {
		t.Errorf("app received %v, want %v", got, want)
	}
	if n := len(srv.Callbacks()); n != 8 {
		t.Errorf("%d callbacks recorded, want 4 held + 4 replayed", n)
	}

	// The helpers build the same params.
	p := twiliofake.MessageStatusParams(*msg.Sid, "whatsapp:"+fluxPhone, "whatsapp:"+userPhone, twiliofake.MessageUndelivered, 63024)
	if p.Get("ErrorCode") != "63024" || p.Get("ChannelPrefix") != "whatsapp" || p.Get("MessageStatus") != "undelivered" {
		t.Errorf("MessageStatusParams = %v", p)
	}
	cp := twiliofake.CallStatusParams("CA1", fluxPhone, userPhone, twiliofake.CallCompleted, 3, 42)
	if cp.Get("CallDuration") != "42" || cp.Get("SequenceNumber") != "3" || cp.Get("CallbackSource") != "call-progress-events" {
		t.Errorf("CallStatusParams = %v", cp)
	}
}

func TestDuplicateCallbacksShareToken(t *testing.T) {
	t.Parallel()
	srv, rc := setup(t)
	a := newApp(t)
	srv.SetOutcome(userPhone, twiliofake.Outcome{DuplicateCallbacks: true})

	msg := sendMessage(t, rc, whatsAppParams("hi", a.URL+"/status")) // no window: queued, failed
	cbs := waitStates(t, srv, *msg.Sid, "queued", "queued", "failed", "failed")
	if cbs[0].Token != cbs[1].Token || cbs[2].Token != cbs[3].Token || cbs[0].Token == cbs[2].Token || cbs[1].Attempt != 2 {
		t.Errorf("tokens %q %q %q %q, attempts %d %d", cbs[0].Token, cbs[1].Token, cbs[2].Token, cbs[3].Token, cbs[0].Attempt, cbs[1].Attempt)
	}
	hits := a.received()
	if len(hits) != 4 || hits[0].token != hits[1].token || hits[0].token != cbs[0].Token {
		t.Errorf("app hits = %+v", hits)
	}
}

// A network error is retried once with the same token; an HTTP error is not.
func TestCallbackRetryOnNetworkErrorOnly(t *testing.T) {
	t.Parallel()
	srv, rc := setup(t)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/status"
	ln.Close()
	msg := sendMessage(t, rc, whatsAppParams("hi", dead))
	cbs := waitStates(t, srv, *msg.Sid, "queued", "queued", "failed", "failed")
	for i, c := range cbs {
		if c.Err == "" || c.Status != 0 || c.Attempt != i%2+1 {
			t.Errorf("attempt %d = %+v; want a network error, attempt %d", i, c, i%2+1)
		}
	}
	if cbs[0].Token != cbs[1].Token {
		t.Error("retry has another idempotency token")
	}

	a := newApp(t)
	a.status = http.StatusInternalServerError
	msg = sendMessage(t, rc, whatsAppParams("hi", a.URL+"/status"))
	cbs = waitStates(t, srv, *msg.Sid, "queued", "failed")
	if cbs[0].Status != 500 || cbs[1].Status != 500 {
		t.Errorf("statuses %d %d, want 500 500", cbs[0].Status, cbs[1].Status)
	}
}

// Close aborts an in-flight callback and stops the pending ones.
func TestCloseStopsCallbacks(t *testing.T) {
	t.Parallel()
	srv, err := twiliofake.Start(token)
	if err != nil {
		t.Fatal(err)
	}
	rc := newClient(t, srv, token, 5*time.Second)
	a := newApp(t)
	a.block = make(chan struct{}) // never released: the app hangs
	t.Cleanup(func() { close(a.block) })

	msg := sendMessage(t, rc, whatsAppParams("hi", a.URL+"/status"))
	createCall(t, rc, a.URL+"/voice/status", "initiated", "ringing", "answered", "completed")
	select {
	case <-a.got: // one callback is in flight, the rest pending
	case <-time.After(waitFor):
		t.Fatal("no callback reached the app")
	}

	start := time.Now()
	srv.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v with callbacks in flight", d)
	}
	n := len(srv.Callbacks())
	if n != 0 {
		t.Errorf("%d callbacks recorded; the in-flight one was aborted, none other posted", n)
	}
	if _, err := srv.WaitCallbacks(*msg.Sid, 1, waitFor); err == nil {
		t.Error("WaitCallbacks succeeded after Close")
	}
	if len(a.received()) > 2 || len(srv.Callbacks()) != n {
		t.Errorf("callbacks continued after Close (app got %d)", len(a.received()))
	}
}

func TestSetOutcomeRefusesNonFinalStatus(t *testing.T) {
	t.Parallel()
	srv, _ := setup(t)
	for _, o := range []twiliofake.Outcome{{Message: twiliofake.MessageQueued}, {Call: twiliofake.CallRinging}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("SetOutcome(%+v) did not panic", o)
				}
			}()
			srv.SetOutcome(userPhone, o)
		}()
	}
}
