package webhook_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flux-companion/flux/listener/metrics"
	"github.com/flux-companion/flux/listener/tracing/tracingtest"
	"github.com/flux-companion/flux/listener/twiliofake"
	"github.com/flux-companion/flux/listener/webhook"
	"github.com/flux-companion/flux/sql/pgtest"
	"github.com/flux-companion/flux/sql/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	token = "webhooktoken0123456789abcdef0123"
	phone = "+4915100000077"
)

type env struct {
	pool   *pgxpool.Pool
	base   string
	twilio *twiliofake.Server // signs webhooks with token
	forger *twiliofake.Server // signs with another token
	taskID string
	ready  error
}

// setup: a user whose task got a WhatsApp reminder (and a call) that nobody answered yet, and
// the webhook server on a loopback port.
func setup(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{pool: pgtest.Pool(t)}
	err := e.pool.QueryRow(ctx, `
		with u as (insert into auth.users (id, email) values (gen_random_uuid(), 'ida@test.flux.local') returning id)
		insert into public.tasks (user_id, title, scheduled_at) select id, 'Stretch', now() from u returning id::text`).Scan(&e.taskID)
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`update public.users set phone_number = '` + phone + `'`,
		`update public.users set phone_verified = true, whatsapp_opt_in_at = now()`,
		`insert into public.notification_log (user_id, task_id, channel, external_id)
		 select user_id, id, 'whatsapp', 'SM11111111111111111111111111111111' from public.tasks`,
		`insert into public.notification_log (user_id, task_id, channel, external_id, sent_at)
		 select user_id, id, 'call', 'CA22222222222222222222222222222222', now() + interval '1 second' from public.tasks`,
	} {
		if _, err := e.pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	if e.twilio, err = twiliofake.Start(token); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.twilio.Close)
	if e.forger, err = twiliofake.Start("forgedtoken0123456789abcdef01234"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.forger.Close)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.base = "http://" + ln.Addr().String()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	s := store.New(e.pool)
	m := metrics.New(s, "", log)
	app := webhook.New(webhook.Config{
		AuthToken: token, PublicBaseURL: e.base, Store: s, Log: log, Counter: m, Metrics: m.Handler(),
		Ready: func(context.Context) error { return e.ready },
	})
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	return e
}

