package service

import (
	"context"
	"strconv"
	"time"

	"github.com/flux-companion/flux/listener/chat"
	"github.com/flux-companion/flux/listener/dispatch"
	"github.com/flux-companion/flux/listener/feed"
	"github.com/flux-companion/flux/listener/hint"
)

// feedRouter is the change feed's Handler: it routes each change to the part that consumes it,
// a task's next rung to the escalation, a user message to the chat runners, an outbox row to the
// dispatchers.
type feedRouter struct {
	escalation *escalation
	outbox     outbox
	agents     agents
}

// CatchUp implements feed.Handler: reload the deadlines, take whatever is already due, and
// look for outbox rows and messages not handled yet.
func (r *feedRouter) CatchUp(ctx context.Context) error {
	if err := r.escalation.refill(ctx); err != nil {
		return err
	}
	r.escalation.claim(ctx)
	r.outbox.dispatcher.Wake()
	r.agents.wake()
	return nil
}

// Handle implements feed.Handler. It reads only the columns the publications carry (the
// publications migration): a column read here must be added there.
func (r *feedRouter) Handle(_ context.Context, changes []feed.Change) error {
	for _, c := range changes {
		switch c.Table {
		case "tasks":
			due := time.Time{}
			if c.Op != "delete" {
				var err error
				if due, err = c.Time("escalation_due_at"); err != nil {
					return err
				}
			}
			r.escalation.schedule(c.Get("id"), due, c.Xid)
		case "messages":
			// A user message (or a system message carrying an action, such as the sprint
			// rule's) is an agent run, queued in its transaction: the run is durable once the
			// message is, so the LSN can be confirmed as soon as a runner is woken.
			if c.Op == "insert" && (c.Get("role") == "user" || c.Get("role") == "system") {
				r.agents.expect(c.Xid)
			}
		case "dispatch_log":
			if c.Op == "insert" && c.Get("status") == "pending" {
				r.outbox.wake()
			}
		}
	}
	return nil
}

// outbox wakes the dispatchers for new outbox rows: this replica's directly, the other
// replicas' through a debounced hint (flux_outbox).
type outbox struct {
	dispatcher *dispatch.Dispatcher
	hints      *hint.Sender
}

func (o outbox) wake() {
	o.dispatcher.Wake()
	o.hints.Hint()
}

// agents wakes the chat runners for new messages: this replica's directly (when it runs
// agents), the other replicas' through a debounced hint (flux_chat).
type agents struct {
	runner *chat.Runner // nil when this replica runs no agents
	hints  *hint.Sender
}

// expect wakes the runners for the messages of transaction xid; the hint names it, as other
// replicas' runners may not see it yet either.
func (a agents) expect(xid uint32) {
	if a.runner != nil {
		a.runner.Expect(xid)
	}
	a.hints.Hint(strconv.FormatUint(uint64(xid), 10))
}

// wake wakes the runners to look for messages not answered yet.
func (a agents) wake() {
	if a.runner != nil {
		a.runner.Wake()
	}
	a.hints.Hint()
}
