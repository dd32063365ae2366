package supabase_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/flux-companion/flux/sql/pgtest"
)

// TestClaimersRaceExactlyOnce runs several claimers at once over the same due tasks: every rung
// of every ladder must be taken exactly once, whoever takes it.
func TestClaimersRaceExactlyOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	const tasks = 2000
	mustExec(t, pool, `
		insert into auth.users (id, email)
		select gen_random_uuid(), 'racer' || i || '@test.flux.local' from generate_series(1, 50) i;
		update public.users set phone_number = '+4915100000000'
		where email like 'racer%';`)
	mustExec(t, pool, `
		update public.users set phone_verified = true, whatsapp_opt_in_at = now() where email like 'racer%';
		insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
		select id, 'https://push.example.invalid/' || id, repeat('B', 87), repeat('a', 22) from public.users where email like 'racer%';`)
	mustExec(t, pool, `
		insert into public.tasks (user_id, title, scheduled_at)
		select u.id, 'race ' || i, now() + interval '1 hour'
		from generate_series(1, $1::int) i
		join lateral (select id from public.users where email like 'racer%' order by id offset (i % 50) limit 1) u on true;`, tasks)
	// Four claimers race at each rung of the ladder (a backlog would collapse to its latest rung,
	// so the clock stops at each): push, WhatsApp, call, auto-miss.
	for _, warp := range []string{"50 minutes", "1 hour 2 minutes", "1 hour 4 minutes", "1 hour 7 minutes"} {
		mustExec(t, pool, `select flux.set_time_warp($1::interval)`, warp)
		g, gctx := errgroup.WithContext(ctx)
		start := make(chan struct{})
		for w := 0; w < 4; w++ {
			g.Go(func() error {
				<-start
				for {
					var n int
					if err := pool.QueryRow(gctx, `select flux.claim_escalations(100)`).Scan(&n); err != nil {
						return err
					}
					if n == 0 {
						return nil
					}
				}
			})
		}
		close(start)
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
		// A claimer that saw only locked rows may stop early; the sweep finishes whatever is left.
		mustExec(t, pool, `select flux.sweep_escalations()`)
	}

	var dup, rows, open int
	if err := pool.QueryRow(ctx, `
		select (select count(*) from (select 1 from public.dispatch_log group by task_id, channel having count(*) > 1) d),
		       (select count(*) from public.dispatch_log),
		       (select count(*) from public.tasks where title like 'race %' and status <> 'missed')`).Scan(&dup, &rows, &open); err != nil {
		t.Fatal(err)
	}
	if dup != 0 {
		t.Errorf("%d (task, channel) pairs fired more than once", dup)
	}
	if rows != 4*tasks {
		t.Errorf("%d outbox rows, want %d (4 rungs x %d tasks)", rows, 4*tasks, tasks)
	}
	if open != 0 {
		t.Errorf("%d tasks not auto-missed", open)
	}
}

func mustExec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
}
