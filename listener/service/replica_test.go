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

// Replica A leads the change feed and claims rungs but does not dispatch; replica B only
// dispatches, with a sweep so slow that only A's NOTIFY hint can wake it in time.
func TestAnotherReplicaDispatchesOnAHint(t *testing.T) {
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
	for _, q := range []string{
		`insert into auth.users (id, email) values (gen_random_uuid(), 'rep@test.flux.local')`,
		`update public.users set phone_number = '+4915100000088'`,
		`update public.users set phone_verified = true, whatsapp_opt_in_at = now()`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	slot := fmt.Sprintf("replica_test_%d", time.Now().UnixNano()%1e6)
	start := func(name string, cfg service.Config) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cfg.DatabaseURL, cfg.Listener, cfg.PublicBaseURL, cfg.Slot = url, ln, "http://"+ln.Addr().String(), slot
		cfg.Twilio = twilioclient.Config{AccountSID: twiliofake.AccountSID, AuthToken: token, APIBaseURL: tw.URL(), Timeout: 2 * time.Second}
		cfg.WhatsAppFrom, cfg.VoiceFrom = "+15005550006", "+15005550006"
		cfg.WhatsAppTemplates = channel.Templates{Reminder: tw.AddReminderTemplate()}
		cfg.FeedStatus = 200 * time.Millisecond
		cfg.Log = slog.New(slog.NewJSONHandler(io.Discard, nil)).With("replica", name)
		runService(t, cfg)
	}
	start("a", service.Config{DisableDispatch: true})
	start("b", service.Config{DisableFeed: true, Dispatch: dispatch.Config{Owner: "replica-b", Sweep: time.Hour}})
	time.Sleep(time.Second) // both up: A streaming, B listening for hints

	// The WhatsApp rung falls due in two seconds; only A knows (from its feed).
	if _, err := pool.Exec(ctx, `insert into public.tasks (user_id, title, scheduled_at)
		select id, 'Hinted', now() - interval '2 minutes' + interval '2 seconds' from public.users`); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); len(tw.Messages()) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("replica B never sent the reminder: the hint did not reach it")
		}
	}
	var owner string
	for deadline := time.Now().Add(10 * time.Second); owner == ""; time.Sleep(50 * time.Millisecond) {
		_ = pool.QueryRow(ctx, `select coalesce(lease_owner, '') from public.dispatch_log where channel = 'whatsapp' and status = 'dispatched'`).Scan(&owner)
		if time.Now().After(deadline) {
			t.Fatal("the send was never recorded")
		}
	}
	if owner != "replica-b" {
		t.Fatalf("sent by %q, want replica-b", owner)
	}
}
