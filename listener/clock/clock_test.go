package clock_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flux-companion/flux/listener/clock"
	"github.com/flux-companion/flux/sql/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Load reads the warp flux.set_time_warp wrote: the Go clock and flux.now() agree.
func TestLoadReadsTheDatabaseWarp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	const warp = 3*time.Hour + 25*time.Minute
	if _, err := conn.Exec(ctx, `select flux.set_time_warp(make_interval(secs => $1))`, warp.Seconds()); err != nil {
		t.Fatal(err)
	}
	c := clock.New()
	changed := c.Changed()
	if err := c.Load(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if got := c.Offset(); got != warp {
		t.Fatalf("offset %v, want %v", got, warp)
	}
	select {
	case <-changed:
	default:
		t.Fatal("loading a new offset did not signal a change")
	}
	var dbNow time.Time
	if err := conn.QueryRow(ctx, `select clock_timestamp() + (select warp from flux.clock)`).Scan(&dbNow); err != nil {
		t.Fatal(err)
	}
	if d := c.Now().Sub(dbNow); d < -time.Second || d > time.Second {
		t.Fatalf("Go clock and SQL clock differ by %v", d)
	}
}

func TestSetSignalsOnlyRealChanges(t *testing.T) {
	t.Parallel()
	c := clock.New()
	first := c.Changed()
	c.Set(0)
	select {
	case <-first:
		t.Fatal("setting the same offset signalled a change")
	default:
	}
	c.Set(time.Minute)
	select {
	case <-first:
	default:
		t.Fatal("a new offset was not signalled")
	}
	if c.Changed() == first {
		t.Fatal("Changed did not re-arm")
	}
	if d := c.Now().Sub(time.Now()); d < 59*time.Second || d > 61*time.Second {
		t.Fatalf("Now is %v ahead, want a minute", d)
	}
}
