// Package feed follows the database through a permanent logical replication slot (pgoutput over
// the flux_listener and flux_listener_inserts publications) and hands each committed
// transaction's row changes to a Handler.
//
// Tables are the truth and the stream is the fast path:
//   - on every (re)connection the Handler's CatchUp runs first, after the slot exists, so a lost
//     or recreated slot loses nothing (whatever the slot cannot replay, the tables still hold);
//   - a transaction's LSN is confirmed to the server only after Handle returned for it, so after
//     a crash the unconfirmed tail is delivered again (handlers are idempotent);
//   - keepalives are answered, and when idle the feed confirms the server's position so an
//     unrelated write load does not make the slot retain WAL.
//
// One replica reads the slot: the leader, elected by a session advisory lock held on its own
// connection. The slot itself admits a single reader too; the lock keeps the others waiting
// quietly instead of failing to start replication.
package feed

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/flux-companion/flux/listener/backoff"
	"github.com/flux-companion/flux/sql/pgerr"
)

// Change is one row change.
type Change struct {
	Table string // table name (the publication's tables are all in public)
	Op    string // insert, update or delete
	// Xid is the transaction's id (32 bits, as pgoutput sends it). The feed sees a commit a
	// moment before the committing session makes it visible to others; a handler that acts on
	// a change at once can wait for it (see store.WaitVisible).
	Xid uint32
	// The relation's columns and their values in text form. A delete carries the key only, and
	// an unchanged TOAST value is absent. All values share one copy of the tuple: a map of
	// strings per row was the largest part of the feed's cost under load.
	cols []*pglogrepl.RelationMessageColumn
	vals []value
}

type value struct {
	text string
	kind byte // 't' text, 'n' NULL, 'u' unchanged TOAST (absent)
}

func (c Change) lookup(col string) value {
	for i, rc := range c.cols {
		if rc.Name == col && i < len(c.vals) {
			return c.vals[i]
		}
	}
	return value{kind: 'u'}
}

// Get is the text value of a column ("" when NULL or absent).
func (c Change) Get(col string) string { return c.lookup(col).text }

// IsNull reports whether a column is NULL (false when absent).
func (c Change) IsNull(col string) bool { return c.lookup(col).kind == 'n' }

// Time parses a timestamptz column (zero when NULL). The replication session runs in UTC, so
// values come as "2006-01-02 15:04:05.999999+00".
func (c Change) Time(col string) (time.Time, error) {
	v := c.Get(col)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse("2006-01-02 15:04:05.999999999-07", v)
	if err != nil {
		return time.Time{}, fmt.Errorf("feed: %s.%s: %w", c.Table, col, err)
	}
	return t, nil
}

// Handler consumes the feed.
type Handler interface {
	// CatchUp runs after every (re)connection, before streaming resumes.
	CatchUp(ctx context.Context) error
	// Handle takes the changes of one committed transaction, in commit order. Its LSN is
	// confirmed only after Handle returns nil; an error ends the stream (it reconnects and the
	// transaction comes again).
	Handle(ctx context.Context, changes []Change) error
}

// DefaultSlot is the replication slot's name unless configured (FLUX_SLOT).
const DefaultSlot = "flux_listener"

// Config for a Feed. Zero values take the defaults.
type Config struct {
	DatabaseURL    string
	Slot           string        // default flux_listener
	Publication    string        // publication_names; default flux_listener,flux_listener_inserts
	LeaderKey      int64         // advisory lock key; default a fixed Flux key
	StatusInterval time.Duration // standby status updates; default 10s
	RetryMax       time.Duration // reconnect backoff cap; default 30s
	Log            *slog.Logger
}

// Feed is the change feed.
type Feed struct {
	cfg       Config
	h         Handler
	leader    atomic.Bool
	streaming atomic.Bool
	confirmed atomic.Uint64
	failing   atomic.Pointer[error] // the last session's error, until the stream is up again
}

