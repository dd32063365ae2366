package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flux-companion/flux/sql/pgtest"
	"github.com/flux-companion/flux/sql/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// setup gives a user with every channel and one task due at T, 10:00 UTC tomorrow (a fixed time
// of day, so whether a slot remains today does not depend on when the test runs).
func setup(t *testing.T) (*pgxpool.Pool, *store.Store, string, time.Time) {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	var due time.Time
	var taskID string
	err := pool.QueryRow(ctx, `
		with u as (insert into auth.users (id, email) values (gen_random_uuid(), 'kim@test.flux.local') returning id)
		insert into public.tasks (user_id, title, scheduled_at)
		select id, 'Call mom', date_trunc('day', now()) + interval '1 day 10 hours' from u
		returning id::text, scheduled_at`).Scan(&taskID, &due)
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`update public.users set phone_number = '+4915100000009' where email = 'kim@test.flux.local'`,
		`update public.users set phone_verified = true, whatsapp_opt_in_at = now() where email = 'kim@test.flux.local'`,
		`insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
		 select id, 'https://push.example.invalid/kim', repeat('B', 87), repeat('a', 22) from public.users where email = 'kim@test.flux.local'`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	return pool, store.New(pool), taskID, due
}

// finish records one outcome and reports whether it counted.
func finish(t *testing.T, s *store.Store, owner string, f store.Finish) bool {
	t.Helper()
	done, err := s.FinishDispatches(context.Background(), owner, []store.Finish{f})
	if err != nil {
		t.Fatal(err)
	}
	return done[f.ID]
}

func warpTo(t *testing.T, pool *pgxpool.Pool, at time.Time) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), `select flux.set_time_warp($1::timestamptz - now())`, at); err != nil {
		t.Fatal(err)
	}
}

func TestAReminderThroughTheStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, s, taskID, due := setup(t)

	ds, err := s.UpcomingDeadlines(ctx, due, 10)
	if err != nil || len(ds) != 1 || ds[0].TaskID != taskID || !ds[0].At.Equal(due.Add(-10*time.Minute)) {
		t.Fatalf("deadlines = %+v (%v), want the push rung at T - 10m", ds, err)
	}

	warpTo(t, pool, due.Add(-10*time.Minute))
	if rungs, err := s.ClaimEscalations(ctx, 100); err != nil || len(rungs) != 1 ||
		rungs[0] != (store.Rung{TaskID: taskID, UserID: rungs[0].UserID, From: "push", Stage: "push", Outcome: "queued"}) {
		t.Fatalf("claimed %+v (%v), want the push rung queued", rungs, err)
	}
	if depth, _, err := s.OutboxDepth(ctx); err != nil || depth != 1 {
		t.Fatalf("outbox depth %d (%v), want 1", depth, err)
	}
	items, err := s.ClaimOutbox(ctx, 10, 30*time.Second, "w1")
	if err != nil || len(items) != 1 {
		t.Fatalf("outbox = %+v (%v)", items, err)
	}
	it := items[0]
	if it.Channel != "push" || it.TaskID != taskID || it.TaskTitle != "Call mom" || it.Attempts != 1 ||
		len(it.Push) != 1 || it.Push[0].Endpoint != "https://push.example.invalid/kim" || it.Timezone != "UTC" ||
		it.ScheduledAt == nil || !it.ScheduledAt.Equal(due) || it.DueAt == nil || !it.DueAt.Equal(due.Add(-10*time.Minute)) {
		t.Fatalf("outbox item = %+v", it)
	}
	if finish(t, s, "someone-else", store.Finish{ID: it.ID, Outcome: store.Sent}) {
		t.Fatal("a non-owner recorded an outcome")
	}
	if !finish(t, s, "w1", store.Finish{ID: it.ID, Outcome: store.Sent}) {
		t.Fatal("the owner's outcome was not recorded")
	}

	warpTo(t, pool, due.Add(2*time.Minute))
	if _, err := s.ClaimEscalations(ctx, 100); err != nil {
		t.Fatal(err)
	}
	items, err = s.ClaimOutbox(ctx, 10, 30*time.Second, "w1")
	if err != nil || len(items) != 1 || items[0].Channel != "whatsapp" || items[0].Phone == nil || *items[0].Phone != "+4915100000009" || items[0].Push != nil ||
		!items[0].OfferReschedule {
		t.Fatalf("whatsapp item = %+v (%v)", items, err)
	}
	if !finish(t, s, "w1", store.Finish{ID: items[0].ID, Outcome: store.Sent, ExternalID: "SM00000000000000000000000000000001"}) {
		t.Fatal("not recorded")
	}

	if r, err := s.RecordResponse(ctx, taskID, "done", "whatsapp", "SMinbound00000000000000000000001"); err != nil || r != store.Recorded {
		t.Fatalf("response: %q %v", r, err)
	}
	if r, err := s.RecordResponse(ctx, taskID, "done", "whatsapp", "SMinbound00000000000000000000001"); err != nil || r != store.Duplicate {
		t.Fatalf("replay: %q %v, want duplicate", r, err)
	}
	if _, err := s.RecordResponse(ctx, "00000000-0000-4000-8000-000000000000", "done", "", ""); err == nil {
		t.Fatal("a response for an unknown task was accepted")
	}
	var status, response string
	if err := pool.QueryRow(ctx, `select t.status, n.response from public.tasks t join public.notification_log n on n.task_id = t.id and n.channel = 'whatsapp' where t.id = $1`, taskID).Scan(&status, &response); err != nil || status != "done" || response != "done" {
		t.Fatalf("task %q notification %q (%v)", status, response, err)
	}

	if err := s.DeletePushSubscription(ctx, "https://push.example.invalid/kim"); err != nil {
		t.Fatal(err)
	}
	var subs int
	_ = pool.QueryRow(ctx, `select count(*) from public.push_subscriptions`).Scan(&subs)
	if subs != 0 {
		t.Fatalf("%d subscriptions left after delete", subs)
	}
}

