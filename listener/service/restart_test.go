package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flux-companion/flux/internal/testwait"
	"github.com/flux-companion/flux/listener/dispatch"
	"github.com/flux-companion/flux/listener/service"
	"github.com/flux-companion/flux/sql/pgtest"
)

// PostgreSQL restarts under a running listener. Without any help it must reconnect (pool,
// change feed, clock) and send a reminder that falls due after the restart.
func TestRecoversFromADatabaseRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewRestartable(t)
	url := db.URL()
	exec := func(sql string, args ...any) {
		t.Helper()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%v: %s", err, sql)
		}
	}
	exec(`insert into auth.users (id, email) values (gen_random_uuid(), 'rs@test.flux.local')`)
	exec(`update public.users set phone_number = '+4915100000066'`)
	exec(`update public.users set phone_verified = true, whatsapp_opt_in_at = now()`)

	tw := startTwilio(t)
	runService(t, withTwilio(t, tw, service.Config{
		DatabaseURL: url, Slot: newSlot("svc_restart"), Dispatch: dispatch.Config{Owner: "restart-test", Sweep: time.Second},
	}))
	time.Sleep(500 * time.Millisecond) // let it connect and start streaming before the restart

	db.Stop()
	time.Sleep(time.Second) // the service notices: feed and clock connections drop
	db.Start()

	// Created after the restart, due in two seconds: only a recovered service sends it.
	exec(`insert into public.tasks (user_id, title, scheduled_at)
		select id, 'After the restart', now() - interval '2 minutes' + interval '2 seconds' from public.users`)
	testwait.Within(t, time.Minute, "a WhatsApp reminder after the restart (else the service did not recover)", func() bool { return len(tw.Messages()) > 0 })
	if body := tw.Messages()[0].Body; !strings.HasPrefix(body, "Flux reminder: After the restart") {
		t.Fatalf("sent %q", body)
	}
}
