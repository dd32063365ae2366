package channel_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flux-companion/flux/internal/testwait"
	"github.com/flux-companion/flux/listener/channel"
	"github.com/flux-companion/flux/listener/clock"
	"github.com/flux-companion/flux/listener/dispatch"
	"github.com/flux-companion/flux/listener/pushfake"
	"github.com/flux-companion/flux/listener/twilioclient"
	"github.com/flux-companion/flux/listener/twiliofake"
	"github.com/flux-companion/flux/listener/webpushclient"
	"github.com/flux-companion/flux/sql/pgtest"
	"github.com/flux-companion/flux/sql/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	authToken = "faketoken0123456789abcdef0123456"
	phone     = "+4915100000042"
	from      = "+15005550006"
	// Twilio calls back to the listener's public URL; here nothing listens on it (the discard
	// port), the fake's callbacks fail to connect, and the senders' requests are what is checked.
	publicURL = "http://127.0.0.1:9"
)

type env struct {
	pool    *pgxpool.Pool
	store   *store.Store
	clock   *clock.Clock
	push    *pushfake.Server
	twilio  *twiliofake.Server
	sub     pushfake.Subscription
	taskID  string
	due     time.Time
	senders map[string]dispatch.Sender
}

// setup: one user with every channel (a browser subscribed at the fake push service, a verified
// phone opted in to WhatsApp) and one task due at 10:00 UTC tomorrow.
func setup(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	pub, priv, err := webpushclient.GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	push, err := pushfake.Start(pub)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(push.Close)
	tw, err := twiliofake.Start(authToken)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tw.Close)
	client, err := twilioclient.New(twilioclient.Config{AccountSID: twiliofake.AccountSID, AuthToken: authToken, APIBaseURL: tw.URL(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}

	e := &env{pool: pgtest.Pool(t), clock: clock.New(), push: push, twilio: tw, sub: push.NewSubscription()}
	e.store = store.New(e.pool)
	err = e.pool.QueryRow(ctx, `
		with u as (insert into auth.users (id, email) values (gen_random_uuid(), 'max@test.flux.local') returning id)
		insert into public.tasks (user_id, title, scheduled_at)
		select id, 'Call mom & dad', date_trunc('day', now()) + interval '1 day 10 hours' from u
		returning id::text, scheduled_at`).Scan(&e.taskID, &e.due)
	if err != nil {
		t.Fatal(err)
	}
	e.exec(t, `update public.users set phone_number = $1`, phone)
	e.exec(t, `update public.users set phone_verified = true, whatsapp_opt_in_at = now()`)
	e.exec(t, `insert into public.push_subscriptions (user_id, endpoint, p256dh, auth) select id, $1, $2, $3 from public.users`,
		e.sub.Endpoint, e.sub.P256dh, e.sub.Auth)

	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	tc := channel.Twilio{Client: client, From: from, PublicBaseURL: publicURL}
	e.senders = map[string]dispatch.Sender{
		"push": &channel.Push{
			Client: webpushclient.Config{VAPIDPublicKey: pub, VAPIDPrivateKey: priv, Subscriber: "mailto:ops@flux.test", HTTPClient: push.Client()},
			Store:  e.store, Log: log,
		},
		"whatsapp": &channel.WhatsApp{Twilio: tc, Templates: channel.Templates{Reminder: tw.AddReminderTemplate()}},
		"call":     &channel.Call{Twilio: tc},
	}
	return e
}

func (e *env) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := e.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%v: %s", err, sql)
	}
}

