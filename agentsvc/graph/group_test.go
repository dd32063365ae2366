package graph

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// A panic in a turn's goroutine reaches the goroutine that waits (where the listener recovers
// it as the turn's failure), with the panicking goroutine's stack; the others are cancelled.
func TestAPanicInATurnsGoroutineReachesItsWaiter(t *testing.T) {
	g, ctx := newGroup(context.Background())
	g.Go(func() error { panic("planner broke") })
	g.Go(func() error { <-ctx.Done(); return ctx.Err() })
	var got any
	func() {
		defer func() { got = recover() }()
		_ = g.Wait()
	}()
	s, _ := got.(string)
	if !strings.Contains(s, "planner broke") || !strings.Contains(s, "group_test.go") {
		t.Fatalf("Wait panicked with %q", got)
	}

	g, _ = newGroup(context.Background())
	failed := errors.New("classifier down")
	g.Go(func() error { return failed })
	if err := g.Wait(); !errors.Is(err, failed) {
		t.Fatalf("an error must come back as an error: %v", err)
	}
}
