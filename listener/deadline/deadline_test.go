package deadline

import (
	"context"
	"testing"
	"time"

	"github.com/flux-companion/flux/listener/clock"
)

// fired collects the instants (clock time) at which the scheduler fired.
func run(t *testing.T, s *Scheduler, c *clock.Clock) (<-chan time.Time, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	fired := make(chan time.Time, 100)
	go func() { _ = s.Run(ctx, func(context.Context) { fired <- c.Now() }) }()
	t.Cleanup(cancel)
	return fired, cancel
}

func TestFiresAtTheDeadlineNotBefore(t *testing.T) {
	t.Parallel()
	c := clock.New()
	s := New(c, time.Hour)
	fired, _ := run(t, s, c)
	at := c.Now().Add(150 * time.Millisecond)
	s.Set("task-1", at)
	select {
	case got := <-fired:
		if got.Before(at) {
			t.Fatalf("fired %v before the deadline", at.Sub(got))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("never fired")
	}
	if s.Len() != 0 {
		t.Fatalf("%d deadlines held after firing, want 0", s.Len())
	}
}

func TestMovedAndClearedDeadlinesDoNotFire(t *testing.T) {
	t.Parallel()
	c := clock.New()
	s := New(c, time.Hour)
	fired, _ := run(t, s, c)
	s.Set("moved", c.Now().Add(100*time.Millisecond))
	s.Set("cleared", c.Now().Add(100*time.Millisecond))
	s.Set("moved", c.Now().Add(time.Hour-time.Second)) // rescheduled far ahead
	s.Set("cleared", time.Time{})                      // answered
	select {
	case <-fired:
		t.Fatal("fired for a deadline that moved or cleared")
	case <-time.After(400 * time.Millisecond):
	}
	if s.Len() != 1 {
		t.Fatalf("held %d, want only the moved one", s.Len())
	}
}

func TestBeyondTheHorizonIsNotHeld(t *testing.T) {
	t.Parallel()
	c := clock.New()
	s := New(c, time.Minute)
	s.Set("later", c.Now().Add(2*time.Minute))
	if s.Len() != 0 {
		t.Fatal("a deadline beyond the horizon is held")
	}
}

// A time warp (demo, tests) moves the clock past a deadline: it fires at once.
func TestWarpPastADeadlineFiresIt(t *testing.T) {
	t.Parallel()
	c := clock.New()
	s := New(c, 24*time.Hour)
	fired, _ := run(t, s, c)
	s.Set("tomorrow", c.Now().Add(12*time.Hour))
	time.Sleep(50 * time.Millisecond) // the scheduler is asleep on a 12h timer
	c.Set(13 * time.Hour)
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		t.Fatal("the warp did not wake the scheduler")
	}
}

func TestOneFireForManyDueTogether(t *testing.T) {
	t.Parallel()
	c := clock.New()
	s := New(c, time.Hour)
	past := c.Now().Add(-time.Second)
	for _, id := range []string{"a", "b", "c", "d"} {
		s.Set(id, past)
	}
	fired, cancel := run(t, s, c)
	<-fired
	select {
	case <-fired:
		t.Fatal("deadlines due together fired more than once")
	case <-time.After(200 * time.Millisecond):
	}
	cancel()
}
