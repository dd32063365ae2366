package graph

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"golang.org/x/sync/errgroup"
)

// group is an errgroup whose goroutines' panics come back to the goroutine that waits: the
// turn's own, where the listener recovers a panic as that turn's failure and reports it. A
// panic left in a goroutine of its own would end the whole process.
type group struct {
	*errgroup.Group
	mu       sync.Mutex
	panicked any
}

var errPanicked = errors.New("graph: a goroutine of the turn panicked")

func newGroup(ctx context.Context) (*group, context.Context) {
	g, gctx := errgroup.WithContext(ctx)
	return &group{Group: g}, gctx
}

// Go runs f in a goroutine; a panic in it cancels the group and is kept, with its stack.
func (g *group) Go(f func() error) {
	g.Group.Go(func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				g.mu.Lock()
				if g.panicked == nil {
					g.panicked = fmt.Sprintf("%v\n\ngoroutine stack:\n%s", p, debug.Stack())
				}
				g.mu.Unlock()
				err = errPanicked
			}
		}()
		return f()
	})
}

// Wait waits for the goroutines and panics again, here, if one of them panicked.
func (g *group) Wait() error {
	err := g.Group.Wait()
	if g.panicked != nil {
		panic(g.panicked)
	}
	return err
}
