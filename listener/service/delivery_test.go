package service_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flux-companion/flux/listener/channel"
	"github.com/flux-companion/flux/listener/dispatch"
	"github.com/flux-companion/flux/listener/service"
	"github.com/flux-companion/flux/listener/twilioclient"
	"github.com/flux-companion/flux/listener/twiliofake"
	"github.com/flux-companion/flux/sql/pgtest"
)

// A WhatsApp that Twilio reports undelivered reached nobody: the call follows at once instead
// of a window later, and only once though Twilio posts every callback twice. The clock stands
// still two minutes after the due time, so only the early move can bring the call.
func TestUndeliveredWhatsAppBringsTheCallForward(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.DB(t)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	tw, err := twiliofake.Start(token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tw.Close)
	const phone = "+4915100000066"
	tw.SetOutcome(phone, twiliofake.Outcome{Message: twiliofake.MessageUndelivered, ErrorCode: twiliofake.CodeInvalidRecipient, DuplicateCallbacks: true})

	var due time.Time
	if err := pool.QueryRow(ctx, `
		with u as (insert into auth.users (id, email) values (gen_random_uuid(), 'undelivered@test.flux.local') returning id)
		insert into public.tasks (user_id, title, scheduled_at)
		select id, 'Water the plants', date_trunc('day', now()) + interval '1 day 10 hours' from u
		returning scheduled_at`).Scan(&due); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`update public.users set phone_number = '` + phone + `'`,
		`update public.users set phone_verified = true, whatsapp_opt_in_at = now()`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	runService(t, service.Config{
		DatabaseURL: url, Listener: ln, PublicBaseURL: "http://" + ln.Addr().String(),
		Slot:         fmt.Sprintf("svc_delivery_%d_%d", time.Now().UnixNano()%1e6, slots.Add(1)),
		Twilio:       twilioclient.Config{AccountSID: twiliofake.AccountSID, AuthToken: token, APIBaseURL: tw.URL(), Timeout: 2 * time.Second},
		WhatsAppFrom: "+15005550006", VoiceFrom: "+15005550006",
		WhatsAppTemplates: channel.Templates{Reminder: tw.AddReminderTemplate()},
		Dispatch:          dispatch.Config{Owner: "svc-delivery"},
		FeedStatus:        200 * time.Millisecond,
		Log:               slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})

	if _, err := pool.Exec(ctx, `select flux.set_time_warp($1::timestamptz - now())`, due.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(tw.Calls()) == 0 {
		if time.Now().After(deadline) {
			var st string
			_ = pool.QueryRow(ctx, `select coalesce(string_agg(channel || ':' || coalesce(delivery_status::text, '-'), ' '), '') from public.notification_log`).Scan(&st)
			t.Fatalf("no call 20 s after the WhatsApp went undelivered (%d messages; notifications: %s)", len(tw.Messages()), st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Let the duplicated callbacks and any second move play out, then count.
	if _, err := tw.WaitCallbacks(tw.Messages()[0].SID, 6, 10*time.Second); err != nil {
		t.Fatalf("the WhatsApp's callbacks: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(tw.Calls()); n != 1 {
		t.Fatalf("%d calls, want exactly 1", n)
	}
	var status string
	var code int
	if err := pool.QueryRow(ctx, `select delivery_status::text, delivery_error_code from public.notification_log where channel = 'whatsapp'`).Scan(&status, &code); err != nil {
		t.Fatal(err)
	}
	if status != "undelivered" || code != twiliofake.CodeInvalidRecipient {
		t.Fatalf("WhatsApp delivery %s %d, want undelivered %d", status, code, twiliofake.CodeInvalidRecipient)
	}
}
