// Package userapi serves the few user actions that need a secret the client must never see,
// next to the webhooks on the listener's HTTP side: phone verification through Twilio Verify,
// Web Push subscriptions (the VAPID keys), and the GDPR export and erasure (a privileged
// connection, and the Supabase admin key). Everything else a user does goes through PostgREST.
//
// Every route but the VAPID public key needs the user's Supabase access token (auth package:
// verified locally, 401 otherwise). Rate limits are the SQL ones (flux.rate_limit), shared by
// every replica and switched off on development databases; past a limit the answer is 429 with
// Retry-After. Errors are JSON {"code", "message"} that name what to fix and never echo a
// token, a phone number or an email.
package userapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	verify "github.com/twilio/twilio-go/rest/verify/v2"

	"github.com/flux-companion/flux/listener/account"
	"github.com/flux-companion/flux/listener/auth"
	"github.com/flux-companion/flux/sql/pgerr"
	"github.com/flux-companion/flux/sql/store"
)

// Limits of the product (docs/product.md) that the listener enforces.
const (
	sendsPerHour     = 3   // phone-verification sends
	actionsPerMinute = 100 // everything else ("others")
)

// Config wires the routes.
type Config struct {
	Auth    *auth.Verifier
	DB      *pgxpool.Pool
	Account *account.Service
	// Verify sends and checks OTPs; nil (no Twilio account) answers the phone routes with 503.
	Verify           *twilio.RestClient
	VerifyServiceSID string
	VAPIDPublicKey   string // empty: push is not configured (503)
	// AllowOrigins: the web origins that may call /v1 from a browser, comma separated
	// ("https://app.example.com"); empty allows any. Tokens travel in the Authorization
	// header, never in cookies, so another origin gains nothing it could not do with the token.
	AllowOrigins string
	Log          *slog.Logger
}

type api struct {
	cfg   Config
	store *store.Store
}

// Mount adds the routes under /v1.
func Mount(app fiber.Router, cfg Config) {
	cfg.Log = cmp.Or(cfg.Log, slog.Default())
	a := &api{cfg: cfg, store: store.New(cfg.DB)}
	// Before the token check: a browser's preflight carries no token.
	app.Use("/v1", cors.New(cors.Config{
		AllowOrigins:  cmp.Or(cfg.AllowOrigins, "*"),
		AllowMethods:  "GET,POST,DELETE",
		AllowHeaders:  "Authorization,Content-Type,apikey,x-client-info",
		ExposeHeaders: "Retry-After,Content-Disposition",
		MaxAge:        3600,
	}))
	app.Get("/v1/push/vapid-public-key", a.vapidKey)
	v1 := app.Group("/v1", cfg.Auth.Middleware())
	v1.Post("/phone/verification", a.route(a.sendCode))
	v1.Post("/phone/verification/check", a.route(a.checkCode))
	v1.Post("/push/subscriptions", a.route(a.subscribe))
	v1.Delete("/push/subscriptions", a.route(a.unsubscribe))
	v1.Get("/account/export", a.route(a.export))
	v1.Delete("/account", a.route(a.erase))
}

// route serves a user route: it finds the signed-in user, runs h with the request's context, and
// answers an error h returns with respond.
func (a *api) route(h func(ctx context.Context, c *fiber.Ctx, user uuid.UUID) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		u, ok := auth.UserFrom(c)
		if !ok {
			return a.respond(c, fail(fiber.StatusUnauthorized, "unauthorized", "Sign in first."))
		}
		if err := h(c.UserContext(), c, u.ID); err != nil {
			return a.respond(c, err)
		}
		return nil
	}
}

