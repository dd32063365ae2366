package hint_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flux-companion/flux/internal/testwait"
	"github.com/flux-companion/flux/listener/clock"
	"github.com/flux-companion/flux/listener/hint"
	"github.com/flux-companion/flux/sql/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var quiet = slog.New(slog.DiscardHandler)

// Hints sent by one process reach a listener in another, debounced: a burst becomes few.
func TestHintsReachListenersDebounced(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	url := pgtest.DB(t)
	pool := pgtest.PoolOn(t, url)
	var got atomic.Int32
	var mu sync.Mutex
	named := map[string]bool{}
	listening := make(chan struct{})
	done := make(chan error, 2)
	go func() {
		first := true
		done <- hint.Listen(ctx, url, hint.Channel, quiet, func(payload string) {
			if first { // the call made once listening
				first = false
				close(listening)
				return
			}
			got.Add(1)
			mu.Lock()
			for _, id := range hint.IDs(payload) {
				named[id] = true
			}
			mu.Unlock()
		})
	}()
	<-listening
	s := hint.NewSender(pool, hint.Channel, 200*time.Millisecond, quiet)
	go func() { done <- s.Run(ctx) }()
	for i := 0; i < 100; i++ {
		s.Hint(fmt.Sprintf("row-%d", i))
	}
	testwait.For(t, "a hint", func() bool { return got.Load() >= 1 })
	testwait.For(t, "every row named", func() bool { mu.Lock(); defer mu.Unlock(); return len(named) == 100 })
	if n := got.Load(); n > 3 {
		t.Fatalf("100 hints in a burst arrived as %d notifications, want them collapsed", n)
	}
	cancel()
	for range 2 {
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("stopped with %v", err)
		}
	}
}

// The service keeps its clock in step this way: a warp set in SQL reaches the Go clock.
func TestAWarpReachesTheClock(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := pgtest.DB(t)
	pool := pgtest.PoolOn(t, url)
	c := clock.New()
	listening := make(chan struct{}, 1)
	go func() {
		_ = hint.Listen(ctx, url, clock.Channel, quiet, func(string) {
			_ = c.Load(ctx, pool)
			select {
			case listening <- struct{}{}:
			default:
			}
		})
	}()
	<-listening
	if _, err := pool.Exec(ctx, `select flux.set_time_warp(interval '90 minutes')`); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the warp", func() bool { return c.Offset() == 90*time.Minute })
}
