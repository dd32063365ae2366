package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/flux-companion/flux/internal/testwait"
	"github.com/flux-companion/flux/listener/dispatch"
	"github.com/flux-companion/flux/listener/service"
	"github.com/flux-companion/flux/sql/pgtest"
)

// Replica A leads the change feed and claims rungs but does not dispatch; replica B only
// dispatches, with a sweep so slow that only A's NOTIFY hint can wake it in time.
func TestAnotherReplicaDispatchesOnAHint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.DB(t)
	pool := pgtest.PoolOn(t, url)
	tw := startTwilio(t)
	if _, err := pool.Exec(ctx, `insert into auth.users (id, email) values (gen_random_uuid(), 'rep@test.flux.local')`); err != nil {
		t.Fatal(err)
	}
	optInToWhatsApp(t, pool, "+4915100000088")
	slot := newSlot("replica_test")
	start := func(name string, cfg service.Config) {
		cfg.DatabaseURL, cfg.Slot, cfg.Log = url, slot, quiet.With("replica", name)
		runService(t, withTwilio(t, tw, cfg))
	}
	start("a", service.Config{DisableDispatch: true})
	start("b", service.Config{DisableFeed: true, Dispatch: dispatch.Config{Owner: "replica-b", Sweep: time.Hour}})
	time.Sleep(time.Second) // both up: A streaming, B listening for hints

	// The WhatsApp rung falls due in two seconds; only A knows (from its feed).
	if _, err := pool.Exec(ctx, `insert into public.tasks (user_id, title, scheduled_at)
		select id, 'Hinted', now() - interval '2 minutes' + interval '2 seconds' from public.users`); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "replica B to send the reminder (else the hint did not reach it)", func() bool { return len(tw.Messages()) > 0 })
	var owner string
	testwait.Within(t, 10*time.Second, "the send to be recorded", func() bool {
		_ = pool.QueryRow(ctx, `select coalesce(lease_owner, '') from public.dispatch_log where channel = 'whatsapp' and status = 'dispatched'`).Scan(&owner)
		return owner != ""
	})
	if owner != "replica-b" {
		t.Fatalf("sent by %q, want replica-b", owner)
	}
}
