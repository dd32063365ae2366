// Package webhook is the listener's HTTP side: Twilio's WhatsApp and voice webhooks, health and
// readiness probes, and Prometheus metrics.
//
// Every Twilio request is authenticated by its X-Twilio-Signature (without an auth token to check
// it with, the webhooks answer 404), computed by Twilio over the
// public URL it called and the form parameters; the listener may sit behind a proxy, so the URL
// is rebuilt from the configured public base URL, never from the Host header. Missing or wrong
// signature: 403. A body that is not a form: 400. Neither writes anything.
//
// Answers go through store.RecordResponse with the provider's id, so Twilio's retries and
// replays change nothing; the reply (TwiML) is the same for a replay as for the first delivery.
package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/twilio/twilio-go/client"

	"github.com/flux-companion/flux/sql/store"
)

// Counter hears webhook results (metrics). Nil is allowed.
type Counter interface{ Webhook(kind, result string) }

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
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	app.Get("/readyz", h.ready)
	if cfg.Metrics != nil {
		app.Get("/metrics", adaptor.HTTPHandler(cfg.Metrics))
	}
	if cfg.AuthToken == "" {
		// Without the signing key every request would check against an empty key, which anyone
		// can compute: refuse them all, and say why.
		app.All("/webhooks/twilio/*", func(c *fiber.Ctx) error {
			h.count(strings.TrimPrefix(c.Path(), "/webhooks/twilio/"), "disabled")
			return fiber.NewError(fiber.StatusNotFound, "Twilio webhooks are off: TWILIO_AUTH_TOKEN is not set")
		})
		return app
	}
	tw := app.Group("/webhooks/twilio", h.verify)
	tw.Post("/whatsapp", h.whatsapp)
	tw.Post("/voice", h.voice)
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
	kind := strings.TrimPrefix(c.Path(), "/webhooks/twilio/")
	sig := c.Get("X-Twilio-Signature")
	if sig == "" {
		h.count(kind, "forbidden")
		return fiber.NewError(fiber.StatusForbidden, "missing X-Twilio-Signature")
	}
	form, err := url.ParseQuery(string(c.Body()))
	if err != nil || !strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationForm) {
		h.count(kind, "malformed")
		return fiber.NewError(fiber.StatusBadRequest, "body is not application/x-www-form-urlencoded")
	}
	params := make(map[string]string, len(form))
	for k, v := range form {
		params[k] = v[0]
	}
	if !h.validator.Validate(h.base+c.OriginalURL(), params, sig) {
		h.count(kind, "forbidden")
		return fiber.NewError(fiber.StatusForbidden, "signature does not match")
	}
	c.Locals("form", form)
	return c.Next()
}

// Replies and digits as SPEC.md has them.
var answers = map[string]string{
	"1": "done", "done": "done",
	"2": "reschedule", "reschedule": "reschedule",
	"3": "missed", "missed": "missed", "miss": "missed",
}

var confirmations = map[string]string{
	"done":       "Marked as done. Nice work!",
	"missed":     "Marked as missed. Tomorrow is another go.",
	"reschedule": "OK, I'll suggest a new time in the Flux chat.",
}

func (h *handlers) whatsapp(c *fiber.Ctx) error {
	form := c.Locals("form").(url.Values)
	from := strings.TrimPrefix(form.Get("From"), "whatsapp:")
	sid := form.Get("MessageSid")
	if from == "" || sid == "" {
		h.count("whatsapp", "malformed")
		return fiber.NewError(fiber.StatusBadRequest, "From and MessageSid are required")
	}
	response, ok := answers[strings.ToLower(strings.TrimSpace(form.Get("Body")))]
	if !ok {
		h.count("whatsapp", "unrecognised")
		return message(c, "Reply 1 done, 2 reschedule, 3 missed.")
	}
	// A replay (Twilio retries) gets the answer the original got; nothing is written again.
	if prior, err := h.cfg.Store.Receipt(c.UserContext(), sid); err != nil {
		return err
	} else if prior != "" {
		h.count("whatsapp", store.Duplicate)
		return message(c, confirmations[prior])
	}
	task, found, err := h.cfg.Store.WhatsAppTask(c.UserContext(), from)
	if err != nil {
		return err
	}
	if !found {
		h.count("whatsapp", "no_reminder")
		return message(c, "There is no reminder waiting for an answer.")
	}
	result, err := h.cfg.Store.RecordResponse(c.UserContext(), task, response, "whatsapp", sid)
	if err != nil {
		return err
	}
	h.count("whatsapp", result)
	logger(c, h.cfg.Log).InfoContext(c.UserContext(), "whatsapp reply", "task_id", task, "response", response, "result", result)
	if result == store.NotPending {
		return message(c, "That reminder is already settled.")
	}
	return message(c, confirmations[response])
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func (h *handlers) voice(c *fiber.Ctx) error {
	form := c.Locals("form").(url.Values)
	task, callSid := c.Query("task"), form.Get("CallSid")
	if !uuidRE.MatchString(task) || callSid == "" {
		h.count("voice", "malformed")
		return fiber.NewError(fiber.StatusBadRequest, "a task id in the URL and a CallSid are required")
	}
	digits := form.Get("Digits")
	response, ok := answers[digits]
	if !ok || len(digits) != 1 {
		h.count("voice", "unrecognised")
		return say(c, "Sorry, I did not catch that. Goodbye.")
	}
	// One call answers once per digit: CallSid plus the digit is the event's id.
	result, err := h.cfg.Store.RecordResponse(c.UserContext(), task, response, "call", callSid+":"+digits)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "P0002" { // no such task
		h.count("voice", "unknown_task")
		return say(c, "Sorry, that reminder no longer exists. Goodbye.")
	}
	if err != nil {
		return err
	}
	h.count("voice", result)
	logger(c, h.cfg.Log).InfoContext(c.UserContext(), "voice answer", "task_id", task, "response", response, "result", result)
	if result == store.NotPending {
		return say(c, "That reminder is already settled. Goodbye.")
	}
	return say(c, confirmations[response]+" Goodbye.")
}

func (h *handlers) count(kind, result string) {
	if h.cfg.Counter != nil {
		h.cfg.Counter.Webhook(kind, result)
	}
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