func TestRetryAndFailureOutcomes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, s, _, due := setup(t)
	warpTo(t, pool, due.Add(-10*time.Minute))
	if _, err := s.ClaimEscalations(ctx, 100); err != nil {
		t.Fatal(err)
	}
	items, err := s.ClaimOutbox(ctx, 10, time.Minute, "w")
	if err != nil || len(items) != 1 {
		t.Fatal(items, err)
	}
	retryAt := due.Add(-10*time.Minute + 5*time.Second)
	if !finish(t, s, "w", store.Finish{ID: items[0].ID, Outcome: store.Retry, Error: "push service: 503", RetryAt: retryAt}) {
		t.Fatal("retry not recorded")
	}
	if again, _ := s.ClaimOutbox(ctx, 10, time.Minute, "w"); len(again) != 0 {
		t.Fatal("a retry was handed out before its time")
	}
	warpTo(t, pool, retryAt)
	again, err := s.ClaimOutbox(ctx, 10, time.Minute, "w")
	if err != nil || len(again) != 1 || again[0].Attempts != 2 {
		t.Fatalf("retry = %+v (%v)", again, err)
	}
	if !finish(t, s, "w", store.Finish{ID: again[0].ID, Outcome: store.Failed, Error: "push service: 400 bad payload"}) {
		t.Fatal("failure not recorded")
	}
	var status, errText string
	if err := pool.QueryRow(ctx, `select status, error from public.dispatch_log where id = $1`, again[0].ID).Scan(&status, &errText); err != nil ||
		status != "failed" || errText != "push service: 400 bad payload" {
		t.Fatalf("row %q %q (%v)", status, errText, err)
	}
}

// Every row ClaimOutbox leases must come back to the caller, even while claims keep committing
// new outbox rows: a leased row nobody received would wait out its whole lease.
func TestEveryLeasedRowIsReturned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	s := store.New(pool)
	for _, q := range []string{
		`insert into auth.users (id, email) select gen_random_uuid(), 'o' || i || '@test.flux.local' from generate_series(1, 50) i`,
		`update public.users set phone_number = '+4915100000011'`,
		`update public.users set phone_verified = true, whatsapp_opt_in_at = now()`,
		`insert into public.tasks (user_id, title, scheduled_at)
		 select u.id, 'o' || i, now() - interval '3 minutes' from generate_series(1, 3000) i
		 join (select id, row_number() over (order by id) - 1 as n from public.users) u on u.n = i % 50`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	claimed := make(chan struct{})
	go func() {
		defer close(claimed)
		for { // small batches: outbox rows keep committing while the other side leases
			if rungs, err := s.ClaimEscalations(ctx, 20); err != nil || len(rungs) == 0 {
				return
			}
		}
	}()
	returned := map[int64]bool{}
	for done := false; !done; {
		select {
		case <-claimed:
			done = true
		default:
		}
		items, err := s.ClaimOutbox(ctx, 7, time.Hour, "w")
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			returned[it.ID] = it.Skipped == ""
		}
	}
	for { // drain what the last claims wrote
		items, err := s.ClaimOutbox(ctx, 100, time.Hour, "w")
		if err != nil {
			t.Fatal(err)
		}
		if len(items) == 0 {
			break
		}
		for _, it := range items {
			returned[it.ID] = it.Skipped == ""
		}
	}
	leasedReturned := 0
	for _, ok := range returned {
		if ok {
			leasedReturned++
		}
	}
	var leased int
	if err := pool.QueryRow(ctx, `select count(*) from public.dispatch_log where lease_owner = 'w'`).Scan(&leased); err != nil {
		t.Fatal(err)
	}
	if leased != leasedReturned || leased == 0 {
		t.Fatalf("%d rows leased but %d returned to the caller", leased, len(returned))
	}
}
