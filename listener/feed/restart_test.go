package feed

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flux-companion/flux/sql/localpg"
	"github.com/flux-companion/flux/sql/migrate"
)

// PostgreSQL restarts under the feed: it reconnects by itself, catches up, and streams again.
func TestSurvivesADatabaseRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "feed-restart-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o755) // the server may run as the postgres OS user
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	opts := localpg.Options{DataDir: filepath.Join(dir, "data")}
	c, err := localpg.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Port = c.Port() // come back on the same address
	t.Cleanup(func() { _ = c.Stop() })
	url := c.ConnString("postgres")
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if _, err := migrate.Up(ctx, url, migrate.Options{Local: true, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	insert := func(title string) {
		t.Helper()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `
			with u as (insert into auth.users (id, email) values (gen_random_uuid(), $1 || '@test.flux.local') returning id)
			insert into public.tasks (user_id, title, scheduled_at) select id, $1, now() + interval '1 hour' from u`, title); err != nil {
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

	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the feed to notice", func() bool { return !f.Streaming() })
	if c, err = localpg.Start(ctx, opts); err != nil {
		t.Fatal(err)
	}
	insert("after")
	waitFor(t, "streaming again with the change made after the restart", func() bool {
		ts := r.titles()
		return f.Streaming() && len(ts) >= 2 && ts[len(ts)-1] == "insert:after"
	})
	if r.catchUps < 2 {
		t.Fatalf("catch-ups %d: the reconnection must catch up", r.catchUps)
	}
}
