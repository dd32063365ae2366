package webhook_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flux-companion/flux/listener/reminder"
	"github.com/flux-companion/flux/listener/twiliofake"
)

const (
	whatsAppSID = "SM11111111111111111111111111111111"
	callSID     = "CA22222222222222222222222222222222"
)

func messageStatus(sid, status, errorCode string) url.Values {
	v := url.Values{
		"MessageSid": {sid}, "SmsSid": {sid}, "MessageStatus": {status}, "SmsStatus": {status},
		"AccountSid": {twiliofake.AccountSID}, "From": {"whatsapp:+15005550006"}, "To": {"whatsapp:" + phone},
		"ApiVersion": {"2010-04-01"}, "ChannelPrefix": {"whatsapp"},
	}
	if errorCode != "" {
		v.Set("ErrorCode", errorCode)
	}
	return v
}

func callStatus(sid, status string) url.Values {
	return url.Values{
		"CallSid": {sid}, "CallStatus": {status}, "AccountSid": {twiliofake.AccountSID},
		"From": {"+15005550006"}, "To": {phone}, "Direction": {"outbound-api"}, "ApiVersion": {"2010-04-01"},
		"CallbackSource": {"call-progress-events"}, "SequenceNumber": {"0"},
	}
}

// ladderWaitsOn puts the task's ladder where the claim leaves it after sending the rung before
// stage: the task was due 3 minutes ago, the WhatsApp and the call went out (their notifications
// are setup's), and stage is due at its own time, in the future.
func (e *env) ladderWaitsOn(t *testing.T, stage string) time.Time {
	t.Helper()
	ctx := context.Background()
	if _, err := e.pool.Exec(ctx, `update public.tasks set scheduled_at = flux.now() - interval '3 minutes'`); err != nil {
		t.Fatal(err)
	}
	var due time.Time
	if err := e.pool.QueryRow(ctx, `
		update public.tasks t
		set escalation_stage = $1::public.escalation_stage,
		    escalation_due_at = flux.stage_due($1::public.escalation_stage, t.scheduled_at, u.notification_preferences),
		    whatsapp_sent_at = flux.now() - interval '1 minute', call_sent_at = flux.now() - interval '1 minute'
		from public.users u where u.id = t.user_id
		returning t.escalation_due_at`, stage).Scan(&due); err != nil {
		t.Fatal(err)
	}
	if !due.After(time.Now()) {
		t.Fatalf("the %s rung is due %v, not in the future", stage, due)
	}
	return due
}

func (e *env) delivery(t *testing.T, sid string) (status string, code *int) {
	t.Helper()
	if err := e.pool.QueryRow(context.Background(),
		`select coalesce(delivery_status::text, ''), delivery_error_code from public.notification_log where external_id = $1`, sid).Scan(&status, &code); err != nil {
		t.Fatal(err)
	}
	return status, code
}

func (e *env) dueAt(t *testing.T) time.Time {
	t.Helper()
	var due time.Time
	if err := e.pool.QueryRow(context.Background(), `select escalation_due_at from public.tasks`).Scan(&due); err != nil {
		t.Fatal(err)
	}
	return due
}

