package feed

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flux-companion/flux/internal/testwait"
	"github.com/flux-companion/flux/listener/logtest"
	"github.com/flux-companion/flux/sql/pgtest"
)

// PostgreSQL restarts under the feed: it reconnects by itself, catches up, and streams again.
func TestSurvivesADatabaseRestart(t *testing.T) {
	t.Parallel()
	db := pgtest.NewRestartable(t)
	url := db.URL()
	r := &recorder{}
	f, _ := run(t, r, Config{DatabaseURL: url, RetryMax: time.Second})
	testwait.For(t, "streaming", f.Streaming)
	insertTask(t, pgtest.Conn(t, url), "before")
	testwait.For(t, "the first change", func() bool { return len(r.titles()) == 1 })

	db.Stop()
	testwait.For(t, "the feed to notice", func() bool { return !f.Streaming() })
	db.Start()
	insertTask(t, pgtest.Conn(t, url), "after")
	testwait.For(t, "streaming again with the change made after the restart", func() bool {
		ts := r.titles()
		return f.Streaming() && len(ts) >= 2 && ts[len(ts)-1] == "insert:after"
	})
	if r.catchUps < 2 {
		t.Fatalf("catch-ups %d: the reconnection must catch up", r.catchUps)
	}
}

// PostgreSQL invalidates a slot that retained more WAL than max_slot_wal_keep_size while nobody
// read it (wal_status 'lost'). The next leader drops it, creates it again, logs why as an error,
// and catches up; without that, every start failed with 55000 and only the retries' catch-ups
// found new work.
func TestRecreatesALostSlot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewRestartable(t)
	conn := pgtest.Conn(t, db.URL())
	exec := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`alter system set max_slot_wal_keep_size = '1MB'`)
	exec(`select pg_reload_conf()`)

	cfg := Config{DatabaseURL: db.URL(), Slot: "lost_slot", RetryMax: time.Second}
	r1 := &recorder{}
	f1, stop := run(t, r1, cfg)
	testwait.For(t, "streaming", f1.Streaming)
	insertTask(t, conn, "before")
	testwait.For(t, "the first change", func() bool { return len(r1.titles()) == 1 })
	stop()

	// Nobody reads the slot: write and switch WAL segments past the limit, and checkpoint so the
	// server removes them and invalidates the slot.
	walStatus := func() string {
		var s string
		if err := conn.QueryRow(ctx, `select coalesce(wal_status, '') from pg_replication_slots where slot_name = 'lost_slot'`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	for i := 0; walStatus() != "lost"; i++ {
		if i == 20 {
			t.Fatalf("slot not invalidated after %d WAL segments: wal_status %q", i, walStatus())
		}
		insertTask(t, conn, fmt.Sprintf("while down %d", i))
		exec(`select pg_switch_wal()`)
		exec(`checkpoint`)
	}

	var logs logtest.Buffer
	cfg.Log = logs.Logger()
	r2 := &recorder{}
	f2, _ := run(t, r2, cfg)
	testwait.For(t, "streaming on a new slot", f2.Streaming)
	insertTask(t, conn, "after")
	testwait.For(t, "the change made after the slot was recreated", func() bool {
		ts := r2.titles()
		return len(ts) > 0 && ts[len(ts)-1] == "insert:after"
	})
	if r2.catchUps != 1 {
		t.Errorf("catch-ups %d, want 1: the recreated slot streams on the first attempt, after a catch-up", r2.catchUps)
	}
	if s := walStatus(); s != "reserved" {
		t.Errorf("wal_status %q after recreation, want reserved", s)
	}
	var lost map[string]any
	if ls := logs.Lines("slot lost"); len(ls) > 0 {
		lost = ls[0]
	}
	if lost == nil || lost["level"] != "ERROR" || !strings.Contains(fmt.Sprint(lost["detail"]), "max_slot_wal_keep_size (1MB)") {
		t.Errorf("the lost slot is not logged as an error with its cause: %v\n%s", lost, logs.String())
	}
}

// insertTask commits a task of a new user.
func insertTask(t *testing.T, conn *pgx.Conn, title string) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), `
		with u as (insert into auth.users (id, email) values (gen_random_uuid(), $1 || '@test.flux.local') returning id)
		insert into public.tasks (id, user_id, title, scheduled_at) select $2, id, $1, now() + interval '1 hour' from u`,
		title, taskID(title)); err != nil {
		t.Fatal(err)
	}
}