// New returns a feed for h.
func New(cfg Config, h Handler) *Feed {
	cfg.Slot = cmp.Or(cfg.Slot, DefaultSlot)
	cfg.Publication = cmp.Or(cfg.Publication, "flux_listener,flux_listener_inserts")
	cfg.LeaderKey = cmp.Or(cfg.LeaderKey, 0x666c75786c6472) // "fluxldr"
	if cfg.StatusInterval <= 0 {
		cfg.StatusInterval = 10 * time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 30 * time.Second
	}
	cfg.Log = cmp.Or(cfg.Log, slog.Default())
	return &Feed{cfg: cfg, h: h}
}

// Leader reports whether this replica holds the feed's leadership.
func (f *Feed) Leader() bool { return f.leader.Load() }

// Streaming reports whether the replication stream is up.
func (f *Feed) Streaming() bool { return f.streaming.Load() }

// Err is why the feed cannot stream: the last attempt's error, until a stream has held up to a
// status update since (nil for a follower waiting for leadership). Between retries the replica
// is not leader, so Leader and Streaming alone would look healthy.
func (f *Feed) Err() error {
	if p := f.failing.Load(); p != nil {
		return *p
	}
	return nil
}

// Confirmed is the last LSN confirmed to the server.
func (f *Feed) Confirmed() pglogrepl.LSN { return pglogrepl.LSN(f.confirmed.Load()) }