// apiError is an answer other than success.
type apiError struct {
	status        int
	code, message string
	retryAfter    int // seconds; 429 only
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func fail(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// respond writes err as JSON; anything that is not an apiError is a 500 that is logged, not
// shown.
func (a *api) respond(c *fiber.Ctx, err error) error {
	var e *apiError
	if !errors.As(err, &e) {
		a.cfg.Log.ErrorContext(c.UserContext(), "user api failed", "path", c.Path(), "error", err)
		e = fail(fiber.StatusInternalServerError, "internal", "Something went wrong on our side; nothing was changed. Try again.")
	}
	if e.retryAfter > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(e.retryAfter))
	}
	return c.Status(e.status).JSON(fiber.Map{"code": e.code, "message": e.message})
}

// limit counts one hit of action for the user; past the limit it is a 429 with Retry-After.
func (a *api) limit(ctx context.Context, user uuid.UUID, action string, n int, window time.Duration) error {
	err := a.store.RateLimit(ctx, user, action, n, window)
	switch pg, limited := pgerr.IsRateLimited(err); {
	case err == nil:
		return nil
	case limited:
		return rateLimited(pg)
	case pgerr.ForeignKeyViolation(err): // the counter's user no longer exists
		return fail(fiber.StatusNotFound, "no_account", "This account does not exist (any more).")
	}
	return err
}

// rateLimited turns flux.rate_limit's PostgREST-shaped error into the same HTTP answer
// PostgREST gives: message JSON for the body, detail JSON for the status and headers.
func rateLimited(pg *pgconn.PgError) error {
	var msg struct{ Message string }
	var detail struct {
		Headers map[string]string `json:"headers"`
	}
	e := fail(fiber.StatusTooManyRequests, "rate_limited", "Too many requests; try again later.")
	if json.Unmarshal([]byte(pg.Message), &msg) == nil && msg.Message != "" {
		e.message = msg.Message
	}
	if json.Unmarshal([]byte(pg.Detail), &detail) == nil {
		e.retryAfter, _ = strconv.Atoi(detail.Headers["Retry-After"])
	}
	if e.retryAfter <= 0 {
		e.retryAfter = 1
	}
	return e
}

// body decodes a JSON request body strictly. It reads the body as sent: fiber's c.Body() would
// inflate any Content-Encoding first, nested gzip included (kilobytes that become gigabytes),
// and no client of these endpoints compresses a request.
func body(c *fiber.Ctx, v any) error {
	if enc := strings.TrimSpace(c.Get(fiber.HeaderContentEncoding)); enc != "" && !strings.EqualFold(enc, "identity") {
		return fail(fiber.StatusUnsupportedMediaType, "invalid_body", "A compressed body is not accepted; send it uncompressed")
	}
	dec := json.NewDecoder(bytes.NewReader(c.Request().Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fail(fiber.StatusBadRequest, "invalid_body", "The body must be a JSON object as documented: %s", jsonProblem(err))
	}
	return nil
}

// jsonProblem says what is wrong with a body without quoting it.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("not valid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type", typ.Field)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "empty or truncated"
}

// ---------------------------------------------------------------------------------------------
// Phone verification

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// errVerifyOff answers both phone routes on a server without Twilio Verify.
var errVerifyOff = fail(fiber.StatusServiceUnavailable, "verification_unavailable", "Phone verification is not configured on this server.")

// sendCode sends a verification code to the number (Twilio Verify, SMS). At most 3 per hour.
// The number becomes the user's only when its code is confirmed.
func (a *api) sendCode(ctx context.Context, c *fiber.Ctx, user uuid.UUID) error {
	var req struct {
		PhoneNumber string `json:"phone_number"`
		Channel     string `json:"channel"`
	}
	if err := body(c, &req); err != nil {
		return err
	}
	if !e164.MatchString(req.PhoneNumber) {
		return fail(fiber.StatusBadRequest, "invalid_phone_number", "phone_number must be in international E.164 form, like +14155550123.")
	}
	if req.Channel == "" {
		req.Channel = "sms"
	}
	if req.Channel != "sms" && req.Channel != "call" && req.Channel != "whatsapp" {
		return fail(fiber.StatusBadRequest, "invalid_channel", "channel must be sms, call or whatsapp.")
	}
	if a.cfg.Verify == nil {
		return errVerifyOff
	}
	if err := a.limit(ctx, user, "phone verification sends", sendsPerHour, time.Hour); err != nil {
		return err
	}
	if _, err := a.cfg.Verify.VerifyV2.CreateVerification(a.cfg.VerifyServiceSID,
		(&verify.CreateVerificationParams{}).SetTo(req.PhoneNumber).SetChannel(req.Channel)); err != nil {
		return a.verifyError(ctx, "send", err)
	}
	if err := a.store.VerificationSent(ctx, user, req.PhoneNumber); err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"status": "pending", "channel": req.Channel})
}