// A failed WhatsApp brings the call forward to now, once: a replay, a late "delivered" and a
// second failure change nothing, and the status never moves backwards.
func TestFailedWhatsAppMovesTheLadderOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	waiting := e.ladderWaitsOn(t, "call")
	for _, st := range []string{"queued", "sent"} {
		if code, body := e.post(t, e.twilio, "/webhooks/twilio/status", messageStatus(whatsAppSID, st, "")); code != http.StatusNoContent {
			t.Fatalf("%s: %d %s", st, code, body)
		}
	}
	if st, _ := e.delivery(t, whatsAppSID); st != "sent" {
		t.Fatalf("delivery status %q, want sent", st)
	}
	if !e.dueAt(t).Equal(waiting) {
		t.Fatal("a message on its way moved the ladder")
	}
	failed := messageStatus(whatsAppSID, "failed", "63016")
	if code, _ := e.post(t, e.twilio, "/webhooks/twilio/status", failed); code != http.StatusNoContent {
		t.Fatalf("failed: %d", code)
	}
	moved := e.dueAt(t)
	if !moved.Before(waiting) || time.Since(moved) > time.Minute {
		t.Fatalf("after the failure the call is due %v, want now (it waited for %v)", moved, waiting)
	}
	if st, code := e.delivery(t, whatsAppSID); st != "failed" || code == nil || *code != 63016 {
		t.Fatalf("delivery %q %v, want failed 63016", st, code)
	}
	// The ladder is put back to waiting: whatever comes now must not move it again.
	waiting = e.ladderWaitsOn(t, "call")
	for _, p := range []url.Values{failed, messageStatus(whatsAppSID, "undelivered", "30008"), messageStatus(whatsAppSID, "delivered", ""), messageStatus(whatsAppSID, "sent", "")} {
		if code, _ := e.post(t, e.twilio, "/webhooks/twilio/status", p); code != http.StatusNoContent {
			t.Fatalf("%s: %d", p.Get("MessageStatus"), code)
		}
	}
	if !e.dueAt(t).Equal(waiting) {
		t.Fatal("a replayed or later callback moved the ladder a second time")
	}
	if st, code := e.delivery(t, whatsAppSID); st != "failed" || *code != 63016 {
		t.Fatalf("delivery %q %d after later callbacks, want failed 63016 kept", st, *code)
	}
	_, body := e.get(t, "/metrics")
	if !strings.Contains(body, `flux_delivery_status_total{channel="whatsapp",status="failed"} 1`) {
		t.Errorf("metrics lack the failed WhatsApp once:\n%s", grep(body, "flux_delivery_status_total"))
	}
}

// A call nobody answers (no-answer, busy) makes the auto-miss due now; an answered call does not.
func TestUnansweredCallMovesTheLadder(t *testing.T) {
	t.Parallel()
	e := setup(t)
	waiting := e.ladderWaitsOn(t, "auto_miss")
	for _, st := range []string{"initiated", "ringing", "completed"} {
		if code, _ := e.post(t, e.twilio, "/webhooks/twilio/status", callStatus(callSID, st)); code != http.StatusNoContent {
			t.Fatalf("%s: %d", st, code)
		}
	}
	if !e.dueAt(t).Equal(waiting) {
		t.Fatal("an answered call moved the ladder")
	}

	e2 := setup(t)
	waiting = e2.ladderWaitsOn(t, "auto_miss")
	e2.post(t, e2.twilio, "/webhooks/twilio/status", callStatus(callSID, "ringing"))
	if code, _ := e2.post(t, e2.twilio, "/webhooks/twilio/status", callStatus(callSID, "no-answer")); code != http.StatusNoContent {
		t.Fatalf("no-answer: %d", code)
	}
	if !e2.dueAt(t).Before(waiting) {
		t.Fatal("an unanswered call did not bring the auto-miss forward")
	}
	if st, _ := e2.delivery(t, callSID); st != "no-answer" {
		t.Fatalf("call status %q, want no-answer", st)
	}
}