// Run follows the database until ctx ends, reconnecting with backoff after any failure
// (database restart, network, a handler error).
func (f *Feed) Run(ctx context.Context) error {
	failures := 0
	for {
		started := time.Now()
		err := f.session(ctx)
		f.streaming.Store(false)
		f.leader.Store(false)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		f.failing.Store(&err)
		if time.Since(started) > f.cfg.RetryMax {
			failures = 0 // it ran fine for a while: this is a new incident
		}
		failures++
		wait := backoff.Delay(250*time.Millisecond, f.cfg.RetryMax, failures)
		// A refusal by the server (a lost slot, a missing publication) is an error an operator
		// must see, with PostgreSQL's own detail; a dropped connection is routine.
		level, attrs := slog.LevelWarn, []any{"error", err, "retry_in", wait}
		if pgErr, ok := pgerr.As(err); ok {
			level = slog.LevelError
			attrs = append(attrs, "sqlstate", pgErr.Code, "detail", pgErr.Detail, "hint", pgErr.Hint)
		}
		f.cfg.Log.Log(ctx, level, "change feed interrupted; reconnecting", attrs...)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// session is one leadership term: take the lock, connect, catch up, stream.
func (f *Feed) session(ctx context.Context) error {
	lockConn, err := pgx.Connect(ctx, f.cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("feed: connect for leadership: %w", err)
	}
	defer lockConn.Close(context.WithoutCancel(ctx))
	// Followers wait in the lock itself: the server grants it the moment the leader's session
	// ends (a crashed leader's connection closes with its process), where polling left the feed
	// without a reader for up to a poll interval.
	if _, err := lockConn.Exec(ctx, "select pg_advisory_lock($1)", f.cfg.LeaderKey); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("feed: leadership lock: %w", err)
	}
	f.leader.Store(true)
	f.cfg.Log.InfoContext(ctx, "change feed leadership taken", "slot", f.cfg.Slot)

	// Losing the lock connection means another replica may take over: end the term.
	sctx, cancel := context.WithCancelCause(ctx)
	pinger := make(chan struct{})
	defer func() { cancel(nil); <-pinger }() // the pinger uses lockConn: stop it before Close
	go func() {
		defer close(pinger)
		t := time.NewTicker(f.cfg.StatusInterval)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-t.C:
				if err := lockConn.Ping(sctx); err != nil && sctx.Err() == nil {
					cancel(fmt.Errorf("feed: leadership connection lost: %w", err))
					return
				}
			}
		}
	}()

	err = f.stream(sctx)
	if cause := context.Cause(sctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

func (f *Feed) stream(ctx context.Context) error {
	cfg, err := pgconn.ParseConfig(f.cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("feed: parse database URL: %w", err)
	}
	cfg.RuntimeParams["replication"] = "database"
	cfg.RuntimeParams["timezone"] = "UTC" // fixes the text form of timestamptz values
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("feed: replication connection: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	if err := f.dropLostSlot(ctx, conn); err != nil {
		return err
	}
	_, err = pglogrepl.CreateReplicationSlot(ctx, conn, f.cfg.Slot, "pgoutput",
		pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication})
	switch {
	case err == nil:
		f.cfg.Log.InfoContext(ctx, "replication slot created", "slot", f.cfg.Slot)
	case pgerr.Exists(err): // it survived us
	default:
		return fmt.Errorf("feed: create slot %s: %w", f.cfg.Slot, err)
	}

	// The slot now retains every change from here on; catch up on everything before.
	if err := f.h.CatchUp(ctx); err != nil {
		return fmt.Errorf("feed: catch up: %w", err)
	}

	// Start at 0: the server resumes from the slot's confirmed position.
	err = pglogrepl.StartReplication(ctx, conn, f.cfg.Slot, 0, pglogrepl.StartReplicationOptions{
		PluginArgs: []string{"proto_version '1'", fmt.Sprintf("publication_names '%s'", f.cfg.Publication)},
	})
	if err != nil {
		return fmt.Errorf("feed: start replication on %s: %w", f.cfg.Slot, err)
	}
	f.streaming.Store(true)
	f.cfg.Log.InfoContext(ctx, "change feed streaming", "slot", f.cfg.Slot, "publication", f.cfg.Publication)

	var (
		relations = map[uint32]*pglogrepl.RelationMessage{}
		txn       []Change
		inTxn     bool
		xid       uint32
		confirmed = f.Confirmed()
		nextSend  = time.Now().Add(f.cfg.StatusInterval)
	)
	// On the way out (shutdown, leadership lost), confirm what was handled, so the next reader
	// does not get it again. An interrupted read leaves the connection usable for this.
	defer func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := pglogrepl.SendStandbyStatusUpdate(fctx, conn, pglogrepl.StandbyStatusUpdate{WALWritePosition: confirmed}); err == nil {
			f.confirmed.Store(uint64(confirmed))
		}
	}()
	sendStatus := func() error {
		err := pglogrepl.SendStandbyStatusUpdate(ctx, conn, pglogrepl.StandbyStatusUpdate{WALWritePosition: confirmed})
		if err != nil {
			return fmt.Errorf("feed: standby status: %w", err)
		}
		f.confirmed.Store(uint64(confirmed))
		nextSend = time.Now().Add(f.cfg.StatusInterval)
		// Healthy again only once the stream has held up to a status update: a start that fails
		// at its first change (a missing publication) must not read as recovered in between.
		f.failing.Store(nil)
		return nil
	}

	for {
		if time.Now().After(nextSend) {
			if err := sendStatus(); err != nil {
				return err
			}
		}
		rctx, cancel := context.WithDeadline(ctx, nextSend)
		raw, err := conn.ReceiveMessage(rctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if pgconn.Timeout(err) {
				continue // time for a status update
			}
			return fmt.Errorf("feed: receive: %w", err)
		}
		switch msg := raw.(type) {
		case *pgproto3.ErrorResponse:
			return fmt.Errorf("feed: server: %w", pgconn.ErrorResponseToPgError(msg))
		case *pgproto3.CopyData:
			switch msg.Data[0] {
			case pglogrepl.PrimaryKeepaliveMessageByteID:
				ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(msg.Data[1:])
				if err != nil {
					return fmt.Errorf("feed: keepalive: %w", err)
				}
				// Idle and everything received handled: what lies before the server's position
				// is not ours (other tables), so confirming it lets the server recycle WAL.
				if !inTxn && ka.ServerWALEnd > confirmed {
					confirmed = ka.ServerWALEnd
				}
				if ka.ReplyRequested {
					if err := sendStatus(); err != nil {
						return err
					}
				}
			case pglogrepl.XLogDataByteID:
				xld, err := pglogrepl.ParseXLogData(msg.Data[1:])
				if err != nil {
					return fmt.Errorf("feed: xlog data: %w", err)
				}
				m, err := pglogrepl.Parse(xld.WALData)
				if err != nil {
					return fmt.Errorf("feed: decode pgoutput: %w", err)
				}
				switch m := m.(type) {
				case *pglogrepl.RelationMessage:
					relations[m.RelationID] = m
				case *pglogrepl.BeginMessage:
					txn, inTxn, xid = txn[:0], true, m.Xid
				case *pglogrepl.InsertMessage:
					txn = append(txn, change(relations, m.RelationID, xid, "insert", m.Tuple))
				case *pglogrepl.UpdateMessage:
					txn = append(txn, change(relations, m.RelationID, xid, "update", m.NewTuple))
				case *pglogrepl.DeleteMessage:
					txn = append(txn, change(relations, m.RelationID, xid, "delete", m.OldTuple))
				case *pglogrepl.CommitMessage:
					if len(txn) > 0 {
						if err := f.h.Handle(ctx, txn); err != nil {
							return fmt.Errorf("feed: handle transaction ending at %s: %w", m.TransactionEndLSN, err)
						}
					}
					txn, inTxn = txn[:0], false
					confirmed = m.TransactionEndLSN
				}
			}
		}
	}
}