// checkCode confirms the code sent to the pending number; the number is then the user's,
// verified. A different number than before clears the WhatsApp opt-in (SQL).
func (a *api) checkCode(ctx context.Context, c *fiber.Ctx, user uuid.UUID) error {
	var req struct {
		Code        string `json:"code"`
		PhoneNumber string `json:"phone_number"` // optional: when given, must be the number the code went to
	}
	if err := body(c, &req); err != nil {
		return err
	}
	if len(req.Code) < 4 || len(req.Code) > 10 || strings.Trim(req.Code, "0123456789") != "" {
		return fail(fiber.StatusBadRequest, "invalid_code", "code must be the 4 to 10 digits you received.")
	}
	if a.cfg.Verify == nil {
		return errVerifyOff
	}
	if err := a.limit(ctx, user, "actions", actionsPerMinute, time.Minute); err != nil {
		return err
	}
	pending, found, err := a.store.PendingVerification(ctx, user)
	if err != nil {
		return err
	}
	if !found {
		return fail(fiber.StatusConflict, "no_pending_verification", "No code is waiting for confirmation (or it expired): send a new one.")
	}
	if req.PhoneNumber != "" && req.PhoneNumber != pending {
		return fail(fiber.StatusConflict, "number_mismatch", "The code was sent to another number: confirm that one, or send a code to this one.")
	}
	check, err := a.cfg.Verify.VerifyV2.CreateVerificationCheck(a.cfg.VerifyServiceSID,
		(&verify.CreateVerificationCheckParams{}).SetTo(pending).SetCode(req.Code))
	if err != nil {
		return a.verifyError(ctx, "check", err)
	}
	if check.Status == nil || *check.Status != "approved" {
		return fail(fiber.StatusBadRequest, "wrong_code", "That code is not right. Check the message and try again.")
	}
	ok, err := a.store.ConfirmPhone(ctx, user, pending)
	if err != nil {
		return err
	}
	if !ok { // a newer send replaced it while Twilio checked
		return fail(fiber.StatusConflict, "number_mismatch", "A code was sent to another number meanwhile: confirm that one.")
	}
	return c.JSON(fiber.Map{"phone_verified": true})
}

// verifyError maps a Twilio Verify failure to what the user can do about it.
func (a *api) verifyError(ctx context.Context, op string, err error) error {
	var tw *client.TwilioRestError
	if errors.As(err, &tw) {
		switch {
		case tw.Code == 60203 || tw.Status == http.StatusTooManyRequests:
			e := fail(fiber.StatusTooManyRequests, "rate_limited", "Too many codes for this number; wait a few minutes.")
			e.retryAfter = 600
			return e
		case tw.Status == http.StatusNotFound:
			return fail(fiber.StatusConflict, "no_pending_verification", "The code expired: send a new one.")
		case tw.Status == http.StatusBadRequest:
			return fail(fiber.StatusBadRequest, "invalid_phone_number", "Twilio cannot send a code to that number.")
		}
	}
	a.cfg.Log.ErrorContext(ctx, "twilio verify failed", "op", op, "error", err)
	return fail(fiber.StatusBadGateway, "verification_unavailable", "The verification service did not answer; try again in a moment.")
}

// ---------------------------------------------------------------------------------------------
// Web Push