// A callback for a send not recorded yet is kept for it; forged, malformed and odd ones are
// refused and write nothing.
func TestStatusCallbacksAtTheEdge(t *testing.T) {
	t.Parallel()
	e := setup(t)
	early := "SM" + strings.Repeat("ab", 16)
	if code, _ := e.post(t, e.twilio, "/webhooks/twilio/status", messageStatus(early, "delivered", "")); code != http.StatusNoContent {
		t.Fatalf("early callback: %d", code)
	}
	var kept int
	if err := e.pool.QueryRow(context.Background(), `select count(*) from flux.delivery_events where external_id = $1`, early).Scan(&kept); err != nil || kept != 1 {
		t.Fatalf("the early callback was not kept for its send: %d %v", kept, err)
	}
	if code, _ := e.post(t, e.forger, "/webhooks/twilio/status", messageStatus(whatsAppSID, "failed", "63016")); code != http.StatusForbidden {
		t.Errorf("forged callback: %d, want 403", code)
	}
	bad := []url.Values{
		messageStatus("SM1", "failed", ""),                  // not a SID
		messageStatus(whatsAppSID+"\x00", "failed", ""),     // NUL
		messageStatus(whatsAppSID, "exploded", ""),          // no such status
		messageStatus(whatsAppSID, "failed", "sixty-three"), // not a code
		messageStatus(whatsAppSID, "failed", "123456"),      // out of range
		callStatus("CA"+strings.Repeat("0", 200), "busy"),   // too long
		callStatus(callSID, "delivered"),                    // not a call status
		{"AccountSid": {twiliofake.AccountSID}},             // neither SID
	}
	for _, p := range bad {
		if code, _ := e.post(t, e.twilio, "/webhooks/twilio/status", p); code != http.StatusBadRequest {
			t.Errorf("%v: %d, want 400", p, code)
		}
	}
	for _, sid := range []string{whatsAppSID, callSID} {
		if st, _ := e.delivery(t, sid); st != "" {
			t.Errorf("a refused callback recorded %q on %s", st, sid)
		}
	}
}

// STOP withdraws the WhatsApp opt-in and says how to come back; any message opens the window.
func TestWhatsAppStopAndTheWindow(t *testing.T) {
	t.Parallel()
	e := setup(t)
	code, body := e.post(t, e.twilio, "/webhooks/twilio/whatsapp", twiliofake.WhatsAppReplyParams("whatsapp:"+phone, "whatsapp:+15005550006", "hello?"))
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	var window time.Time
	if err := e.pool.QueryRow(context.Background(), `select whatsapp_window_until from public.users`).Scan(&window); err != nil {
		t.Fatalf("no window after an inbound message: %v", err)
	}
	if d := time.Until(window); d < 23*time.Hour || d > 25*time.Hour {
		t.Errorf("window closes in %v, want 24h", d)
	}
	code, body = e.post(t, e.twilio, "/webhooks/twilio/whatsapp", twiliofake.WhatsAppReplyParams("whatsapp:"+phone, "whatsapp:+15005550006", " Stop "))
	if code != http.StatusOK || !strings.Contains(body, "turn WhatsApp reminders on in the Flux app") {
		t.Fatalf("STOP: %d %s", code, body)
	}
	var optedIn bool
	var optedOut *time.Time
	if err := e.pool.QueryRow(context.Background(), `select whatsapp_opt_in_at is not null, whatsapp_opted_out_at from public.users`).Scan(&optedIn, &optedOut); err != nil {
		t.Fatal(err)
	}
	if optedIn || optedOut == nil {
		t.Fatalf("after STOP: opted in %v, opted out at %v", optedIn, optedOut)
	}
	if _, body = e.post(t, e.twilio, "/webhooks/twilio/whatsapp", twiliofake.WhatsAppReplyParams("whatsapp:"+phone, "whatsapp:+15005550006", "UNSUBSCRIBE")); !strings.Contains(body, "no more WhatsApp reminders") {
		t.Errorf("UNSUBSCRIBE: %s", body)
	}
}

