package service_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flux-companion/flux/internal/testwait"
	"github.com/flux-companion/flux/listener/channel"
	"github.com/flux-companion/flux/listener/dispatch"
	"github.com/flux-companion/flux/listener/logtest"
	"github.com/flux-companion/flux/listener/pushfake"
	"github.com/flux-companion/flux/listener/service"
	"github.com/flux-companion/flux/listener/twilioclient"
	"github.com/flux-companion/flux/listener/twiliofake"
	"github.com/flux-companion/flux/listener/webpushclient"
	"github.com/flux-companion/flux/sql/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const token = "servicetoken0123456789abcdef0123"

var (
	slots atomic.Int64
	quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))
)

// newSlot names a replication slot of the test's own.
func newSlot(prefix string) string {
	return fmt.Sprintf("%s_%d_%d", prefix, time.Now().UnixNano()%1e6, slots.Add(1))
}

// listen returns a listener on a free local port and its base URL.
func listen(t *testing.T) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln, "http://" + ln.Addr().String()
}

// startTwilio starts a Twilio fake, closed when the test ends.
func startTwilio(t *testing.T) *twiliofake.Server {
	t.Helper()
	tw, err := twiliofake.Start(token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tw.Close)
	return tw
}

// withTwilio completes cfg for a service that sends WhatsApps and calls through the fake tw and
// hears its status callbacks: on a port of its own (cfg.PublicBaseURL), with the reminder
// template approved.
func withTwilio(t *testing.T, tw *twiliofake.Server, cfg service.Config) service.Config {
	t.Helper()
	cfg.Listener, cfg.PublicBaseURL = listen(t)
	cfg.Twilio = twilioclient.Config{AccountSID: twiliofake.AccountSID, AuthToken: token, APIBaseURL: tw.URL(), Timeout: 2 * time.Second}
	cfg.WhatsAppFrom, cfg.VoiceFrom = "+15005550006", "+15005550006"
	cfg.WhatsAppTemplates = channel.Templates{Reminder: tw.AddReminderTemplate()}
	return cfg
}

// userWithTask adds a user and a task of theirs due tomorrow at 10:00 UTC, and returns the
// task's id and due time.
func userWithTask(t *testing.T, pool *pgxpool.Pool, email, title string) (task string, due time.Time) {
	t.Helper()
	if err := pool.QueryRow(context.Background(), `
		with u as (insert into auth.users (id, email) values (gen_random_uuid(), $1::text) returning id)
		insert into public.tasks (user_id, title, scheduled_at)
		select id, $2::text, date_trunc('day', now()) + interval '1 day 10 hours' from u
		returning id::text, scheduled_at`, email, title).Scan(&task, &due); err != nil {
		t.Fatal(err)
	}
	return task, due
}

// optInToWhatsApp gives every user (a test's one) the phone number, verified, and opts them in
// to WhatsApp: in two steps, as a new number resets the verification.
func optInToWhatsApp(t *testing.T, pool *pgxpool.Pool, phone string) {
	t.Helper()
	for _, q := range []string{
		`update public.users set phone_number = '` + phone + `'`,
		`update public.users set phone_verified = true, whatsapp_opt_in_at = now()`,
	} {
		if _, err := pool.Exec(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
}

// runService runs the service until the test ends; it fails the test if the service stops
// with an error of its own. Unless cfg says otherwise, the feed confirms every 200 ms and the
// service logs nothing.
// ladder is a service's fixture with every channel on the fakes: a user with a task due, a
// verified WhatsApp number and a push subscription. The test runs the service (l.cfg).
type ladder struct {
	pool   *pgxpool.Pool
	push   *pushfake.Server
	sub    pushfake.Subscription // the user's
	tw     *twiliofake.Server
	cfg    service.Config
	taskID string
	due    time.Time
}

func newLadder(t *testing.T, email, title, phone, slot string) *ladder {
	t.Helper()
	url := pgtest.DB(t)
	l := &ladder{pool: pgtest.PoolOn(t, url), tw: startTwilio(t)}
	pub, priv, _ := webpushclient.GenerateVAPIDKeys()
	push, err := pushfake.Start(pub)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(push.Close)
	l.push, l.sub = push, push.NewSubscription()
	sub := l.sub
	l.taskID, l.due = userWithTask(t, l.pool, email, title)
	optInToWhatsApp(t, l.pool, phone)
	if _, err := l.pool.Exec(context.Background(), `insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
		select id, $1, $2, $3 from public.users`, sub.Endpoint, sub.P256dh, sub.Auth); err != nil {
		t.Fatal(err)
	}
	l.cfg = withTwilio(t, l.tw, service.Config{
		DatabaseURL: url, Slot: newSlot(slot),
		Push:     webpushclient.Config{VAPIDPublicKey: pub, VAPIDPrivateKey: priv, Subscriber: "mailto:ops@flux.test", HTTPClient: push.Client()},
		Dispatch: dispatch.Config{Owner: strings.ReplaceAll(slot, "_", "-")},
	})
	return l
}

// warpTo moves the one clock (flux.set_time_warp) so that it reads at.
func warpTo(t *testing.T, pool *pgxpool.Pool, at time.Time) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), `select flux.set_time_warp($1::timestamptz - now())`, at); err != nil {
		t.Fatal(err)
	}
}

