// Package deadline keeps the upcoming escalation deadlines in memory and fires at each one, so
// rungs go out at their second rather than at the next minute of pg_cron's sweep.
//
// Only deadlines up to a horizon ahead are kept (the change feed and a periodic refill bring the
// rest in as they approach), so memory is bounded by what is about to happen, not by the table.
// Entries are keyed by task: a task whose rung moves or clears replaces or drops its entry, so a
// stale deadline never wakes the claim for nothing. When nothing is due, nothing runs: one timer
// sleeps until the earliest deadline.
package deadline

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/flux-companion/flux/listener/clock"
)

// Scheduler fires a callback at each deadline it holds.
type Scheduler struct {
	clock   *clock.Clock
	horizon time.Duration

	mu     sync.Mutex
	byTask map[string]*entry
	queue  entries
	wake   chan struct{} // a new earliest deadline: re-arm
}

type entry struct {
	task  string
	at    time.Time
	index int
}

// New returns a scheduler holding deadlines up to horizon ahead of c.Now().
func New(c *clock.Clock, horizon time.Duration) *Scheduler {
	return &Scheduler{clock: c, horizon: horizon, byTask: map[string]*entry{}, wake: make(chan struct{}, 1)}
}

// Horizon is how far ahead deadlines are kept.
func (s *Scheduler) Horizon() time.Duration { return s.horizon }

// Set records task's next deadline, replacing any earlier one. A zero at removes it (the task
// left the ladder). Deadlines beyond the horizon are dropped: the refill brings them back later.
func (s *Scheduler) Set(task string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.byTask[task]; ok {
		heap.Remove(&s.queue, e.index)
		delete(s.byTask, task)
	}
	if at.IsZero() || at.After(s.clock.Now().Add(s.horizon)) {
		return
	}
	e := &entry{task: task, at: at}
	heap.Push(&s.queue, e)
	s.byTask[task] = e
	if e.index == 0 {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// Len is the number of deadlines held.
func (s *Scheduler) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// Run calls fire whenever deadlines fall due, until ctx ends. The deadlines that fell due are
// dropped before fire runs: fire (the claim) moves their tasks on, and their next rungs come
// back through Set. fire runs on Run's goroutine, so claims never overlap.
func (s *Scheduler) Run(ctx context.Context, fire func(ctx context.Context)) error {
	for {
		// Taken before next reads the clock: a warp between the two still wakes this loop
		// (taken after, its close would be missed and the timer would wait out the old time).
		changed := s.clock.Changed()
		wait, due := s.next()
		if due {
			fire(ctx)
			continue
		}
		var timer *time.Timer
		var expired <-chan time.Time
		if wait > 0 {
			timer = time.NewTimer(wait)
			expired = timer.C
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-changed:
		case <-expired:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// next pops everything due and reports whether anything was; otherwise it says how long to wait
// (0: nothing held).
func (s *Scheduler) next() (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	due := false
	for len(s.queue) > 0 && !s.queue[0].at.After(now) {
		e := heap.Pop(&s.queue).(*entry)
		delete(s.byTask, e.task)
		due = true
	}
	if due || len(s.queue) == 0 {
		return 0, due
	}
	return s.queue[0].at.Sub(now), false
}

type entries []*entry

func (q entries) Len() int           { return len(q) }
func (q entries) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q entries) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *entries) Push(x any) {
	e := x.(*entry)
	e.index = len(*q)
	*q = append(*q, e)
}
func (q *entries) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return e
}