// rung moves the clock to due+offset, claims, and dispatches until the outbox is empty.
func (e *env) rung(t *testing.T, offset time.Duration) {
	t.Helper()
	ctx := context.Background()
	e.exec(t, `select flux.set_time_warp($1::timestamptz - now())`, e.due.Add(offset))
	if err := e.clock.Load(ctx, e.pool); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.ClaimEscalations(ctx, 100); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	d := dispatch.New(e.store, e.senders, dispatch.Config{Owner: "test", BaseBackoff: 10 * time.Millisecond}, e.clock,
		slog.New(slog.NewJSONHandler(io.Discard, nil)), nil)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	testwait.For(t, "the outbox to drain", func() bool {
		var pending int
		if err := e.pool.QueryRow(ctx, `select count(*) from public.dispatch_log where status = 'pending'`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		return pending == 0
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

func (e *env) dispatchRow(t *testing.T, ch string) (status string, attempts int, errText string) {
	t.Helper()
	var et *string
	if err := e.pool.QueryRow(context.Background(), `select status, attempts, error from public.dispatch_log where channel = $1`, ch).Scan(&status, &attempts, &et); err != nil {
		t.Fatal(err)
	}
	if et != nil {
		errText = *et
	}
	return
}

func TestLadderThroughTheRealClients(t *testing.T) {
	t.Parallel()
	e := setup(t)

	e.rung(t, -10*time.Minute)
	ds := e.push.Deliveries()
	if len(ds) != 1 {
		t.Fatalf("%d push deliveries, want 1 (rejected: %+v)", len(ds), e.push.Rejected())
	}
	var p channel.PushPayload
	if err := json.Unmarshal(ds[0].Payload, &p); err != nil {
		t.Fatal(err)
	}
	if p.TaskID != e.taskID || p.Title != "Call mom & dad" || strings.Join(p.Actions, ",") != "done,snooze,reschedule,missed" || !p.DueAt.Equal(e.due) {
		t.Fatalf("push payload = %+v", p)
	}

	// Nobody wrote on WhatsApp in the last 24 hours: the reminder is the approved template.
	e.rung(t, 2*time.Minute)
	msgs := e.twilio.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d WhatsApp messages, want 1", len(msgs))
	}
	m := msgs[0].Form
	if m.Get("To") != "whatsapp:"+phone || m.Get("From") != "whatsapp:"+from || m.Get("Body") != "" ||
		m.Get("ContentSid") != twiliofake.ReminderTemplateSID ||
		m.Get("ContentVariables") != `{"1":"Call mom \u0026 dad","2":"10:00"}` ||
		m.Get("StatusCallback") != publicURL+"/webhooks/twilio/status" {
		t.Fatalf("WhatsApp message = %v", m)
	}
	if msgs[0].Body != "Flux reminder: Call mom & dad (due 10:00). Did you do it?" {
		t.Fatalf("the template reads %q", msgs[0].Body)
	}

	e.rung(t, 4*time.Minute)
	calls := e.twilio.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls, want 1", len(calls))
	}
	twiml := calls[0].Form.Get("Twiml")
	if calls[0].Form.Get("To") != phone ||
		!strings.Contains(twiml, `<Gather numDigits="1"`) ||
		!strings.Contains(twiml, `action="`+publicURL+`/webhooks/twilio/voice?task=`+e.taskID+`"`) ||
		!strings.Contains(twiml, "Reminder: Call mom &amp; dad.") || !strings.Contains(twiml, "4 to snooze it") ||
		calls[0].Form.Get("StatusCallback") != publicURL+"/webhooks/twilio/status" ||
		strings.Join(calls[0].Form["StatusCallbackEvent"], " ") != "initiated ringing answered completed" {
		t.Fatalf("call = %v", calls[0].Form)
	}

	rows, err := e.pool.Query(context.Background(), `select channel, coalesce(external_id, '') from public.notification_log order by sent_at`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var ch, ext string
		_ = rows.Scan(&ch, &ext)
		got = append(got, ch+"="+ext)
	}
	want := []string{"push=", "whatsapp=" + msgs[0].SID, "call=" + calls[0].SID}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("notification_log = %v, want %v", got, want)
	}
}

func TestExpiredPushSubscriptionIsRemoved(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.push.Expire(e.sub.Endpoint)
	e.rung(t, -10*time.Minute)
	if status, _, errText := e.dispatchRow(t, "push"); status != "failed" || !strings.Contains(errText, "subscription gone (410), removed") {
		t.Fatalf("push row %s %q", status, errText)
	}
	var subs int
	_ = e.pool.QueryRow(context.Background(), `select count(*) from public.push_subscriptions`).Scan(&subs)
	if subs != 0 {
		t.Fatal("the expired subscription is still stored")
	}
}

func TestTwilio5xxIsRetriedThenRecorded(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.rung(t, -10*time.Minute)
	e.twilio.FailNext(2, 503)
	e.rung(t, 2*time.Minute)
	if status, attempts, _ := e.dispatchRow(t, "whatsapp"); status != "dispatched" || attempts != 3 {
		t.Fatalf("WhatsApp row %s after %d attempts, want dispatched after 3", status, attempts)
	}
	if len(e.twilio.Messages()) != 1 || len(e.twilio.FailedRequests()) != 2 {
		t.Fatalf("%d messages, %d failed requests; want 1 and 2", len(e.twilio.Messages()), len(e.twilio.FailedRequests()))
	}
}

func TestTwilioPermanentFailureIsRecorded(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.rung(t, -10*time.Minute)
	e.twilio.FailNext(1, 400)
	e.rung(t, 2*time.Minute)
	if status, attempts, errText := e.dispatchRow(t, "whatsapp"); status != "failed" || attempts != 1 || !strings.Contains(errText, "twilio message (400)") {
		t.Fatalf("WhatsApp row %s/%d/%q", status, attempts, errText)
	}
}

// Inside the 24-hour window (the person wrote on WhatsApp) the reminder is free text that names
// the keys of what it offers.
func TestWhatsAppInsideTheWindowIsText(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.rung(t, -10*time.Minute)
	e.exec(t, `update public.users set whatsapp_window_until = flux.now() + interval '1 day'`)
	e.twilio.OpenWindow(phone, time.Now().Add(24*time.Hour))
	e.rung(t, 2*time.Minute)
	msgs := e.twilio.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d WhatsApp messages, want 1", len(msgs))
	}
	if m := msgs[0].Form; m.Get("ContentSid") != "" || m.Get("StatusCallback") != publicURL+"/webhooks/twilio/status" ||
		m.Get("Body") != "Flux reminder: Call mom & dad (due 10:00). Reply 1 done, 4 snooze, 2 reschedule, 3 missed." {
		t.Fatalf("WhatsApp message = %v", m)
	}
}