func (a *api) vapidKey(c *fiber.Ctx) error {
	if a.cfg.VAPIDPublicKey == "" {
		return a.respond(c, fail(fiber.StatusServiceUnavailable, "push_unavailable", "Web Push is not configured on this server."))
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	return c.JSON(fiber.Map{"public_key": a.cfg.VAPIDPublicKey})
}

// subscribe stores the browser's PushSubscription (its toJSON form).
func (a *api) subscribe(ctx context.Context, c *fiber.Ctx, user uuid.UUID) error {
	var req struct {
		Endpoint       string   `json:"endpoint"`
		ExpirationTime *float64 `json:"expirationTime"`
		Keys           struct {
			P256dh string `json:"p256dh"`
			Auth   string `json:"auth"`
		} `json:"keys"`
	}
	if err := body(c, &req); err != nil {
		return err
	}
	if req.Endpoint == "" || req.Keys.P256dh == "" || req.Keys.Auth == "" {
		return fail(fiber.StatusBadRequest, "invalid_subscription", "endpoint, keys.p256dh and keys.auth are required (the browser's PushSubscription.toJSON()).")
	}
	if err := a.limit(ctx, user, "actions", actionsPerMinute, time.Minute); err != nil {
		return err
	}
	ua := c.Get(fiber.HeaderUserAgent)
	if len(ua) > 512 {
		ua = ua[:512]
	}
	id, created, err := a.store.SubscribePush(ctx, user, req.Endpoint, req.Keys.P256dh, req.Keys.Auth, ua)
	if constraint, ok := pgerr.CheckViolation(err); ok {
		return fail(fiber.StatusBadRequest, "invalid_subscription", "%s", subscriptionProblem(constraint))
	}
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if created {
		status = fiber.StatusCreated
	}
	return c.Status(status).JSON(fiber.Map{"id": id})
}

func subscriptionProblem(constraint string) string {
	switch constraint {
	case "push_subscriptions_endpoint_check":
		return "endpoint must be an https URL of at most 2048 characters."
	case "push_subscriptions_p256dh_check":
		return "keys.p256dh must be the browser's base64url P-256 public key."
	case "push_subscriptions_auth_check":
		return "keys.auth must be the browser's base64url auth secret."
	}
	return "The subscription is not valid."
}

func (a *api) unsubscribe(ctx context.Context, c *fiber.Ctx, user uuid.UUID) error {
	var req struct {
		Endpoint string `json:"endpoint"`
	}
	if err := body(c, &req); err != nil {
		return err
	}
	if err := a.limit(ctx, user, "actions", actionsPerMinute, time.Minute); err != nil {
		return err
	}
	found, err := a.store.UnsubscribePush(ctx, user, req.Endpoint)
	if err != nil {
		return err
	}
	if !found {
		return fail(fiber.StatusNotFound, "no_subscription", "No subscription with that endpoint for this user.")
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// ---------------------------------------------------------------------------------------------
// GDPR

// export answers with a ZIP of JSON files: every row of the user's, from one snapshot.
func (a *api) export(ctx context.Context, c *fiber.Ctx, user uuid.UUID) error {
	if err := a.limit(ctx, user, "actions", actionsPerMinute, time.Minute); err != nil {
		return err
	}
	// Buffered: a failure halfway must be a clean 500, never half a ZIP.
	var buf bytes.Buffer
	m, err := a.cfg.Account.Export(ctx, user, &buf)
	if errors.Is(err, account.ErrNotFound) {
		return fail(fiber.StatusNotFound, "no_account", "This account does not exist (any more).")
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/zip")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="flux-export-%s.zip"`, m.ExportedAt.Format("2006-01-02")))
	return c.Send(buf.Bytes())
}

// erase deletes the account and everything in it. Idempotent: a retry after a lost answer
// (the token is still valid for a while) answers 204 again.
func (a *api) erase(ctx context.Context, c *fiber.Ctx, user uuid.UUID) error {
	if err := a.cfg.Account.Delete(ctx, user); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