// Snooze by the quick-reply button, the word and the key; the fourth is refused, and the help
// text then stops offering it.
func TestSnoozeOnEveryTwilioChannel(t *testing.T) {
	t.Parallel()
	e := setup(t)
	button := twiliofake.WhatsAppReplyParams("whatsapp:"+phone, "whatsapp:+15005550006", "Snooze")
	button.Set("ButtonPayload", "snooze")
	button.Set("ButtonText", "Snooze")
	code, body := e.post(t, e.twilio, "/webhooks/twilio/whatsapp", button)
	if code != http.StatusOK || !strings.Contains(body, "Snoozed") {
		t.Fatalf("snooze button: %d %s", code, body)
	}
	var count int
	var moved bool
	if err := e.pool.QueryRow(context.Background(), `select snooze_count, scheduled_at > now() + interval '9 minutes' from public.tasks`).Scan(&count, &moved); err != nil {
		t.Fatal(err)
	}
	if count != 1 || !moved {
		t.Fatalf("after the snooze button: %d snoozes, moved %v", count, moved)
	}
	// The snooze answered the WhatsApp reminder; the next reply needs a new one waiting.
	newReminder := func(sid string) {
		if _, err := e.pool.Exec(context.Background(), `insert into public.notification_log (user_id, task_id, channel, external_id, sent_at)
			select user_id, id, 'whatsapp', $1, now() + interval '1 minute' from public.tasks`, sid); err != nil {
			t.Fatal(err)
		}
	}
	newReminder("SM33333333333333333333333333333333")
	if _, body = e.post(t, e.twilio, "/webhooks/twilio/whatsapp", twiliofake.WhatsAppReplyParams("whatsapp:"+phone, "whatsapp:+15005550006", "4")); !strings.Contains(body, "Snoozed") {
		t.Fatalf("4: %s", body)
	}
	path := "/webhooks/twilio/voice?task=" + e.taskID
	if _, body = e.post(t, e.twilio, path, twiliofake.VoiceGatherParams(callSID, phone, "+15005550006", "4")); !strings.Contains(body, "Snoozed") {
		t.Fatalf("key 4: %s", body)
	}
	newReminder("SM44444444444444444444444444444444")
	if _, body = e.post(t, e.twilio, "/webhooks/twilio/whatsapp", twiliofake.WhatsAppReplyParams("whatsapp:"+phone, "whatsapp:+15005550006", "later")); strings.Contains(body, "4 snooze") {
		t.Errorf("after 3 snoozes the help still offers snooze: %s", body)
	}
	if _, body = e.post(t, e.twilio, "/webhooks/twilio/whatsapp", twiliofake.WhatsAppReplyParams("whatsapp:"+phone, "whatsapp:+15005550006", "snooze")); !strings.Contains(body, "snoozed 3 times") {
		t.Fatalf("fourth snooze: %s", body)
	}
	if err := e.pool.QueryRow(context.Background(), `select snooze_count from public.tasks`).Scan(&count); err != nil || count != 3 {
		t.Fatalf("%d snoozes after the refused fourth, want 3 (%v)", count, err)
	}
	if want := reminder.SnoozeLimit(reminder.Offer{}); !strings.Contains(body, strings.TrimSuffix(want[:40], ".")) {
		t.Errorf("the refusal is not the protocol's text: %s", body)
	}
}

func (e *env) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(e.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func grep(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Metric labels taken from a request must not change with later requests: fiber reuses a
// request's memory for the next one, and a label kept from it (c.Path()) once turned WhatsApp
// counts into "voice" ones.
func TestMetricLabelsOutliveTheirRequest(t *testing.T) {
	t.Parallel()
	e := setup(t)
	// A refused request is counted under the kind its path names.
	if code, _ := e.post(t, e.forger, "/webhooks/twilio/whatsapp", twiliofake.WhatsAppReplyParams("whatsapp:"+phone, "whatsapp:+15005550006", "1")); code != http.StatusForbidden {
		t.Fatalf("forged whatsapp: %d", code)
	}
	for i := 0; i < 20; i++ {
		e.post(t, e.forger, "/webhooks/twilio/voice?task="+e.taskID, twiliofake.VoiceGatherParams(callSID, phone, "+15005550006", "1"))
		e.post(t, e.forger, "/webhooks/twilio/status", callStatus(callSID, "ringing"))
	}
	_, body := e.get(t, "/metrics")
	for _, want := range []string{
		`flux_webhooks_total{kind="whatsapp",result="forbidden"} 1`,
		`flux_webhooks_total{kind="voice",result="forbidden"} 20`,
		`flux_webhooks_total{kind="status",result="forbidden"} 20`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, grep(body, "flux_webhooks_total"))
		}
	}
}

