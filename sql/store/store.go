// Package store holds the service's queries: the SQL lives in queries/*.sql (embedded), each
// behind a typed method. The agents never reach the database (they read an agentrun.Input and
// return an agentrun.Output, which the store loads and applies); the listener talks to it only
// through here, but for the plumbing that is not a query of the data (the change feed's
// replication connection and leader lock, the hints' LISTEN/NOTIFY, the clock's warp) and the
// fixtures of the dev, demo and bench commands.
package store

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

//go:embed queries/*.sql
var files embed.FS

func query(name string) string {
	b, err := files.ReadFile("queries/" + name + ".sql")
	if err != nil {
		panic(fmt.Sprintf("store: missing query %s: %v", name, err))
	}
	return string(b)
}

var (
	qClaimEscalations       = query("claim_escalations")
	qSlotHealth             = query("slot_health")
	qAgentBacklog           = query("agent_backlog")
	qCronRuns               = query("cron_runs")
	qCronInstalled          = query("cron_installed")
	qXactsVisible           = query("xacts_visible")
	qEarliestDue            = query("earliest_due")
	qClaimOutbox            = query("claim_outbox")
	qFinishDispatches       = query("finish_dispatches")
	qRecordResponse         = query("record_response")
	qDeletePushSubscription = query("delete_push_subscription")
	qUpcomingDeadlines      = query("upcoming_deadlines")
	qOutboxDepth            = query("outbox_depth")
	qWhatsAppTask           = query("whatsapp_task")
	qRecordDelivery         = query("record_delivery")
	qReceiveWhatsApp        = query("receive_whatsapp")
	qSettleReceipt          = query("settle_receipt")
	qWhatsAppOptOut         = query("whatsapp_opt_out")
	qAsUser                 = query("as_user")
)

// DBTX is a pgx connection, pool or transaction.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Store runs the queries on a DBTX.
type Store struct{ db DBTX }

// New returns a Store on db.
func New(db DBTX) *Store { return &Store{db: db} }

// one runs a query of one row and one column and returns the value. Errors, as those of exec
// and collect, read "store: <what>: …".
func one[T any](ctx context.Context, db DBTX, what, sql string, args ...any) (T, error) {
	var v T
	if err := db.QueryRow(ctx, sql, args...).Scan(&v); err != nil {
		var zero T
		return zero, fmt.Errorf("store: %s: %w", what, err)
	}
	return v, nil
}

// exec runs a statement whose result is not read.
func exec(ctx context.Context, db DBTX, what, sql string, args ...any) error {
	if _, err := db.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return nil
}

