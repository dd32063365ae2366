package feed

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flux-companion/flux/sql/pgtest"
)

// PostgreSQL restarts under the feed: it reconnects by itself, catches up, and streams again.
func TestSurvivesADatabaseRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewRestartable(t)
	url := db.URL()
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	insert := func(title string) {
		t.Helper()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `
			with u as (insert into auth.users (id, email) values (gen_random_uuid(), $1 || '@test.flux.local') returning id)
			insert into public.tasks (id, user_id, title, scheduled_at) select $2, id, $1, now() + interval '1 hour' from u`, title, taskID(title)); err != nil {
			t.Fatal(err)
		}
	}

	r := &recorder{}
	f := New(Config{DatabaseURL: url, StatusInterval: 200 * time.Millisecond, RetryMax: time.Second, Log: quiet}, r)
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = f.Run(fctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor(t, "streaming", f.Streaming)
	insert("before")
	waitFor(t, "the first change", func() bool { return len(r.titles()) == 1 })

	db.Stop()
	waitFor(t, "the feed to notice", func() bool { return !f.Streaming() })
	db.Start()
	insert("after")
	waitFor(t, "streaming again with the change made after the restart", func() bool {
		ts := r.titles()
		return f.Streaming() && len(ts) >= 2 && ts[len(ts)-1] == "insert:after"
	})
	if r.catchUps < 2 {
		t.Fatalf("catch-ups %d: the reconnection must catch up", r.catchUps)
	}
}
