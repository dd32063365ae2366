// Package channel turns an outbox row into a message on its channel: a Web Push notification to
// each of the user's browsers, a WhatsApp message (free text inside the person's 24-hour window,
// the approved template outside it), or a voice call that gathers one digit. Each sender
// implements dispatch.Sender and says whether a failure is worth retrying. What a reminder says
// and offers is package reminder's.
//
// Every provider request is a client span under the row's dispatch.send (listener/dispatch):
// twilio.messages.create, twilio.calls.create, webpush.send (one per browser). They carry the
// channel, the HTTP status and the outcome, never the number, the text or the subscription.
package channel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
	"github.com/twilio/twilio-go"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/flux-companion/flux/listener/dispatch"
	"github.com/flux-companion/flux/listener/reminder"
	"github.com/flux-companion/flux/listener/tracing"
	"github.com/flux-companion/flux/listener/twilioclient"
	"github.com/flux-companion/flux/listener/webpushclient"
	"github.com/flux-companion/flux/sql/store"
)

// PushPayload is the JSON a browser's service worker receives.
type PushPayload struct {
	TaskID  string    `json:"task_id"`
	Title   string    `json:"title"`
	Body    string    `json:"body"`
	DueAt   time.Time `json:"due_at"`
	Actions []string  `json:"actions"`
}

// Push sends to every browser of the user; one delivery is enough.
type Push struct {
	Client webpushclient.Config
	Store  *store.Store // removes subscriptions their push service declared gone
	Log    *slog.Logger
}

// Send implements dispatch.Sender.
func (p *Push) Send(ctx context.Context, it store.OutboxItem) dispatch.Result {
	if len(it.Push) == 0 {
		return dispatch.Result{Err: errors.New("no push subscription")}
	}
	offer := reminder.Offer{Reschedule: true, Snooze: it.SnoozesLeft > 0}
	payload, err := json.Marshal(PushPayload{
		TaskID: it.TaskID, Title: it.TaskTitle, Body: "Due " + LocalDue(it), DueAt: deref(it.ScheduledAt), Actions: offer.Actions(),
	})
	if err != nil {
		return dispatch.Result{Err: fmt.Errorf("push payload: %w", err)}
	}
	var delivered int
	var retry, failed error
	for _, sub := range it.Push {
		sctx, span := tracing.StartWith(ctx, "webpush.send", trace.WithSpanKind(trace.SpanKindClient))
		if span.IsRecording() {
			// The push service's host only: the endpoint's path is the subscription's secret.
			if u, err := url.Parse(sub.Endpoint); err == nil {
				span.SetAttributes(semconv.ServerAddress(u.Hostname()))
			}
		}
		status, err := p.Client.Send(sctx, webpush.Subscription{Endpoint: sub.Endpoint, Keys: webpush.Keys{P256dh: sub.P256dh, Auth: sub.Auth}}, payload, webpush.UrgencyHigh)
		outcome := webpushclient.Classify(status, err)
		endClient(span, status, err, attribute.String("flux.push.outcome", outcome.String()))
		switch outcome {
		case webpushclient.Delivered:
			delivered++
		case webpushclient.Gone:
			if derr := p.Store.DeletePushSubscription(ctx, sub.Endpoint); derr != nil {
				p.Log.ErrorContext(ctx, "remove expired push subscription", "task_id", it.TaskID, "error", derr)
			}
			failed = fmt.Errorf("subscription gone (%d), removed", status)
		case webpushclient.Retry:
			retry = err
		default:
			failed = err
		}
	}
	switch {
	case delivered > 0:
		return dispatch.Result{}
	case retry != nil:
		return dispatch.Result{Err: retry, Retryable: true}
	default:
		return dispatch.Result{Err: fmt.Errorf("no live push subscription: %w", failed)}
	}
}

// Twilio holds what the WhatsApp and voice senders share.
type Twilio struct {
	Client *twilio.RestClient
	// From is the sending number, E.164 (the WhatsApp sender in the sandbox, the voice number).
	From string
	// PublicBaseURL is where Twilio reaches the listener's webhooks (https://flux.example.com).
	PublicBaseURL string
}

// StatusCallbackURL is where Twilio reports a message's or call's delivery status.
func (t *Twilio) StatusCallbackURL() string {
	return strings.TrimRight(t.PublicBaseURL, "/") + "/webhooks/twilio/status"
}

// Templates are the Content SIDs (HX...) of the approved WhatsApp templates, per message kind.
type Templates struct {
	// Reminder offers every answer as a quick-reply button (reminder.Template).
	Reminder string
	// ReminderNoReschedule is the same without the Reschedule button, for when no free slot
	// remains today; empty: Reminder is used.
	ReminderNoReschedule string
}

// ErrNoTemplate: outside the 24-hour window only a template goes through, and none is set.
var ErrNoTemplate = errors.New("no WhatsApp template for reminders outside the 24-hour window: set TWILIO_CONTENT_SID_REMINDER")