// collect runs a query and scans each of its rows with scan.
func collect[T any](ctx context.Context, db DBTX, what string, scan pgx.RowToFunc[T], sql string, args ...any) ([]T, error) {
	rows, err := db.Query(ctx, sql, args...)
	if err == nil {
		var out []T
		if out, err = pgx.CollectRows(rows, scan); err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("store: %s: %w", what, err)
}

// Rung is the outcome of one claimed rung of a task's ladder (fields in the query's column order).
type Rung struct {
	TaskID, UserID string
	From, Stage    string // the rung the task was at, and the rung taken (later after a backlog)
	Outcome        string // queued (an outbox row), skipped, auto_missed, restarted (location)
	Reason         string // why it was skipped
}

// ClaimEscalations takes up to limit due rungs, one per task, and returns what became of each.
func (s *Store) ClaimEscalations(ctx context.Context, limit int) ([]Rung, error) {
	return collect(ctx, s.db, "claim escalations", pgx.RowToStructByPos[Rung], qClaimEscalations, limit)
}

// PushSubscription is one browser of a user.
type PushSubscription struct {
	Endpoint string `json:"endpoint"`
	P256dh   string `json:"p256dh"`
	Auth     string `json:"auth"`
}

// OutboxItem is a leased outbox row with what its sender needs.
type OutboxItem struct {
	ID          int64
	UserID      string
	TaskID      string
	Channel     string // push, whatsapp, call
	Attempts    int
	DueAt       *time.Time // when the rung fell due
	TaskTitle   string
	ScheduledAt *time.Time
	Timezone    string
	Phone       *string
	Push        []PushSubscription // push rows only
	// OfferReschedule: a WhatsApp reminder may offer "2 reschedule" (a free slot remains today).
	OfferReschedule bool
	// WindowOpen: the person wrote on WhatsApp in the last 24 hours, so free text may be sent;
	// otherwise only an approved template goes through.
	WindowOpen bool
	// SnoozesLeft: how many more times this reminder may be snoozed (0: do not offer it).
	SnoozesLeft int
	// Skipped is why the claim skipped the row instead of leasing it (its task was answered, a
	// later rung superseded it, it was snoozed): nothing to send. "" for a leased row.
	Skipped string
}

// ClaimOutbox leases up to limit outbox rows to owner for lease.
func (s *Store) ClaimOutbox(ctx context.Context, limit int, lease time.Duration, owner string) ([]OutboxItem, error) {
	return collect(ctx, s.db, "claim outbox", func(r pgx.CollectableRow) (OutboxItem, error) {
		var it OutboxItem
		var push []byte
		err := r.Scan(&it.ID, &it.UserID, &it.TaskID, &it.Channel, &it.Attempts, &it.DueAt,
			&it.TaskTitle, &it.ScheduledAt, &it.Timezone, &it.Phone, &push, &it.OfferReschedule,
			&it.WindowOpen, &it.SnoozesLeft, &it.Skipped)
		if err == nil && push != nil {
			err = json.Unmarshal(push, &it.Push)
		}
		return it, err
	}, qClaimOutbox, limit, lease, owner)
}

// Outcome of a send, as flux.finish_dispatch records it.
type Outcome string

const (
	Sent   Outcome = "sent"
	Retry  Outcome = "retry"
	Failed Outcome = "failed"
)

// Finish is the outcome of one send.
type Finish struct {
	ID         int64
	Outcome    Outcome
	ExternalID string    // the provider's id, for sent
	Error      string    // for retry and failed
	RetryAt    time.Time // for retry
}

// FinishDispatches records outcomes for their lease owner in one statement. It returns the ids
// recorded; a missing id lost its lease (another worker owns the row now) and nothing changed.
func (s *Store) FinishDispatches(ctx context.Context, owner string, fs []Finish) (map[int64]bool, error) {
	ids := make([]int64, len(fs))
	outcomes := make([]string, len(fs))
	external := make([]*string, len(fs))
	errs := make([]*string, len(fs))
	retry := make([]*time.Time, len(fs))
	for i, f := range fs {
		ids[i], outcomes[i] = f.ID, string(f.Outcome)
		if f.ExternalID != "" {
			external[i] = &f.ExternalID
		}
		if f.Error != "" {
			errs[i] = &f.Error
		}
		if !f.RetryAt.IsZero() {
			retry[i] = &f.RetryAt
		}
	}
	recorded, err := collect(ctx, s.db, fmt.Sprintf("finish %d dispatches", len(fs)), pgx.RowTo[int64],
		qFinishDispatches, owner, ids, outcomes, external, errs, retry)
	if err != nil {
		return nil, err
	}
	done := make(map[int64]bool, len(recorded))
	for _, id := range recorded {
		done[id] = true
	}
	return done, nil
}

// Response results of RecordResponse.
const (
	Recorded    = "recorded"
	Duplicate   = "duplicate"
	NotPending  = "not_pending"
	SnoozeLimit = "snooze_limit" // a fourth snooze, refused
)

// RecordResponse answers a task's reminder: done, missed, reschedule, snooze or acknowledge.
// providerSID (the inbound event's id) makes a replay a no-op.
func (s *Store) RecordResponse(ctx context.Context, taskID, response, channel, providerSID string) (string, error) {
	return one[string](ctx, s.db, fmt.Sprintf("record %s for task %s", response, taskID),
		qRecordResponse, taskID, response, nullIfEmpty(channel), nullIfEmpty(providerSID))
}

// DeletePushSubscription removes a subscription its push service declared gone.
func (s *Store) DeletePushSubscription(ctx context.Context, endpoint string) error {
	return exec(ctx, s.db, "delete push subscription "+redactEndpoint(endpoint), qDeletePushSubscription, endpoint)
}

// Deadline is when a task's next rung falls due (fields in the query's column order).
type Deadline struct {
	TaskID string
	At     time.Time
}

// UpcomingDeadlines lists rungs due up to until, earliest first, at most limit.
func (s *Store) UpcomingDeadlines(ctx context.Context, until time.Time, limit int) ([]Deadline, error) {
	return collect(ctx, s.db, "upcoming deadlines", pgx.RowToStructByPos[Deadline], qUpcomingDeadlines, until, limit)
}

// WaitingReminder is the reminder a WhatsApp reply answers, and what a reminder to the person
// offers now.
type WaitingReminder struct {
	TaskID          string
	OfferReschedule bool
	SnoozesLeft     int
}

// WhatsAppTask finds the reminder a WhatsApp reply from phone answers: the latest unanswered
// WhatsApp reminder to that number whose task is open. found is false when there is none.
func (s *Store) WhatsAppTask(ctx context.Context, phone string) (r WaitingReminder, found bool, err error) {
	err = s.db.QueryRow(ctx, qWhatsAppTask, phone).Scan(&r.TaskID, &r.OfferReschedule, &r.SnoozesLeft)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("store: task for a WhatsApp reply: %w", err)
	}
	return r, true, nil
}

