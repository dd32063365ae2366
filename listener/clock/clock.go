// Package clock is the Go half of Flux's one clock: wall time plus the development time warp
// kept in flux.clock, the same offset flux.now() adds in SQL. Every component reads time from a
// *Clock, so a warped demo or test moves SQL and Go together.
package clock

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Channel is the NOTIFY channel flux.set_time_warp signals on; the service reloads on it.
const Channel = "flux_clock"

// Clock is wall time plus an offset. The zero value is not usable; use New.
type Clock struct {
	offset atomic.Int64 // nanoseconds

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every offset change
}

// New returns a clock with no offset.
func New() *Clock {
	return &Clock{changed: make(chan struct{})}
}

// Now is the current time as Flux sees it.
func (c *Clock) Now() time.Time { return time.Now().Add(c.Offset()) }

// Offset is the current warp.
func (c *Clock) Offset() time.Duration { return time.Duration(c.offset.Load()) }

// Changed is closed when the offset next changes: timers armed against Now re-arm on it.
func (c *Clock) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// Set moves the clock. The database's offset stays the authority: Set is for Load and tests.
func (c *Clock) Set(offset time.Duration) {
	if time.Duration(c.offset.Swap(int64(offset))) == offset {
		return
	}
	c.mu.Lock()
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// Querier is what Load needs (pgx.Conn, pgxpool.Pool, pgx.Tx).
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Load reads the warp from flux.clock.
func (c *Clock) Load(ctx context.Context, q Querier) error {
	var micros int64
	if err := q.QueryRow(ctx, `select (extract(epoch from warp) * 1000000)::bigint from flux.clock`).Scan(&micros); err != nil {
		return fmt.Errorf("clock: read flux.clock: %w", err)
	}
	c.Set(time.Duration(micros) * time.Microsecond)
	return nil
}