// WhatsApp sends the reminder: as free text inside the person's 24-hour window, as the template
// outside it (WhatsApp fails free text there, error 63016).
type WhatsApp struct {
	Twilio
	Templates Templates
}

// Send implements dispatch.Sender.
func (w *WhatsApp) Send(ctx context.Context, it store.OutboxItem) dispatch.Result {
	if it.Phone == nil {
		return dispatch.Result{Err: errors.New("no phone number")}
	}
	params := &openapi.CreateMessageParams{}
	params.SetTo("whatsapp:" + *it.Phone)
	params.SetFrom("whatsapp:" + w.From)
	params.SetStatusCallback(w.StatusCallbackURL())
	offer := reminder.Offer{Reschedule: it.OfferReschedule, Snooze: it.SnoozesLeft > 0}
	if it.WindowOpen {
		params.SetBody(reminder.WhatsAppText(it.TaskTitle, LocalDue(it), offer))
	} else {
		sid := w.Templates.Reminder
		if !offer.Reschedule && w.Templates.ReminderNoReschedule != "" {
			sid = w.Templates.ReminderNoReschedule
		}
		if sid == "" {
			return dispatch.Result{Err: ErrNoTemplate} // a setting, not a moment: retrying changes nothing
		}
		vars, err := json.Marshal(reminder.TemplateVariables(it.TaskTitle, LocalDue(it)))
		if err != nil {
			return dispatch.Result{Err: fmt.Errorf("template variables: %w", err)}
		}
		params.SetContentSid(sid)
		params.SetContentVariables(string(vars))
	}
	// twilio-go takes no context: its client timeout bounds the call.
	_, span := tracing.StartWith(ctx, "twilio.messages.create", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(tracing.ChannelKey.String("whatsapp"), attribute.Bool("flux.whatsapp.template", !it.WindowOpen)))
	msg, err := w.Client.Api.CreateMessage(params)
	if err != nil {
		retryable, status := twilioclient.Classify(err)
		endClient(span, status, err)
		return dispatch.Result{Err: fmt.Errorf("twilio message (%d): %w", status, err), Retryable: retryable}
	}
	endClient(span, 0, nil)
	return dispatch.Result{ExternalID: deref(msg.Sid)}
}

// Call rings the user and gathers one digit (reminder.VoiceTwiML).
type Call struct{ Twilio }

// Send implements dispatch.Sender.
func (c *Call) Send(ctx context.Context, it store.OutboxItem) dispatch.Result {
	if it.Phone == nil {
		return dispatch.Result{Err: errors.New("no phone number")}
	}
	params := &openapi.CreateCallParams{}
	params.SetTo(*it.Phone)
	params.SetFrom(c.From)
	params.SetTwiml(reminder.VoiceTwiML(it.TaskTitle, c.GatherURL(it.TaskID), reminder.Offer{Reschedule: true, Snooze: it.SnoozesLeft > 0}))
	params.SetStatusCallback(c.StatusCallbackURL())
	params.SetStatusCallbackEvent([]string{"initiated", "ringing", "answered", "completed"})
	_, span := tracing.StartWith(ctx, "twilio.calls.create", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(tracing.ChannelKey.String("call")))
	call, err := c.Client.Api.CreateCall(params)
	if err != nil {
		retryable, status := twilioclient.Classify(err)
		endClient(span, status, err)
		return dispatch.Result{Err: fmt.Errorf("twilio call (%d): %w", status, err), Retryable: retryable}
	}
	endClient(span, 0, nil)
	return dispatch.Result{ExternalID: deref(call.Sid)}
}

// endClient ends a provider request's span with the HTTP status when known (0: not known)
// and err's type (tracing.End), and attrs.
func endClient(span trace.Span, status int, err error, attrs ...attribute.KeyValue) {
	if status != 0 {
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	}
	span.SetAttributes(attrs...)
	tracing.End(span, err)
}

// GatherURL is where Twilio posts the digit: the voice webhook, with the task it is about.
func (c *Call) GatherURL(taskID string) string {
	return strings.TrimRight(c.PublicBaseURL, "/") + "/webhooks/twilio/voice?task=" + url.QueryEscape(taskID)
}

// LocalDue is the due time as reminders name it: in the user's zone, "15:04".
func LocalDue(it store.OutboxItem) string {
	if it.ScheduledAt == nil {
		return "now"
	}
	return it.ScheduledAt.In(location(it.Timezone)).Format("15:04")
}

// locations holds the time zones senders have loaded: time.LoadLocation reads and parses the
// zoneinfo file on every call, a tenth of a WhatsApp send's CPU (BenchmarkWhatsAppSend). There
// are a few hundred zones, and the database admits only valid names.
var locations sync.Map // name -> *time.Location

// location is the named zone, UTC when it is unknown.
func location(name string) *time.Location {
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	locations.Store(name, loc)
	return loc
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
