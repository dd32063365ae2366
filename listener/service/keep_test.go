package service

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/flux-companion/flux/internal/testwait"
	"github.com/flux-companion/flux/listener/logtest"
)

// A panic in one part of the service is logged and the part starts again; an error ends it.
func TestAPanickingPartStartsAgain(t *testing.T) {
	t.Parallel()
	var logs logtest.Buffer
	s := &Service{log: logs.Logger()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var starts atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- s.keep(ctx, "escalation claim", func(ctx context.Context) error {
			if starts.Add(1) <= 2 {
				panic("boom")
			}
			<-ctx.Done()
			return ctx.Err()
		})
	}()
	testwait.For(t, "the part's third start", func() bool { return starts.Load() == 3 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("keep returned %v", err)
	}
	panics := logs.Lines("recovered a panic; this unit of work failed, the others go on")
	if len(panics) != 2 || panics[0]["unit"] != "escalation claim" {
		t.Fatalf("panic lines: %v", panics)
	}

	failed := errors.New("slot gone")
	if err := s.keep(context.Background(), "change feed", func(context.Context) error { return failed }); !errors.Is(err, failed) {
		t.Fatalf("an error must end the part: %v", err)
	}
}