// dropLostSlot drops the slot when the server invalidated it (wal_status 'lost': it retained
// more WAL than max_slot_wal_keep_size while nobody read it). Such a slot can never be read
// again, and left alone every start fails with 55000; created anew, the catch-up finds in the
// tables whatever it can no longer replay. The replication connection runs plain SQL.
func (f *Feed) dropLostSlot(ctx context.Context, conn *pgconn.PgConn) error {
	rows, err := conn.Exec(ctx, fmt.Sprintf(`select restart_lsn, current_setting('max_slot_wal_keep_size')
		from pg_catalog.pg_replication_slots where slot_name = %s and wal_status = 'lost'`, quoteLiteral(f.cfg.Slot))).ReadAll()
	if err != nil {
		return fmt.Errorf("feed: read the state of slot %s: %w", f.cfg.Slot, err)
	}
	if len(rows) == 0 || len(rows[0].Rows) == 0 {
		return nil
	}
	row := rows[0].Rows[0]
	f.cfg.Log.ErrorContext(ctx, "replication slot lost; dropping and creating it again",
		"slot", f.cfg.Slot, "restart_lsn", string(row[0]),
		"detail", fmt.Sprintf("PostgreSQL invalidated the slot: the WAL it retained exceeded max_slot_wal_keep_size (%s) while no listener read it", row[1]),
		"hint", "changes made meanwhile are recovered from the tables by the catch-up; raise max_slot_wal_keep_size or keep a listener running")
	if err := pglogrepl.DropReplicationSlot(ctx, conn, f.cfg.Slot, pglogrepl.DropReplicationSlotOptions{}); err != nil {
		return fmt.Errorf("feed: drop lost slot %s: %w", f.cfg.Slot, err)
	}
	return nil
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// change copies a tuple out of the message buffer, which the next receive reuses.
func change(relations map[uint32]*pglogrepl.RelationMessage, id, xid uint32, op string, tuple *pglogrepl.TupleData) Change {
	c := Change{Op: op, Xid: xid}
	rel, ok := relations[id]
	if !ok || tuple == nil {
		return c // pgoutput always sends the relation first; nothing to decode without it
	}
	c.Table, c.cols = rel.RelationName, rel.Columns
	n := 0
	for _, col := range tuple.Columns {
		n += len(col.Data)
	}
	var buf strings.Builder
	buf.Grow(n)
	for _, col := range tuple.Columns {
		buf.Write(col.Data)
	}
	all := buf.String()
	c.vals = make([]value, len(tuple.Columns))
	off := 0
	for i, col := range tuple.Columns {
		c.vals[i] = value{text: all[off : off+len(col.Data)], kind: col.DataType}
		off += len(col.Data)
	}
	return c
}
