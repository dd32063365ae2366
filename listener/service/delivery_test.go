package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/flux-companion/flux/internal/testwait"
	"github.com/flux-companion/flux/listener/dispatch"
	"github.com/flux-companion/flux/listener/service"
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
	pool := pgtest.PoolOn(t, url)
	tw := startTwilio(t)
	const phone = "+4915100000066"
	tw.SetOutcome(phone, twiliofake.Outcome{Message: twiliofake.MessageUndelivered, ErrorCode: twiliofake.CodeInvalidRecipient, DuplicateCallbacks: true})

	_, due := userWithTask(t, pool, "undelivered@test.flux.local", "Water the plants")
	optInToWhatsApp(t, pool, phone)
	runService(t, withTwilio(t, tw, service.Config{
		DatabaseURL: url, Slot: newSlot("svc_delivery"), Dispatch: dispatch.Config{Owner: "svc-delivery"},
	}))

	warpTo(t, pool, due.Add(2*time.Minute))
	if !testwait.Until(20*time.Second, func() bool { return len(tw.Calls()) > 0 }) {
		var st string
		_ = pool.QueryRow(ctx, `select coalesce(string_agg(channel || ':' || coalesce(delivery_status::text, '-'), ' '), '') from public.notification_log`).Scan(&st)
		t.Fatalf("no call 20 s after the WhatsApp went undelivered (%d messages; notifications: %s)", len(tw.Messages()), st)
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