func (e *env) post(t *testing.T, signer *twiliofake.Server, path string, params url.Values) (int, string) {
	t.Helper()
	resp, err := signer.SendWebhook(context.Background(), e.base+path, params)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// declareOversizedBody sends only the headers of a request whose declared
// Content-Length exceeds the limit, and returns the status the server answers
// with. Sending the body too would race the server's refusal: it answers and
// closes without reading, so the client's write can fail with a broken pipe
// (or the close turn into a reset) before the answer is read.
func (e *env) declareOversizedBody(t *testing.T, path string, length int) int {
	t.Helper()
	return e.rawHead(t, path, fmt.Sprintf("Content-Length: %d\r\n\r\n", length))
}

// oversizedChunk sends the headers of a chunked request and the size line of one chunk larger
// than the limit, and returns the answer: the limit must hold without a Content-Length too.
func (e *env) oversizedChunk(t *testing.T, path string, size int) int {
	t.Helper()
	return e.rawHead(t, path, fmt.Sprintf("Transfer-Encoding: chunked\r\n\r\n%x\r\n", size))
}

// rawHead writes a POST's head, ending with tail, on a connection of its own and returns the
// status of the answer that comes without the rest of the body.
func (e *env) rawHead(t *testing.T, path, tail string) int {
	t.Helper()
	u, err := url.Parse(e.base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: c29tZXRoaW5n\r\n%s", path, u.Host, tail)
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to the head of an oversized body (is the limit checked before reading?): %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (e *env) state(t *testing.T) (status string, responses string, receipts int) {
	t.Helper()
	err := e.pool.QueryRow(context.Background(), `
		select t.status,
		       (select coalesce(string_agg(n.channel || '=' || n.response, ',' order by n.channel), '') from public.notification_log n where n.task_id = t.id and n.response is not null),
		       (select count(*) from flux.webhook_receipts)
		from public.tasks t where t.id = $1`, e.taskID).Scan(&status, &responses, &receipts)
	if err != nil {
		t.Fatal(err)
	}
	return
}

func TestWhatsAppReplyAndItsReplay(t *testing.T) {
	t.Parallel()
	e := setup(t)
	params := twiliofake.WhatsAppReplyParams("whatsapp:"+phone, "whatsapp:+15005550006", " 1 ")
	code, body := e.post(t, e.twilio, "/webhooks/twilio/whatsapp", params)
	if code != 200 || !strings.Contains(body, "<Response><Message>Marked as done. Nice work!</Message></Response>") {
		t.Fatalf("%d %s", code, body)
	}
	if status, responses, receipts := e.state(t); status != "done" || responses != "whatsapp=done" || receipts != 1 {
		t.Fatalf("after reply: %s %q %d", status, responses, receipts)
	}
	// Twilio retries and replays: the same MessageSid changes nothing and gets the same answer.
	code, again := e.post(t, e.twilio, "/webhooks/twilio/whatsapp", params)
	if code != 200 || again != body {
		t.Fatalf("replay: %d %s", code, again)
	}
	if status, responses, receipts := e.state(t); status != "done" || responses != "whatsapp=done" || receipts != 1 {
		t.Fatalf("after replay: %s %q %d", status, responses, receipts)
	}
}

func TestForgedAndUnsignedRequestsAreRefused(t *testing.T) {
	t.Parallel()
	e := setup(t)
	params := twiliofake.WhatsAppReplyParams("whatsapp:"+phone, "whatsapp:+15005550006", "3")
	if code, _ := e.post(t, e.forger, "/webhooks/twilio/whatsapp", params); code != 403 {
		t.Fatalf("forged signature: %d, want 403", code)
	}
	resp, err := http.PostForm(e.base+"/webhooks/twilio/whatsapp", params)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("unsigned: %d, want 403", resp.StatusCode)
	}
	// Signed for another URL (the voice webhook): refused too.
	req, _ := http.NewRequest("POST", e.base+"/webhooks/twilio/whatsapp", strings.NewReader(params.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliofake.Signature(token, e.base+"/webhooks/twilio/voice", params))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("signature for another URL: %d, want 403", resp.StatusCode)
	}
	if status, responses, receipts := e.state(t); status != "pending" || responses != "" || receipts != 0 {
		t.Fatalf("refused requests wrote: %s %q %d", status, responses, receipts)
	}
}

func TestMalformedBodiesAre400AndWriteNothing(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for name, tc := range map[string]struct{ contentType, body string }{
		"json":          {"application/json", `{"Body":"1"}`},
		"broken escape": {"application/x-www-form-urlencoded", "Body=%zz&From=whatsapp%3A%2B4915100000077"},
	} {
		req, _ := http.NewRequest("POST", e.base+"/webhooks/twilio/whatsapp", strings.NewReader(tc.body))
		req.Header.Set("Content-Type", tc.contentType)
		req.Header.Set("X-Twilio-Signature", "c29tZXRoaW5n")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("%s: %d, want 400", name, resp.StatusCode)
		}
	}
	// Signed but missing what a reply needs.
	if code, _ := e.post(t, e.twilio, "/webhooks/twilio/whatsapp", url.Values{"Body": {"1"}}); code != 400 {
		t.Errorf("reply without From/MessageSid: %d, want 400", code)
	}
	if code, _ := e.post(t, e.twilio, "/webhooks/twilio/voice?task=not-a-uuid", twiliofake.VoiceGatherParams("CA1", phone, "+15005550006", "1")); code != 400 {
		t.Errorf("voice without a task id: %d, want 400", code)
	}
	if code := e.declareOversizedBody(t, "/webhooks/twilio/whatsapp", 70<<10); code != 413 {
		t.Errorf("oversized body: %d, want 413", code)
	}
	if status, responses, receipts := e.state(t); status != "pending" || responses != "" || receipts != 0 {
		t.Fatalf("malformed requests wrote: %s %q %d", status, responses, receipts)
	}
}

func TestUnrecognisedReplyGetsHelpAndWritesNothing(t *testing.T) {
	t.Parallel()
	e := setup(t)
	code, body := e.post(t, e.twilio, "/webhooks/twilio/whatsapp", twiliofake.WhatsAppReplyParams("whatsapp:"+phone, "whatsapp:+15005550006", "maybe later"))
	// The help offers what a reminder offers now: snooze (none used yet), reschedule only while a
	// free slot remains today.
	if code != 200 || !strings.Contains(body, "Reply 1 done, 4 snooze, ") || !strings.Contains(body, "3 missed.") {
		t.Fatalf("%d %s", code, body)
	}
	code, body = e.post(t, e.twilio, "/webhooks/twilio/whatsapp", twiliofake.WhatsAppReplyParams("whatsapp:+4915199999999", "whatsapp:+15005550006", "1"))
	if code != 200 || !strings.Contains(body, "There is no reminder waiting for an answer.") {
		t.Fatalf("stranger: %d %s", code, body)
	}
	// Only the receipt of the user's message is kept (so that a replay can never answer a later
	// reminder); no answer is recorded, and nothing at all for the stranger.
	var outcome string
	if err := e.pool.QueryRow(context.Background(), `select string_agg(response, ',') from flux.webhook_receipts`).Scan(&outcome); err != nil {
		t.Fatal(err)
	}
	if status, responses, receipts := e.state(t); status != "pending" || responses != "" || receipts != 1 || outcome != "unrecognised" {
		t.Fatalf("wrote: task %s, answers %q, %d receipts (%s)", status, responses, receipts, outcome)
	}
}

func TestVoiceDigits(t *testing.T) {
	t.Parallel()
	e := setup(t)
	path := "/webhooks/twilio/voice?task=" + e.taskID
	code, body := e.post(t, e.twilio, path, twiliofake.VoiceGatherParams("CA22222222222222222222222222222222", phone, "+15005550006", "9"))
	if code != 200 || !strings.Contains(body, "<Say>Sorry, I did not catch that. Goodbye.</Say>") {
		t.Fatalf("digit 9: %d %s", code, body)
	}
	code, body = e.post(t, e.twilio, path, twiliofake.VoiceGatherParams("CA22222222222222222222222222222222", phone, "+15005550006", "3"))
	if code != 200 || !strings.Contains(body, "<Response><Say>Marked as missed. Tomorrow is another go. Goodbye.</Say></Response>") {
		t.Fatalf("digit 3: %d %s", code, body)
	}
	if status, responses, _ := e.state(t); status != "missed" || responses != "call=missed" {
		t.Fatalf("after digit 3: %s %q", status, responses)
	}
	code, body = e.post(t, e.twilio, path, twiliofake.VoiceGatherParams("CA22222222222222222222222222222222", phone, "+15005550006", "1"))
	if code != 200 || !strings.Contains(body, "already settled") {
		t.Fatalf("a later digit on a settled task: %d %s", code, body)
	}
	code, body = e.post(t, e.twilio, "/webhooks/twilio/voice?task=00000000-0000-4000-8000-000000000000", twiliofake.VoiceGatherParams("CA33333333333333333333333333333333", phone, "+15005550006", "1"))
	if code != 200 || !strings.Contains(body, "no longer exists") {
		t.Fatalf("unknown task: %d %s", code, body)
	}
}

func TestProbesAndMetrics(t *testing.T) {
	t.Parallel()
	e := setup(t)
	get := func(path string) (int, string) {
		resp, err := http.Get(e.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("readyz %d", code)
	}
	e.ready = errors.New("change feed not connected")
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "change feed not connected") {
		t.Fatalf("readyz when not ready: %d %s", code, body)
	}
	e.post(t, e.forger, "/webhooks/twilio/whatsapp", url.Values{"Body": {"1"}})
	code, body := get("/metrics")
	if code != 200 || !strings.Contains(body, `flux_webhooks_total{kind="whatsapp",result="forbidden"} 1`) ||
		!strings.Contains(body, "flux_outbox_pending 0") {
		t.Fatalf("metrics: %d\n%s", code, body)
	}
}

// Without TWILIO_AUTH_TOKEN there is no key to check signatures with; a request signed with the
// empty key (which anyone can compute) must not answer a reminder.
func TestWebhooksAreOffWithoutAnAuthToken(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	app := webhook.New(webhook.Config{PublicBaseURL: base, Store: store.New(e.pool), Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })

	params := twiliofake.WhatsAppReplyParams("whatsapp:"+phone, "whatsapp:+15005550006", "1")
	req, err := http.NewRequest(http.MethodPost, base+"/webhooks/twilio/whatsapp", strings.NewReader(params.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliofake.Signature("", base+"/webhooks/twilio/whatsapp", params))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d, want 404", resp.StatusCode)
	}
	if status, responses, receipts := e.state(t); status != "pending" || responses != "" || receipts != 0 {
		t.Fatalf("the reply was applied: %s %q %d", status, responses, receipts)
	}
}

// A panic in a handler answers that request 500 and leaves the server serving.
func TestAPanickingHandlerIsOneFailedRequest(t *testing.T) {
	t.Parallel()
	app := webhook.New(webhook.Config{Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	app.Get("/boom", func(*fiber.Ctx) error { panic("a bug in a handler") })
	for _, want := range []struct {
		path string
		code int
	}{{"/boom", 500}, {"/healthz", 200}, {"/boom", 500}, {"/healthz", 200}} {
		resp, err := app.Test(httptest.NewRequest("GET", want.path, nil), 5000)
		if err != nil {
			t.Fatalf("%s: %v", want.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != want.code {
			t.Fatalf("%s: %d, want %d", want.path, resp.StatusCode, want.code)
		}
	}
}

// A Twilio request is a server span named by its route, continuing the caller's trace when the
// request carries a W3C traceparent; a refused one too, with its status. (Not parallel: the
// tracer provider is global.)
func TestAWebhookIsASpanOfTheCallersTrace(t *testing.T) {
	spans := tracingtest.Export(t)
	e := setup(t)
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, err := http.NewRequest(http.MethodPost, e.base+"/webhooks/twilio/voice?task="+e.taskID, strings.NewReader("Digits=1"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unsigned request: %d", resp.StatusCode)
	}
	sp := tracingtest.WaitSpan(t, spans, 10*time.Second, "POST /webhooks/twilio/voice", nil)
	if sp.TraceID != traceID || sp.ParentSpanID != parentID || sp.Kind != "server" ||
		sp.Attributes["http.response.status_code"] != int64(http.StatusForbidden) || sp.Attributes["http.route"] != "/webhooks/twilio/voice" ||
		sp.Attributes["flux.result"] != "forbidden" || sp.Status.Code != "unset" {
		t.Errorf("span %+v, want a server span of trace %s under %s, 403, not failed", sp, traceID, parentID)
	}
}
