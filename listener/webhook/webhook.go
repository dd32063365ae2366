// Package webhook is the listener's HTTP side: Twilio's WhatsApp, voice and status-callback
// webhooks, health and readiness probes, and Prometheus metrics.
//
// Every Twilio request is authenticated by its X-Twilio-Signature (without an auth token to check
// it with, the webhooks answer 404), computed by Twilio over the
// public URL it called and the form parameters; the listener may sit behind a proxy, so the URL
// is rebuilt from the configured public base URL, never from the Host header. Missing or wrong
// signature: 403. A body that is not a form, or is compressed: 400. Neither writes anything.
//
// Answers go through store.RecordResponse with the provider's id, so Twilio's retries and
// replays change nothing; the reply (TwiML) is the same for a replay as for the first delivery.
// Status callbacks go through store.RecordDelivery, which never moves a status backwards, so a
// replayed or out-of-order callback changes nothing either.
//
// With tracing on, each Twilio request is a server span named by its route (traced), with the
// store call that records an answer (answer.record) or a delivery status (delivery.record) as
// its child.
package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/twilio/twilio-go/client"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/flux-companion/flux/listener/reminder"
	"github.com/flux-companion/flux/listener/tracing"
	"github.com/flux-companion/flux/sql/pgerr"
	"github.com/flux-companion/flux/sql/store"
)

// Counter hears webhook results and delivery statuses (metrics). Nil is allowed.
type Counter interface {
	Webhook(kind, result string)
	Delivery(channel, status string)
}

// Config wires the server.
type Config struct {
	AuthToken     string // Twilio auth token: the signing key of every webhook
	PublicBaseURL string // the origin Twilio calls, e.g. https://flux.example.com
	Store         *store.Store
	Log           *slog.Logger
	Counter       Counter
	Ready         func(ctx context.Context) error // readiness: nil when the listener can work
	Metrics       http.Handler                    // served on /metrics when set
	BodyLimit     int                             // bytes; default 64 KiB (Twilio posts a few hundred)
}

// New returns the HTTP app.
func New(cfg Config) *fiber.App {
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = 64 << 10
	}
	h := &handlers{cfg: cfg, validator: client.NewRequestValidator(cfg.AuthToken), base: strings.TrimRight(cfg.PublicBaseURL, "/")}
	app := fiber.New(fiber.Config{
		// Strings from a request (path, headers, params) are copies, not views of a buffer fiber
		// reuses for the next request: a metric label kept from c.Path() once changed under a
		// later request. The user endpoints (userapi) are mounted on this app too.
		Immutable:             true,
		BodyLimit:             cfg.BodyLimit,
		DisableStartupMessage: true,
		ReadTimeout:           10 * time.Second,
		WriteTimeout:          10 * time.Second,
		ErrorHandler: func(c *fiber.Ctx, err error) error {
			code := fiber.StatusInternalServerError
			var fe *fiber.Error
			if errors.As(err, &fe) {
				code = fe.Code
			}
			logger(c, cfg.Log).ErrorContext(c.UserContext(), "request failed", "path", c.Path(), "status", code, "error", err)
			return c.Status(code).SendString(http.StatusText(code))
		},
	})
	app.Use(correlate(cfg.Log))
	// A panic in a handler is that request's 500 (logged, and so reported), not the process's end.
	app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, p any) {
		logger(c, cfg.Log).WarnContext(c.UserContext(), "recovered a panic in a request", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	}}))
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	app.Get("/readyz", h.ready)
	if cfg.Metrics != nil {
		app.Get("/metrics", adaptor.HTTPHandler(cfg.Metrics))
	}
	if cfg.AuthToken == "" {
		// Without the signing key every request would check against an empty key, which anyone
		// can compute: refuse them all, and say why.
		app.All("/webhooks/twilio/*", func(c *fiber.Ctx) error {
			h.count(c, webhookKind(c.Path()), "disabled")
			return fiber.NewError(fiber.StatusNotFound, "Twilio webhooks are off: TWILIO_AUTH_TOKEN is not set")
		})
		return app
	}
	tw := app.Group("/webhooks/twilio", h.traced, h.verify)
	tw.Post("/whatsapp", h.whatsapp)
	tw.Post("/voice", h.voice)
	tw.Post("/status", h.status)
	return app
}

