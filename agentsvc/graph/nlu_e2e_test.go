package graph

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Offline, a cancellation and a move of a task found by its title are proposed, change
// nothing until confirmed, and are written through the store once the user says yes.
func TestE2EOfflineCancelAndMoveByTitle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newE2E(t, &Graph{}, "e2e-offline-cancel@test.flux.local", "Europe/Berlin", true)
	var gym, dentist string
	for title, id := range map[string]*string{"Gym": &gym, "Dentist": &dentist} {
		must(t, e.pool.QueryRow(ctx, `insert into public.tasks (user_id, title, scheduled_at)
			values ($1, $2, flux.now() + interval '2 days') returning id::text`, e.user, title).Scan(id))
	}
	status := func(id string) string {
		var s string
		must(t, e.pool.QueryRow(ctx, `select status::text from public.tasks where id = $1`, id).Scan(&s))
		return s
	}

	e.say(t, "please cancel the gym")
	if content, meta := e.lastReply(t); meta["proposal"] != "cancel" || meta["task_id"] != gym || !strings.HasPrefix(content, "Cancel “Gym”") {
		t.Fatalf("reply %q meta %v: want the cancellation proposed", content, meta)
	}
	if s := status(gym); s != "pending" {
		t.Fatalf("gym is %s before the yes", s)
	}
	e.say(t, "yes")
	if s := status(gym); s != "cancelled" {
		t.Fatalf("gym is %s after the yes, want cancelled", s)
	}

	var before time.Time
	must(t, e.pool.QueryRow(ctx, `select scheduled_at from public.tasks where id = $1`, dentist).Scan(&before))
	e.say(t, "push the dentist back an hour")
	if _, meta := e.lastReply(t); meta["proposal"] != "reschedule" || meta["task_id"] != dentist {
		t.Fatalf("meta %v: want the move proposed", meta)
	}
	e.say(t, "ok")
	var after time.Time
	must(t, e.pool.QueryRow(ctx, `select scheduled_at from public.tasks where id = $1`, dentist).Scan(&after))
	if d := after.Sub(before); d != time.Hour {
		t.Fatalf("the dentist moved by %s, want an hour", d)
	}
	if s := status(dentist); s != "pending" || e.count(t, `select count(*) from public.tasks where user_id = $1`) != 2 {
		t.Fatalf("dentist %s; a move must not create tasks", s)
	}
}