// Delivery results of RecordDelivery.
const (
	DeliveryRecorded = "recorded"
	DeliveryAdvanced = "advanced" // a failed rung: the ladder's next one is due now
	DeliveryStale    = "stale"    // a replay, or older than what is recorded
	DeliveryEarly    = "early"    // the send is not recorded yet; applied when it is
)

// RecordDelivery records a provider's status callback for the message or call sid (errorCode 0:
// none) and returns one of the Delivery results.
func (s *Store) RecordDelivery(ctx context.Context, sid, status string, errorCode int) (string, error) {
	var code any
	if errorCode != 0 {
		code = errorCode
	}
	return one[string](ctx, s.db, fmt.Sprintf("record delivery %s of %s", status, sid), qRecordDelivery, sid, status, code)
}

// Results of ReceiveWhatsApp besides a replay's recorded outcome.
const (
	InboundNew      = "new"      // first delivery: recorded, the window opened
	InboundReceived = "received" // a replay of one that never finished: take it up
	InboundUnknown  = "unknown"  // no verified user has the number
)

// ReceiveWhatsApp records an inbound WhatsApp message once: InboundNew the first time, the
// outcome recorded for it on a replay (an answer, or one of the Receipt outcomes).
func (s *Store) ReceiveWhatsApp(ctx context.Context, sid, phone string) (string, error) {
	return one[string](ctx, s.db, "receive WhatsApp "+sid, qReceiveWhatsApp, sid, phone)
}

// Outcomes of an inbound message that answered nothing, kept for its replays.
const (
	ReceiptOptedOut     = "opted_out"
	ReceiptNoReminder   = "no_reminder"
	ReceiptUnrecognised = "unrecognised"
)

// SettleReceipt records what an inbound message did when it was no answer.
func (s *Store) SettleReceipt(ctx context.Context, sid, outcome string) error {
	return exec(ctx, s.db, "settle receipt "+sid, qSettleReceipt, sid, outcome)
}

// WhatsAppOptOut withdraws the WhatsApp opt-in of phone's user; false when no verified user has
// the number.
func (s *Store) WhatsAppOptOut(ctx context.Context, phone string) (bool, error) {
	return one[bool](ctx, s.db, "WhatsApp opt-out", qWhatsAppOptOut, phone)
}

// OutboxDepth is the number of pending outbox rows and the age of the oldest, for metrics.
func (s *Store) OutboxDepth(ctx context.Context) (int, time.Duration, error) {
	return s.backlog(ctx, "outbox depth", qOutboxDepth)
}

