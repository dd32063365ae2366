// Package hint carries wake-up hints over LISTEN/NOTIFY: "the outbox has new rows" between
// replicas, "the clock moved" from flux.set_time_warp. A hint says that something changed; the
// tables say what. Hints are debounced (at most one per interval, however many rows); they may
// carry ids, comma separated (the chat hints name the transactions a receiver must be able to
// see before it claims). A lost hint only delays work until the next sweep, because the tables
// are the truth. Sending them from the service rather than from a per-row trigger keeps NOTIFY off the
// write path (a NOTIFY in every transaction serializes commits under load).
package hint

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The NOTIFY channels of hints.
const (
	Channel     = "flux_outbox" // the outbox has rows to send
	ChatChannel = "flux_chat"   // a conversation has a message to answer
)

// Sender sends debounced hints.
type Sender struct {
	pool     *pgxpool.Pool
	channel  string
	interval time.Duration
	log      *slog.Logger
	pending  chan struct{}

	mu  sync.Mutex
	ids []string // named in the next hint
}

// maxPayload keeps a hint's ids below NOTIFY's 8000-byte payload; ids past it are not named
// (their receivers find them by claiming, as without ids).
const maxPayload = 7900

// NewSender returns a sender that notifies channel at most once per interval.
func NewSender(pool *pgxpool.Pool, channel string, interval time.Duration, log *slog.Logger) *Sender {
	return &Sender{pool: pool, channel: channel, interval: interval, log: log, pending: make(chan struct{}, 1)}
}

// Hint asks for a notification soon, naming ids. It never blocks.
func (s *Sender) Hint(ids ...string) {
	if len(ids) > 0 {
		s.mu.Lock()
		s.ids = append(s.ids, ids...)
		s.mu.Unlock()
	}
	select {
	case s.pending <- struct{}{}:
	default:
	}
}

// Run sends the hints until ctx ends.
func (s *Sender) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.pending:
		}
		if _, err := s.pool.Exec(ctx, "select pg_notify($1, $2)", s.channel, s.payload()); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "hint not sent; other replicas will find the work on their sweep", "channel", s.channel, "error", err)
		}
		select { // debounce: hints arriving meanwhile collapse into the next one
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(s.interval):
		}
	}
}

// payload takes the ids named since the last hint, as many as fit.
func (s *Sender) payload() string {
	s.mu.Lock()
	ids := s.ids
	s.ids = nil
	s.mu.Unlock()
	n, size := 0, 0
	for n < len(ids) && size+len(ids[n])+1 <= maxPayload {
		size += len(ids[n]) + 1
		n++
	}
	return strings.Join(ids[:n], ",")
}

// IDs are the ids a hint's payload names.
func IDs(payload string) []string {
	if payload == "" {
		return nil
	}
	return strings.Split(payload, ",")
}

// Listen calls onHint once listening on channel (with no payload), and then for every
// notification on it with its payload, until ctx ends, reconnecting after failures (a hint sent
// while reconnecting is covered by the call made once listening again).
func Listen(ctx context.Context, url, channel string, log *slog.Logger, onHint func(payload string)) error {
	for {
		err := listenOnce(ctx, url, channel, onHint)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.WarnContext(ctx, "hint listener interrupted; reconnecting", "channel", channel, "error", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

func listenOnce(ctx context.Context, url, channel string, onHint func(string)) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("hint: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "listen "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return fmt.Errorf("hint: listen: %w", err)
	}
	onHint("") // whatever happened while not listening
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("hint: wait: %w", err)
		}
		onHint(n.Payload)
	}
}