// Signed but odd: a NUL, invalid UTF-8 or an overlong id in From, MessageSid or CallSid is refused
// at the edge with 400 (it used to reach SQL and fail there with 500), and nothing is written.
func TestOddSignedRepliesAre400(t *testing.T) {
	t.Parallel()
	e := setup(t)
	reply := func(from, sid string) url.Values {
		p := twiliofake.WhatsAppReplyParams("whatsapp:"+phone, "whatsapp:+15005550006", "1")
		p.Set("From", from)
		p.Set("MessageSid", sid)
		return p
	}
	good := "SM" + strings.Repeat("5", 32)
	for name, p := range map[string]url.Values{
		"NUL in From":         reply("whatsapp:"+phone+"\x00", good),
		"invalid UTF-8 From":  reply("whatsapp:+49151\xff\xfe0077", good),
		"From not a number":   reply("whatsapp:ida", good),
		"NUL in MessageSid":   reply("whatsapp:"+phone, good+"\x00"),
		"200-char MessageSid": reply("whatsapp:"+phone, "SM"+strings.Repeat("a", 198)),
		"invalid UTF-8 sid":   reply("whatsapp:"+phone, "SM\xff"+strings.Repeat("a", 31)),
	} {
		if code, body := e.post(t, e.twilio, "/webhooks/twilio/whatsapp", p); code != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, code, body)
		}
	}
	for name, sid := range map[string]string{"NUL": callSID + "\x00", "200 chars": "CA" + strings.Repeat("b", 198), "UTF-8": "CA\xc3\x28" + strings.Repeat("c", 30)} {
		if code, _ := e.post(t, e.twilio, "/webhooks/twilio/voice?task="+e.taskID, twiliofake.VoiceGatherParams(sid, phone, "+15005550006", "1")); code != http.StatusBadRequest {
			t.Errorf("voice CallSid %s: %d, want 400", name, code)
		}
	}
	var receipts int
	var window *time.Time
	if err := e.pool.QueryRow(context.Background(), `select (select count(*) from flux.webhook_receipts), (select whatsapp_window_until from public.users)`).Scan(&receipts, &window); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := e.state(t); status != "pending" || receipts != 0 || window != nil {
		t.Fatalf("a refused request wrote: task %s, %d receipts, window %v", status, receipts, window)
	}
}

// A signed "1" that arrives when no reminder is waiting is recorded; replayed later, when a
// reminder is waiting, it answers nothing (Twilio retries webhooks whose answer timed out).
func TestLateReplayAnswersNothing(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	if _, err := e.pool.Exec(ctx, `update public.notification_log set response = 'no_response'`); err != nil {
		t.Fatal(err)
	}
	early := twiliofake.WhatsAppReplyParams("whatsapp:"+phone, "whatsapp:+15005550006", "1")
	if _, body := e.post(t, e.twilio, "/webhooks/twilio/whatsapp", early); !strings.Contains(body, "no reminder waiting") {
		t.Fatalf("first delivery: %s", body)
	}
	var window1 time.Time
	if err := e.pool.QueryRow(ctx, `select whatsapp_window_until from public.users`).Scan(&window1); err != nil {
		t.Fatal(err)
	}
	// Now a reminder waits for an answer.
	if _, err := e.pool.Exec(ctx, `insert into public.notification_log (user_id, task_id, channel, external_id, sent_at)
		select user_id, id, 'whatsapp', 'SM55555555555555555555555555555555', now() + interval '1 minute' from public.tasks`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if _, body := e.post(t, e.twilio, "/webhooks/twilio/whatsapp", early); !strings.Contains(body, "no reminder waiting") {
		t.Fatalf("the late replay got %s, want the original's answer", body)
	}
	var status string
	var window2 time.Time
	if err := e.pool.QueryRow(ctx, `select t.status::text, u.whatsapp_window_until from public.tasks t join public.users u on u.id = t.user_id`).Scan(&status, &window2); err != nil {
		t.Fatal(err)
	}
	if status != "pending" || !window2.Equal(window1) {
		t.Fatalf("the replay changed things: task %s, window %v (was %v)", status, window2, window1)
	}
	// A new message does answer it.
	if _, body := e.post(t, e.twilio, "/webhooks/twilio/whatsapp", twiliofake.WhatsAppReplyParams("whatsapp:"+phone, "whatsapp:+15005550006", "1")); !strings.Contains(body, "Marked as done") {
		t.Fatalf("a new reply: %s", body)
	}
}