// backlog runs a query of how many rows wait and how long, in seconds, the oldest has.
func (s *Store) backlog(ctx context.Context, what, sql string) (int, time.Duration, error) {
	var n int
	var age float64
	if err := s.db.QueryRow(ctx, sql).Scan(&n, &age); err != nil {
		return 0, 0, fmt.Errorf("store: %s: %w", what, err)
	}
	return n, time.Duration(age * float64(time.Second)), nil
}

// SlotHealth is the change feed's replication slot as the server sees it.
type SlotHealth struct {
	Exists        bool
	WALStatus     string  // reserved, extended, unreserved, lost
	RetainedBytes float64 // WAL kept for it, from its restart_lsn
	LagBytes      float64 // how far its confirmed position trails the server's
}

// SlotHealth reads slot's state.
func (s *Store) SlotHealth(ctx context.Context, slot string) (SlotHealth, error) {
	h := SlotHealth{Exists: true}
	err := s.db.QueryRow(ctx, qSlotHealth, slot).Scan(&h.WALStatus, &h.RetainedBytes, &h.LagBytes)
	if errors.Is(err, pgx.ErrNoRows) {
		return SlotHealth{}, nil
	}
	if err != nil {
		return SlotHealth{}, fmt.Errorf("store: slot health: %w", err)
	}
	return h, nil
}

// AgentBacklog is how many agent runs wait for a runner and how long the oldest has.
func (s *Store) AgentBacklog(ctx context.Context) (int, time.Duration, error) {
	return s.backlog(ctx, "agent backlog", qAgentBacklog)
}

// CronRun is a Flux pg_cron job's latest run (fields in the query's column order).
type CronRun struct {
	Job       string
	Succeeded bool
	Ended     *float64 // Unix seconds; nil when it never ran or still runs
}

// CronRuns reads Flux's pg_cron jobs, or nothing where pg_cron does not run them (its tables
// are in the cron database only).
func (s *Store) CronRuns(ctx context.Context) ([]CronRun, error) {
	var installed bool
	if err := s.db.QueryRow(ctx, qCronInstalled).Scan(&installed); err != nil || !installed {
		return nil, err
	}
	return collect(ctx, s.db, "cron runs", pgx.RowToStructByPos[CronRun], qCronRuns)
}

// WaitVisible waits, up to limit, until the transactions xids (as the change feed reports
// them) are visible to new snapshots: the feed sees a commit once its record is in the WAL, a
// moment before the committing session publishes it, so work the feed found must wait for that
// before a claim can see it. It reports whether they became visible.
func (s *Store) WaitVisible(ctx context.Context, xids []uint32, limit time.Duration) (bool, error) {
	ids := make([]int64, len(xids))
	for i, x := range xids {
		ids[i] = int64(x)
	}
	deadline := time.Now().Add(limit)
	for wait := time.Millisecond; ; wait = min(2*wait, 20*time.Millisecond) {
		var visible bool
		if err := s.db.QueryRow(ctx, qXactsVisible, ids).Scan(&visible); err != nil {
			return false, fmt.Errorf("store: transactions visible: %w", err)
		}
		if visible || time.Now().After(deadline) {
			return visible, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// EarliestDue is when the earliest open rung falls due (nil: none).
func (s *Store) EarliestDue(ctx context.Context) (*time.Time, error) {
	return one[*time.Time](ctx, s.db, "earliest due", qEarliestDue)
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// redactEndpoint keeps a push endpoint's origin for logs: the path identifies a browser.
func redactEndpoint(endpoint string) string {
	if i := strings.Index(endpoint[min(len(endpoint), len("https://")):], "/"); i >= 0 {
		return endpoint[:len("https://")+i] + "/…"
	}
	return endpoint
}

// AsUser runs f in a transaction as the signed-in user uid, the way PostgREST runs a request:
// role authenticated with the user's JWT claims, so RLS, grants and auth.uid() apply.
func AsUser(ctx context.Context, db interface {
	Begin(context.Context) (pgx.Tx, error)
}, uid string, f func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, qAsUser, uid); err != nil {
			return err
		}
		return f(tx)
	})
}