// A template that is missing or that Twilio does not know is a setting to fix, not a moment to
// wait out: the send fails at once, for good, with the reason in dispatch_log.
func TestTemplateMisconfigurationFailsForGood(t *testing.T) {
	t.Parallel()
	for name, templates := range map[string]channel.Templates{
		"none":    {},
		"unknown": {Reminder: "HX" + strings.Repeat("9", 32)},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			e.senders["whatsapp"].(*channel.WhatsApp).Templates = templates
			e.rung(t, -10*time.Minute)
			e.rung(t, 2*time.Minute)
			status, attempts, errText := e.dispatchRow(t, "whatsapp")
			want := "TWILIO_CONTENT_SID_REMINDER"
			if name == "unknown" {
				want = "twilio message (400)"
			}
			if status != "failed" || attempts != 1 || !strings.Contains(errText, want) {
				t.Fatalf("WhatsApp row %s after %d attempts, %q; want failed after 1 with %q", status, attempts, errText, want)
			}
			// The ladder does not wait a window for a message that went nowhere: the call is due now.
			var due time.Time
			if err := e.pool.QueryRow(context.Background(), `select escalation_due_at from public.tasks`).Scan(&due); err != nil {
				t.Fatal(err)
			}
			if !due.Before(e.due.Add(4 * time.Minute)) {
				t.Fatalf("the call is due %v, still its own time: the failed WhatsApp did not move the ladder", due)
			}
		})
	}
}

// The reminder names the due time in the user's zone (UTC when the zone is unknown), the same on
// every send of a zone.
func TestLocalDueInTheUsersZone(t *testing.T) {
	due := time.Date(2026, 11, 25, 16, 30, 0, 0, time.UTC)
	for _, tc := range []struct{ zone, want string }{
		{"Europe/Berlin", "17:30"},
		{"America/New_York", "11:30"},
		{"Europe/Berlin", "17:30"},
		{"Not/A_Zone", "16:30"},
	} {
		if got := channel.LocalDue(store.OutboxItem{TaskTitle: "Run", ScheduledAt: &due, Timezone: tc.zone}); got != tc.want {
			t.Errorf("%s: %q, want %s", tc.zone, got, tc.want)
		}
	}
}