func runService(t *testing.T, cfg service.Config) {
	t.Helper()
	if cfg.FeedStatus == 0 {
		cfg.FeedStatus = 200 * time.Millisecond
	}
	if cfg.Log == nil {
		cfg.Log = quiet
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- service.Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("service: %v", err)
		}
	})
}

// The whole ladder through the running service on a warped clock: the service's own timers
// fire each rung (test databases have no pg_cron and the test never claims, so nothing else
// could), the real clients reach the fakes, and a WhatsApp reply through
// the webhook stops the ladder before the call.
func TestLadderThroughTheService(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := newLadder(t, "svc@test.flux.local", "Evening run", "+4915100000055", "svc_test")
	pool, push, tw, taskID, due := l.pool, l.push, l.tw, l.taskID, l.due
	runService(t, l.cfg)
	base := l.cfg.PublicBaseURL
	warp := func(at time.Time) { warpTo(t, pool, at) }

	// A second before the push rung: the service's timer, not the test, must fire it.
	warp(due.Add(-10*time.Minute - time.Second))
	time.Sleep(300 * time.Millisecond)
	if n := len(push.Deliveries()); n != 0 {
		t.Fatalf("push sent %d times before its rung", n)
	}
	testwait.For(t, "the push at T - lead", func() bool { return len(push.Deliveries()) == 1 })

	warp(due.Add(2*time.Minute - time.Second))
	testwait.For(t, "the WhatsApp at T + window", func() bool { return len(tw.Messages()) == 1 })
	// Nobody wrote on WhatsApp in the last day: the approved template goes out.
	if m := tw.Messages()[0]; m.Form.Get("ContentSid") != twiliofake.ReminderTemplateSID || !strings.HasPrefix(m.Body, "Flux reminder: Evening run (due 10:00).") {
		t.Fatalf("WhatsApp message %v reads %q", m.Form, m.Body)
	}
	// Twilio's status callbacks reach the service and end on the notification: delivered, read.
	testwait.For(t, "the WhatsApp's delivery status", func() bool {
		var st string
		_ = pool.QueryRow(ctx, `select coalesce(delivery_status::text, '') from public.notification_log where channel = 'whatsapp'`).Scan(&st)
		return st == "read"
	})

	resp, err := tw.SendWebhook(ctx, base+"/webhooks/twilio/whatsapp",
		twiliofake.WhatsAppReplyParams("whatsapp:+4915100000055", "whatsapp:+15005550006", "1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("webhook %d", resp.StatusCode)
	}

	warp(due.Add(10 * time.Minute))
	time.Sleep(time.Second)
	var status string
	if err := pool.QueryRow(ctx, `select status from public.tasks where id = $1`, taskID).Scan(&status); err != nil || status != "done" {
		t.Fatalf("task %q (%v), want done", status, err)
	}
	if n := len(tw.Calls()); n != 0 {
		t.Fatalf("%d calls after the reply, want none", n)
	}
}

// Each rung the claim decides is one log line: a reminder for someone with no browser and no
// verified phone is skipped at every rung, saying why, and then auto-missed.
func TestEveryRungOutcomeIsALogLine(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	taskID, due := userWithTask(t, pool, "bare@test.flux.local", "Water the plants")
	var logs logtest.Buffer
	runService(t, service.Config{
		DatabaseURL: pool.Config().ConnString(), DisableHTTP: true,
		Slot: newSlot("svc_rungs"), Dispatch: dispatch.Config{Owner: "rungs-test"}, Log: logs.Logger(),
	})
	want := []struct {
		at      time.Duration
		msg     string
		channel string
		reason  string
	}{
		{-10 * time.Minute, "rung skipped", "push", "no push subscription"},
		{2 * time.Minute, "rung skipped", "whatsapp", "phone not verified"},
		{4 * time.Minute, "rung skipped", "call", "phone not verified"},
		{6 * time.Minute, "task auto-missed", "auto_miss", ""},
	}
	seen := map[string]int{}
	for _, w := range want {
		warpTo(t, pool, due.Add(w.at))
		seen[w.msg]++
		if !testwait.Until(testwait.Timeout, func() bool { return len(logs.Lines(w.msg)) >= seen[w.msg] }) {
			t.Fatalf("no %q line for the %s rung:\n%s", w.msg, w.channel, logs.String())
		}
		line := logs.Lines(w.msg)[seen[w.msg]-1]
		if line["task_id"] != taskID || line["channel"] != w.channel || w.reason != "" && line["reason"] != w.reason {
			t.Errorf("%s rung logged as %v, want %q on %s", w.channel, line, w.reason, w.channel)
		}
	}
	if n := len(logs.Lines("rung skipped")); n != 3 {
		t.Errorf("%d skipped lines, want one per rung", n)
	}
}

// A rung the change feed makes due at once (here a task created inside its lead time, whose
// push is due on arrival) is claimed once its transaction is visible. The feed sees the commit
// before other sessions do; the claim it triggered used to find nothing, and the rung waited
// for the refill (half the horizon) or pg_cron's sweep. The feed is the synchronous standby
// here, which holds every commit invisible until the feed confirmed it.
func TestARungDueOnArrivalIsClaimed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewRestartable(t)
	url := db.URL() + "&application_name=flux_due_test"
	pool := pgtest.PoolOn(t, url)
	var user string
	for _, q := range []string{
		`select cron.unschedule('flux-escalation-sweep')::text`, // only the service may claim
		`insert into auth.users (id, email) values (gen_random_uuid(), 'due@test.flux.local') returning id::text`,
	} {
		if err := pool.QueryRow(ctx, q).Scan(&user); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
		values ($1, 'https://push.example.invalid/due', repeat('D', 87), repeat('d', 22))`, user); err != nil {
		t.Fatal(err)
	}
	runService(t, service.Config{
		DatabaseURL: url, DisableHTTP: true, DisableDispatch: true,
		Dispatch: dispatch.Config{Owner: "due-test"}, FeedStatus: 20 * time.Millisecond,
	})
	feedIsSynchronousStandby(t, pool, "flux_due_test")
	for i := range 5 {
		var task string
		if err := pool.QueryRow(ctx, `insert into public.tasks (user_id, title, scheduled_at)
			values ($1, $2, flux.now() + interval '5 minutes') returning id::text`, user, fmt.Sprintf("Soon %d", i)).Scan(&task); err != nil {
			t.Fatal(err)
		}
		testwait.Within(t, 15*time.Second, fmt.Sprintf("the push of task %d, due on arrival, to be claimed", i), func() bool {
			var n int
			if err := pool.QueryRow(ctx, `select count(*) from public.dispatch_log where task_id = $1 and channel = 'push'`, task).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n == 1
		})
	}
}

// A rung whose task another transaction holds when it falls due (a person settling it, a
// status callback for it) is claimed once the task is free. (The claim skips locked tasks and
// the rung's deadline has fired by then; escalation.rearm brings the claim back. This test did
// not fail without rearm here: the claim that followed the lock's release came sooner.)
func TestALockedTaskIsClaimedOnceFree(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	task, due := userWithTask(t, pool, "locked@test.flux.local", "Stretch")
	if _, err := pool.Exec(ctx, `insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
		select id, 'https://push.example.invalid/locked', repeat('L', 87), repeat('l', 22) from public.users`); err != nil {
		t.Fatal(err)
	}
	runService(t, service.Config{
		DatabaseURL: pool.Config().ConnString(), DisableHTTP: true, DisableDispatch: true,
		Slot: newSlot("svc_locked"), Dispatch: dispatch.Config{Owner: "locked-test"},
	})
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `select 1 from public.tasks where id = $1 for update`, task); err != nil {
		t.Fatal(err)
	}
	pushes := func() (n int) {
		if err := pool.QueryRow(ctx, `select count(*) from public.dispatch_log where task_id = $1`, task).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	warpTo(t, pool, due.Add(-10*time.Minute))
	time.Sleep(2 * time.Second) // the rung's deadline fires; the task is held
	if n := pushes(); n != 0 {
		t.Fatalf("%d outbox rows while the task was held", n)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	testwait.Within(t, 15*time.Second, "the push to be claimed once the task is free", func() bool { return pushes() > 0 })
}