type handlers struct {
	cfg       Config
	validator client.RequestValidator
	base      string
}

func (h *handlers) ready(c *fiber.Ctx) error {
	if h.cfg.Ready == nil {
		return c.SendString("ready")
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if err := h.cfg.Ready(ctx); err != nil {
		return c.Status(fiber.StatusServiceUnavailable).SendString("not ready: " + err.Error())
	}
	return c.SendString("ready")
}

// verify authenticates a Twilio webhook and parses its form into Locals("form").
func (h *handlers) verify(c *fiber.Ctx) error {
	kind := webhookKind(c.Path())
	sig := c.Get("X-Twilio-Signature")
	if sig == "" {
		h.count(c, kind, "forbidden")
		return fiber.NewError(fiber.StatusForbidden, "missing X-Twilio-Signature")
	}
	// Twilio sends one signature. With several, which one is checked would depend on who reads
	// them (a proxy may check the last, this the first): refuse the ambiguity.
	if len(c.Request().Header.PeekAll("X-Twilio-Signature")) > 1 {
		h.count(c, kind, "forbidden")
		return fiber.NewError(fiber.StatusForbidden, "more than one X-Twilio-Signature")
	}
	// The body as sent, never inflated (parseForm says why).
	form, err := parseForm(c.Get(fiber.HeaderContentType), c.Get(fiber.HeaderContentEncoding), c.Request().Body())
	if err != nil {
		h.count(c, kind, "malformed")
		return fiber.NewError(fiber.StatusBadRequest, err.Error())
	}
	if !signed(&h.validator, h.base+c.OriginalURL(), form, sig) {
		h.count(c, kind, "forbidden")
		return fiber.NewError(fiber.StatusForbidden, "signature does not match")
	}
	c.Locals("form", form)
	return c.Next()
}

var (
	errNotForm    = errors.New("body is not application/x-www-form-urlencoded")
	errCompressed = errors.New("a compressed body is not accepted")
)

// parseForm reads a webhook's body. Twilio posts its parameters form-encoded and uncompressed;
// a Content-Encoding is refused rather than inflated, unauthenticated as it is (713 bytes of
// nested gzip once made the listener allocate 3.8 GB).
func parseForm(contentType, contentEncoding string, body []byte) (url.Values, error) {
	if contentEncoding != "" && !strings.EqualFold(strings.TrimSpace(contentEncoding), "identity") {
		return nil, errCompressed
	}
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != fiber.MIMEApplicationForm {
		return nil, errNotForm
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errNotForm
	}
	return form, nil
}

// signed reports whether sig is Twilio's X-Twilio-Signature of a POST of form to fullURL. A name
// counts with its first value, as twilio-go's ValidateBody reads a form: Twilio's webhooks do not
// repeat a name, and the handlers read first values (Get), so whatever they read is signed.
func signed(v *client.RequestValidator, fullURL string, form url.Values, sig string) bool {
	params := make(map[string]string, len(form))
	for k := range form {
		params[k] = form.Get(k)
	}
	return v.Validate(fullURL, params, sig)
}

func (h *handlers) whatsapp(c *fiber.Ctx) error {
	ctx := c.UserContext()
	form := c.Locals("form").(url.Values)
	from, sid, ok := whatsAppSender(form)
	if !ok {
		h.count(c, "whatsapp", "malformed")
		return fiber.NewError(fiber.StatusBadRequest, "From must be whatsapp:+<E.164 number> and MessageSid a Twilio message SID")
	}
	// Every message is recorded once, first; a replay (Twilio retries, also late) gets the reply
	// the original got and changes nothing. A new one opens WhatsApp's 24-hour window.
	prior, err := h.cfg.Store.ReceiveWhatsApp(ctx, sid, from)
	if err != nil {
		return err
	}
	if prior != store.InboundNew && prior != store.InboundReceived && prior != store.InboundUnknown {
		h.count(c, "whatsapp", store.Duplicate)
		return h.replay(c, from, prior)
	}
	settle := func(outcome string) error {
		if prior == store.InboundUnknown {
			return nil // nothing recorded for a number no user has
		}
		return h.cfg.Store.SettleReceipt(ctx, sid, outcome)
	}
	text := form.Get("Body")
	if reminder.IsOptOut(text) {
		if _, err := h.cfg.Store.WhatsAppOptOut(ctx, from); err != nil {
			return err
		}
		if err := settle(store.ReceiptOptedOut); err != nil {
			return err
		}
		h.count(c, "whatsapp", "opted_out")
		logger(c, h.cfg.Log).InfoContext(ctx, "whatsapp opt-out")
		return message(c, reminder.OptedOut)
	}
	// A quick-reply button posts its id as ButtonPayload and its title as ButtonText.
	answer, ok := reminder.Parse(form.Get("ButtonPayload"))
	if !ok {
		answer, ok = reminder.Parse(form.Get("ButtonText"))
	}
	if !ok {
		answer, ok = reminder.Parse(text)
	}
	waiting, found, err := h.cfg.Store.WhatsAppTask(ctx, from)
	if err != nil {
		return err
	}
	if !found {
		if err := settle(store.ReceiptNoReminder); err != nil {
			return err
		}
		h.count(c, "whatsapp", "no_reminder")
		return message(c, reminder.NoReminder)
	}
	offer := reminder.Offer{Reschedule: waiting.OfferReschedule, Snooze: waiting.SnoozesLeft > 0}
	if !ok {
		if err := settle(store.ReceiptUnrecognised); err != nil {
			return err
		}
		h.count(c, "whatsapp", "unrecognised")
		return message(c, offer.ReplyHint())
	}
	trace.SpanFromContext(ctx).SetAttributes(tracing.TaskIDKey.String(waiting.TaskID))
	result, err := record(ctx, "answer.record", func(ctx context.Context) (string, error) {
		return h.cfg.Store.RecordResponse(ctx, waiting.TaskID, string(answer), "whatsapp", sid)
	}, tracing.TaskIDKey.String(waiting.TaskID), tracing.AnswerKey.String(string(answer)), tracing.ChannelKey.String("whatsapp"))
	if err != nil {
		return err
	}
	h.count(c, "whatsapp", result)
	logger(c, h.cfg.Log).InfoContext(ctx, "whatsapp reply", "task_id", waiting.TaskID, "response", answer, "result", result)
	switch result {
	case store.NotPending:
		return message(c, reminder.NotPending)
	case store.SnoozeLimit:
		return message(c, reminder.SnoozeLimit(offer))
	}
	return message(c, reminder.Confirmation(answer))
}

// replay answers a repeated WhatsApp message as the original was answered.
func (h *handlers) replay(c *fiber.Ctx, from, prior string) error {
	switch prior {
	case store.ReceiptOptedOut:
		return message(c, reminder.OptedOut)
	case store.ReceiptNoReminder:
		return message(c, reminder.NoReminder)
	case store.ReceiptUnrecognised, store.SnoozeLimit: // a refused fourth snooze is recorded as such
		waiting, found, err := h.cfg.Store.WhatsAppTask(c.UserContext(), from)
		if err != nil {
			return err
		}
		if !found {
			return message(c, reminder.NoReminder)
		}
		offer := reminder.Offer{Reschedule: waiting.OfferReschedule, Snooze: waiting.SnoozesLeft > 0}
		if prior == store.SnoozeLimit {
			return message(c, reminder.SnoozeLimit(offer))
		}
		return message(c, offer.ReplyHint())
	}
	return message(c, reminder.Confirmation(reminder.Answer(prior)))
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func (h *handlers) voice(c *fiber.Ctx) error {
	form := c.Locals("form").(url.Values)
	task := c.Query("task")
	callSid, ok := voiceCall(task, form)
	if !ok {
		h.count(c, "voice", "malformed")
		return fiber.NewError(fiber.StatusBadRequest, "a task id in the URL and a Twilio CallSid are required")
	}
	digits := form.Get("Digits")
	response, ok := reminder.ParseDigit(digits)
	if !ok {
		h.count(c, "voice", "unrecognised")
		return say(c, "Sorry, I did not catch that. Goodbye.")
	}
	// One call answers once per digit: CallSid plus the digit is the event's id.
	trace.SpanFromContext(c.UserContext()).SetAttributes(tracing.TaskIDKey.String(task))
	result, err := record(c.UserContext(), "answer.record", func(ctx context.Context) (string, error) {
		return h.cfg.Store.RecordResponse(ctx, task, string(response), "call", callSid+":"+digits)
	}, tracing.TaskIDKey.String(task), tracing.AnswerKey.String(string(response)), tracing.ChannelKey.String("call"))
	if pgerr.NotFound(err) {
		h.count(c, "voice", "unknown_task")
		return say(c, "Sorry, that reminder no longer exists. Goodbye.")
	}
	if err != nil {
		return err
	}
	h.count(c, "voice", result)
	logger(c, h.cfg.Log).InfoContext(c.UserContext(), "voice answer", "task_id", task, "response", response, "result", result)
	switch result {
	case store.NotPending:
		return say(c, reminder.NotPending+" Goodbye.")
	case store.SnoozeLimit:
		return say(c, "This reminder was snoozed 3 times already. Goodbye.")
	}
	return say(c, reminder.Confirmation(response)+" Goodbye.")
}

// whatsAppSender is the sender's number (E.164, its "whatsapp:" prefix removed) and the
// MessageSid of an inbound WhatsApp message. Checked here, not left to SQL: a NUL, invalid UTF-8
// or an overlong id would fail there (500) instead of being refused.
func whatsAppSender(form url.Values) (from, sid string, ok bool) {
	// The prefix is required: without it this is an SMS, whose sender has not opted in to WhatsApp.
	from, prefixed := strings.CutPrefix(form.Get("From"), "whatsapp:")
	sid = form.Get("MessageSid")
	if !prefixed || !e164.MatchString(from) || !messageSID.MatchString(sid) {
		return "", "", false
	}
	return from, sid, true
}

// voiceCall is the CallSid of a keypress posted for task (the id in the action URL's query).
func voiceCall(task string, form url.Values) (callSid string, ok bool) {
	callSid = form.Get("CallSid")
	if !uuidRE.MatchString(task) || !callSID.MatchString(callSid) {
		return "", false
	}
	return callSid, true
}

// Twilio's SIDs: two letters and 32 hex digits (SM/MM messages, CA calls); phone numbers E.164.
var (
	messageSID = regexp.MustCompile(`^(SM|MM)[0-9a-f]{32}$`)
	callSID    = regexp.MustCompile(`^CA[0-9a-f]{32}$`)
	e164       = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// The statuses each kind of status callback may carry.
var (
	messageStatuses = map[string]bool{"accepted": true, "scheduled": true, "queued": true, "sending": true, "sent": true,
		"delivered": true, "read": true, "undelivered": true, "failed": true, "canceled": true, "receiving": true, "received": true}
	callStatuses = map[string]bool{"queued": true, "initiated": true, "ringing": true, "in-progress": true,
		"completed": true, "busy": true, "no-answer": true, "failed": true, "canceled": true}
	// Statuses on the way that Flux does not record: nothing to act on, and the next one follows
	// (queued says no more than the send's own record: Twilio accepted it).
	transient = map[string]bool{"accepted": true, "scheduled": true, "queued": true, "sending": true, "receiving": true, "received": true}
)

// status takes a message's or call's status callback: the status (and error code) is recorded
// on its notification, and a failed WhatsApp or unanswered call brings the next rung forward.
func (h *handlers) status(c *fiber.Ctx) error {
	d, err := deliveryStatus(c.Locals("form").(url.Values))
	if err != nil {
		h.count(c, "status", "malformed")
		return fiber.NewError(fiber.StatusBadRequest, err.Error())
	}
	channel, sid, st, code := d.channel, d.sid, d.status, d.code
	if transient[st] {
		h.count(c, "status", "ignored")
		return c.SendStatus(fiber.StatusNoContent)
	}
	attrs := []attribute.KeyValue{tracing.ChannelKey.String(channel), attribute.String("flux.delivery.status", st)}
	if code != 0 {
		attrs = append(attrs, attribute.Int("flux.twilio.error_code", code)) // Twilio's error, e.g. 63016
	}
	result, err := record(c.UserContext(), "delivery.record", func(ctx context.Context) (string, error) {
		return h.cfg.Store.RecordDelivery(ctx, sid, st, code)
	}, attrs...)
	if err != nil {
		return err
	}
	h.count(c, "status", result)
	if result != store.DeliveryStale && h.cfg.Counter != nil {
		h.cfg.Counter.Delivery(channel, st)
	}
	logger(c, h.cfg.Log).InfoContext(c.UserContext(), "delivery status", "channel", channel, "sid", sid, "status", st, "error_code", code, "result", result)
	return c.SendStatus(fiber.StatusNoContent)
}

// delivery is what a status callback says: whose status (a WhatsApp message's or a call's) and
// Twilio's error code, 0 when there is none.
type delivery struct {
	channel, sid, status string
	code                 int
}

func deliveryStatus(form url.Values) (delivery, error) {
	var d delivery
	switch {
	case form.Get("MessageSid") != "":
		d = delivery{channel: "whatsapp", sid: form.Get("MessageSid"), status: form.Get("MessageStatus")}
		if !messageSID.MatchString(d.sid) || !messageStatuses[d.status] {
			return delivery{}, errors.New("a message status callback needs a MessageSid and a known MessageStatus")
		}
	case form.Get("CallSid") != "":
		d = delivery{channel: "call", sid: form.Get("CallSid"), status: form.Get("CallStatus")}
		if !callSID.MatchString(d.sid) || !callStatuses[d.status] {
			return delivery{}, errors.New("a call status callback needs a CallSid and a known CallStatus")
		}
	default:
		return delivery{}, errors.New("MessageSid or CallSid is required")
	}
	if ec := form.Get("ErrorCode"); ec != "" {
		n, err := strconv.Atoi(ec)
		if err != nil || n < 0 || n > 99999 {
			return delivery{}, errors.New("ErrorCode is not a Twilio error code")
		}
		d.code = n
	}
	return d, nil
}

// webhookKind is the metric label of a request to path: one of the routes, or "other". Taken
// from the path as it came, an unsigned request to a path of the sender's choosing added a
// series to the registry, each, without bound. (Routing ignores case and a trailing slash, and
// so does this.)
func webhookKind(path string) string {
	switch k := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(path, "/webhooks/twilio/"), "/")); k {
	case "whatsapp", "voice", "status":
		return k
	}
	return "other"
}

// count counts a webhook's result (metrics) and names it on the request's span.
func (h *handlers) count(c *fiber.Ctx, kind, result string) {
	if h.cfg.Counter != nil {
		h.cfg.Counter.Webhook(kind, result)
	}
	trace.SpanFromContext(c.UserContext()).SetAttributes(tracing.ResultKey.String(result))
}

// traced makes a Twilio webhook request a server span named by its route ("POST
// /webhooks/twilio/whatsapp"), continuing the caller's trace when the request carries a W3C
// traceparent, with the method, the route, the status and the result (count). The handler's
// context is the span's, so the store calls under it and the lines it logs are in the trace.
// Nothing from the form goes in: no number, no SID, no text. Tracing off, it does nothing.
func (h *handlers) traced(c *fiber.Ctx) error {
	if !tracing.Enabled() {
		return c.Next()
	}
	route := "/webhooks/twilio/*"
	if kind := webhookKind(c.Path()); kind != "other" {
		route = "/webhooks/twilio/" + kind
	}
	method := c.Method()
	ctx := otel.GetTextMapPropagator().Extract(c.UserContext(), headerCarrier{c})
	ctx, span := tracing.StartWith(ctx, method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(semconv.HTTPRequestMethodKey.String(method), semconv.HTTPRoute(route)))
	c.SetUserContext(ctx)
	ended := false
	defer func() {
		if !ended { // a panic on its way to the recover middleware: that request's 500
			span.SetAttributes(semconv.HTTPResponseStatusCode(fiber.StatusInternalServerError), tracing.ErrorTypeKey.String("panic"))
			span.SetStatus(codes.Error, "panic")
			span.End()
		}
	}()
	err := c.Next()
	ended = true
	status := c.Response().StatusCode()
	if err != nil {
		status = fiber.StatusInternalServerError
		if fe, ok := errors.AsType[*fiber.Error](err); ok {
			status = fe.Code
		}
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	if status >= 500 { // a server span fails on 5xx only (the HTTP conventions)
		typ := strconv.Itoa(status)
		if err != nil {
			typ = tracing.ErrorType(err)
		}
		span.SetAttributes(tracing.ErrorTypeKey.String(typ))
		span.SetStatus(codes.Error, typ)
	}
	span.End()
	return err
}

// headerCarrier reads a request's headers for the trace context propagator.
type headerCarrier struct{ c *fiber.Ctx }

func (h headerCarrier) Get(key string) string { return h.c.Get(key) }
func (h headerCarrier) Set(string, string)    {}
func (h headerCarrier) Keys() []string {
	var keys []string
	h.c.Request().Header.VisitAll(func(k, _ []byte) { keys = append(keys, string(k)) })
	return keys
}

// record runs a store call that records what a webhook said (an answer, a delivery status)
// in a span called name with attrs, and the store's result.
func record(ctx context.Context, name string, f func(context.Context) (string, error), attrs ...attribute.KeyValue) (string, error) {
	ctx, span := tracing.Start(ctx, name, attrs...)
	result, err := f(ctx)
	if err == nil {
		span.SetAttributes(tracing.ResultKey.String(result))
	}
	tracing.End(span, err)
	return result, err
}

func message(c *fiber.Ctx, text string) error { return twiml(c, "Message", text) }
func say(c *fiber.Ctx, text string) error     { return twiml(c, "Say", text) }

func twiml(c *fiber.Ctx, verb, text string) error {
	var b strings.Builder
	b.WriteString(xml.Header + "<Response><" + verb + ">")
	_ = xml.EscapeText(&b, []byte(text))
	b.WriteString("</" + verb + "></Response>")
	c.Set(fiber.HeaderContentType, "text/xml; charset=utf-8")
	return c.SendString(b.String())
}

// correlate gives every request an id (Twilio's I-Twilio-Idempotency-Token or X-Request-Id when
// present) and a logger carrying it, echoed in X-Request-Id.
func correlate(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := c.Get("X-Request-Id")
		if id == "" {
			id = c.Get("I-Twilio-Idempotency-Token")
		}
		if id == "" {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set("X-Request-Id", id)
		c.Locals("log", log.With("request_id", id))
		return c.Next()
	}
}

func logger(c *fiber.Ctx, fallback *slog.Logger) *slog.Logger {
	if l, ok := c.Locals("log").(*slog.Logger); ok {
		return l
	}
	return fallback
}
