package userapi_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flux-companion/flux/listener/account"
	"github.com/flux-companion/flux/listener/auth"
	"github.com/flux-companion/flux/listener/twilioclient"
	"github.com/flux-companion/flux/listener/twiliofake"
	"github.com/flux-companion/flux/listener/userapi"
	"github.com/flux-companion/flux/sql/pgtest"
	"github.com/flux-companion/flux/sql/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	secret     = "test-jwt-secret-with-at-least-32-characters"
	twToken    = "fakeauthtoken0123456789"
	serviceSID = "VA00000000000000000000000000000001"
	// Real-looking VAPID-format keys are not needed: the column CHECKs only look at the shape.
	p256dh   = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
	authKey  = "tBHItJI5svbpez7KI4CCXg"
	endpoint = "https://push.example.test/send/abc"
)

var quiet = slog.New(slog.DiscardHandler)

type env struct {
	app  *fiber.App
	pool *pgxpool.Pool
	tw   *twiliofake.Server
}

func setup(t *testing.T, opts ...func(*userapi.Config)) *env {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	tw, err := twiliofake.Start(twToken)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tw.Close)
	rc, err := twilioclient.New(twilioclient.Config{AccountSID: twiliofake.AccountSID, AuthToken: twToken,
		APIBaseURL: tw.URL(), VerifyBaseURL: tw.URL(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.New(ctx, auth.Config{Secret: secret, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	cfg := userapi.Config{Auth: v, DB: pool, Account: &account.Service{DB: pool, Log: quiet},
		Verify: rc, VerifyServiceSID: serviceSID, VAPIDPublicKey: "BPublicKeyForTests", Log: quiet}
	for _, o := range opts {
		o(&cfg)
	}
	userapi.Mount(app, cfg)
	return &env{app: app, pool: pool, tw: tw}
}

// newUser signs up a user and returns their id and a valid access token.
func (e *env) newUser(t *testing.T) (string, string) {
	t.Helper()
	var id string
	if err := e.pool.QueryRow(context.Background(),
		`insert into auth.users (id, email) values (gen_random_uuid(), gen_random_uuid() || '@test.flux.local') returning id::text`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id, token(t, id, func(jwt.MapClaims) {})
}

func token(t *testing.T, id string, edit func(jwt.MapClaims)) string {
	t.Helper()
	c := auth.UserClaims(uuid.MustParse(id), "someone@test.flux.local", time.Hour, time.Now())
	edit(c)
	s, err := auth.SignHS256(secret, c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

func (e *env) do(t *testing.T, method, path, tok, body string) response {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Content-Type", "application/json")
	return e.send(t, req)
}

func (e *env) send(t *testing.T, req *http.Request) response {
	t.Helper()
	res, err := e.app.Test(req, 10000)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func (e *env) one(t *testing.T, q string, args ...any) string {
	t.Helper()
	var s string
	if err := e.pool.QueryRow(context.Background(), q, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}

var routes = []struct{ method, path, body string }{
	{"POST", "/v1/phone/verification", `{"phone_number": "+14155550100"}`},
	{"POST", "/v1/phone/verification/check", `{"code": "123456"}`},
	{"POST", "/v1/push/subscriptions", `{"endpoint": "` + endpoint + `", "keys": {"p256dh": "` + p256dh + `", "auth": "` + authKey + `"}}`},
	{"DELETE", "/v1/push/subscriptions", `{"endpoint": "` + endpoint + `"}`},
	{"GET", "/v1/account/export", ``},
	{"DELETE", "/v1/account", ``},
}

// Every user route refuses anonymous callers and bad tokens with 401, and changes nothing.
func TestTokensThatAreRefused(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id, _ := e.newUser(t)
	other, err := auth.SignHS256("another-secret-that-is-32-characters-long", auth.UserClaims(uuid.MustParse(id), "", time.Hour, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{
		"anon (no token)": "",
		"expired": token(t, id, func(c jwt.MapClaims) {
			c["iat"], c["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
		}),
		"wrong signature": other,
		"wrong audience":  token(t, id, func(c jwt.MapClaims) { c["aud"] = "anon" }),
		"anon key":        token(t, id, func(c jwt.MapClaims) { c["role"] = "anon" }),
	}
	for name, tok := range bad {
		for _, r := range routes {
			res := e.do(t, r.method, r.path, tok, r.body)
			if res.status != http.StatusUnauthorized || res.json(t)["code"] != "unauthorized" ||
				!strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s with %s: %d %s, want 401", r.method, r.path, name, res.status, res.body)
			}
		}
	}
	if n := e.one(t, `select (select count(*) from public.push_subscriptions) + (select count(*) from flux.phone_verifications)
		+ (select count(*) from public.users where id = $1 and phone_number is not null)`, id); n != "0" {
		t.Fatalf("%s rows written by refused requests", n)
	}
	if len(e.tw.Requests()) != 0 {
		t.Fatal("Twilio was called for a refused request")
	}
}

func TestPhoneVerification(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	alice, tok := e.newUser(t)
	_, bobTok := e.newUser(t)
	const first, second = "+14155550101", "+14155550102"

	if res := e.do(t, "POST", "/v1/phone/verification", tok, `{"phone_number": "0155 5501"}`); res.status != 400 || res.json(t)["code"] != "invalid_phone_number" {
		t.Fatalf("local number: %d %s", res.status, res.body)
	}
	if res := e.do(t, "POST", "/v1/phone/verification", tok, `{"phone_number": "`+first+`"`); res.status != 400 || res.json(t)["code"] != "invalid_body" {
		t.Fatalf("truncated JSON: %d %s", res.status, res.body)
	}
	if res := e.do(t, "POST", "/v1/phone/verification/check", tok, `{"code": "123456"}`); res.status != 409 {
		t.Fatalf("check before any send: %d %s", res.status, res.body)
	}
	if res := e.do(t, "POST", "/v1/phone/verification", tok, `{"phone_number": "`+first+`"}`); res.status != 202 {
		t.Fatalf("send: %d %s", res.status, res.body)
	}
	code := e.tw.LastCode(first)
	if code == "" {
		t.Fatal("the fake Verify sent no code")
	}
	if v := e.one(t, `select phone_verified::text || coalesce(phone_number, '-') from public.users where id = $1`, alice); v != "false-" {
		t.Fatalf("after sending: %s; the number is not the user's until confirmed", v)
	}
	// Bob has no code waiting; he cannot use Alice's.
	if res := e.do(t, "POST", "/v1/phone/verification/check", bobTok, `{"code": "`+code+`"}`); res.status != 409 {
		t.Fatalf("another user's check: %d %s", res.status, res.body)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if res := e.do(t, "POST", "/v1/phone/verification/check", tok, `{"code": "`+wrong+`"}`); res.status != 400 || res.json(t)["code"] != "wrong_code" {
		t.Fatalf("wrong code: %d %s", res.status, res.body)
	}
	if res := e.do(t, "POST", "/v1/phone/verification/check", tok, `{"code": "`+code+`", "phone_number": "`+second+`"}`); res.status != 409 || res.json(t)["code"] != "number_mismatch" {
		t.Fatalf("confirming another number: %d %s", res.status, res.body)
	}
	if res := e.do(t, "POST", "/v1/phone/verification/check", tok, `{"code": "`+code+`"}`); res.status != 200 {
		t.Fatalf("right code: %d %s", res.status, res.body)
	}
	if v := e.one(t, `select phone_verified::text || phone_number from public.users where id = $1`, alice); v != "true"+first {
		t.Fatalf("after confirming: %s", v)
	}

	// Verified, Alice opts in to WhatsApp; a code to a new number keeps both until the new
	// number is confirmed, which then drops the opt-in (it was given for the old number).
	if err := store.AsUser(ctx, e.pool, alice, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `select public.set_whatsapp_opt_in()`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if res := e.do(t, "POST", "/v1/phone/verification", tok, `{"phone_number": "`+second+`"}`); res.status != 202 {
		t.Fatalf("second send: %d %s", res.status, res.body)
	}
	if v := e.one(t, `select phone_verified::text || phone_number || (whatsapp_opt_in_at is not null)::text from public.users where id = $1`, alice); v != "true"+first+"true" {
		t.Fatalf("while the new number waits: %s", v)
	}
	if res := e.do(t, "POST", "/v1/phone/verification/check", tok, `{"code": "`+e.tw.LastCode(second)+`"}`); res.status != 200 {
		t.Fatalf("second confirm: %d %s", res.status, res.body)
	}
	if v := e.one(t, `select phone_verified::text || phone_number || (whatsapp_opt_in_at is not null)::text from public.users where id = $1`, alice); v != "true"+second+"false" {
		t.Fatalf("after changing numbers: %s; want the new number verified and the opt-in cleared", v)
	}
}

// A server without Twilio Verify says so on both routes, after checking the request, and
// records nothing.
func TestPhoneVerificationNotConfigured(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *userapi.Config) { c.Verify = nil })
	alice, tok := e.newUser(t)
	for _, r := range []struct{ path, body string }{
		{"/v1/phone/verification", `{"phone_number": "+14155550104"}`},
		{"/v1/phone/verification/check", `{"code": "123456"}`},
	} {
		if res := e.do(t, "POST", r.path, tok, r.body); res.status != 503 || res.json(t)["code"] != "verification_unavailable" {
			t.Fatalf("%s: %d %s", r.path, res.status, res.body)
		}
	}
	if res := e.do(t, "POST", "/v1/phone/verification", tok, `{"phone_number": "0155 5501"}`); res.status != 400 {
		t.Fatalf("a bad number is still a 400: %d %s", res.status, res.body)
	}
	if v := e.one(t, `select coalesce(phone_number, '-') || (select count(*) from flux.phone_verifications where user_id = $1)::text from public.users where id = $1`, alice); v != "-0" {
		t.Fatalf("recorded: %s", v)
	}
}

func TestPhoneVerificationSendsAreLimited(t *testing.T) {
	t.Parallel()
	e := setup(t)
	if _, err := e.pool.Exec(context.Background(), `update flux.settings set rate_limits = true`); err != nil {
		t.Fatal(err)
	}
	_, tok := e.newUser(t)
	for i := range 3 {
		if res := e.do(t, "POST", "/v1/phone/verification", tok, `{"phone_number": "+14155550103"}`); res.status != 202 {
			t.Fatalf("send %d: %d %s", i+1, res.status, res.body)
		}
	}
	res := e.do(t, "POST", "/v1/phone/verification", tok, `{"phone_number": "+14155550103"}`)
	retry, _ := strconv.Atoi(res.header.Get("Retry-After"))
	if res.status != 429 || res.json(t)["code"] != "rate_limited" || retry < 1 || retry > 3600 {
		t.Fatalf("fourth send in an hour: %d Retry-After %q %s", res.status, res.header.Get("Retry-After"), res.body)
	}
	if n := len(e.tw.Requests()); n != 3 {
		t.Fatalf("Twilio saw %d sends, want 3", n)
	}
}

func TestPushSubscriptions(t *testing.T) {
	t.Parallel()
	e := setup(t)
	alice, tok := e.newUser(t)
	bob, bobTok := e.newUser(t)
	sub := routes[2].body

	if res := e.do(t, "GET", "/v1/push/vapid-public-key", "", ""); res.status != 200 || res.json(t)["public_key"] != "BPublicKeyForTests" {
		t.Fatalf("VAPID key: %d %s", res.status, res.body)
	}
	res := e.do(t, "POST", "/v1/push/subscriptions", tok, sub)
	if res.status != 201 {
		t.Fatalf("subscribe: %d %s", res.status, res.body)
	}
	id := res.json(t)["id"]
	if res := e.do(t, "POST", "/v1/push/subscriptions", tok, sub); res.status != 200 || res.json(t)["id"] != id {
		t.Fatalf("subscribing again: %d %s, want the same subscription", res.status, res.body)
	}
	for name, body := range map[string]string{
		"http endpoint": strings.Replace(sub, "https://", "http://", 1),
		"short key":     strings.Replace(sub, p256dh, "abc", 1),
		"unknown field": `{"endpoint": "` + endpoint + `", "user_id": "` + bob + `"}`,
		"no keys":       `{"endpoint": "` + endpoint + `"}`,
		"not JSON":      `endpoint=x`,
	} {
		if res := e.do(t, "POST", "/v1/push/subscriptions", tok, body); res.status != 400 {
			t.Errorf("%s: %d %s, want 400", name, res.status, res.body)
		}
	}
	// A compressed body is refused before it is inflated, and before anything is written.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(sub))
	zw.Close()
	req := httptest.NewRequest("POST", "/v1/push/subscriptions", &gz)
	req.Header.Set("Authorization", "Bearer "+bobTok)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	if res := e.send(t, req); res.status != 415 {
		t.Fatalf("a gzip body: %d %s, want 415", res.status, res.body)
	}
	if n := e.one(t, `select count(*)::text from public.push_subscriptions where user_id = $1`, bob); n != "0" {
		t.Fatalf("bob has %s subscriptions after a refused body", n)
	}
	// Bob signs in on the same browser: the endpoint is his now.
	if res := e.do(t, "POST", "/v1/push/subscriptions", bobTok, sub); res.status != 200 {
		t.Fatalf("moving the endpoint: %d %s", res.status, res.body)
	}
	if owner := e.one(t, `select user_id::text from public.push_subscriptions where endpoint = $1`, endpoint); owner != bob {
		t.Fatalf("owner %s, want bob", owner)
	}
	if res := e.do(t, "DELETE", "/v1/push/subscriptions", tok, routes[3].body); res.status != 404 {
		t.Fatalf("alice unsubscribing bob's endpoint: %d %s", res.status, res.body)
	}
	if res := e.do(t, "DELETE", "/v1/push/subscriptions", bobTok, routes[3].body); res.status != 204 {
		t.Fatalf("unsubscribe: %d %s", res.status, res.body)
	}
	if n := e.one(t, `select count(*)::text from public.push_subscriptions where user_id in ($1, $2)`, alice, bob); n != "0" {
		t.Fatalf("%s subscriptions left", n)
	}
}

func TestExportAndErasure(t *testing.T) {
	t.Parallel()
	e := setup(t)
	alice, tok := e.newUser(t)
	bob, bobTok := e.newUser(t)
	if res := e.do(t, "POST", "/v1/push/subscriptions", tok, routes[2].body); res.status != 201 {
		t.Fatalf("subscribe: %d %s", res.status, res.body)
	}

	res := e.do(t, "GET", "/v1/account/export", tok, "")
	if res.status != 200 || res.header.Get("Content-Type") != "application/zip" ||
		!strings.Contains(res.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %v", res.status, res.header)
	}
	zr, err := zip.NewReader(bytes.NewReader(res.body), int64(len(res.body)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		files[f.Name] = string(b)
	}
	if !strings.Contains(files["manifest.json"], alice) || !strings.Contains(files["public.push_subscriptions.json"], endpoint) {
		t.Fatalf("export files %v", files)
	}
	for name, content := range files {
		if strings.Contains(content, bob) {
			t.Fatalf("%s of alice's export holds bob's id", name)
		}
	}

	if res := e.do(t, "DELETE", "/v1/account", tok, ""); res.status != 204 {
		t.Fatalf("erase: %d %s", res.status, res.body)
	}
	if n := e.one(t, `select ((select count(*) from auth.users where id = $1) + (select count(*) from public.push_subscriptions where user_id = $1))::text`, alice); n != "0" {
		t.Fatalf("%s rows left after erasure", n)
	}
	// The token still verifies for a while: a retry is answered the same, an export finds nothing.
	if res := e.do(t, "DELETE", "/v1/account", tok, ""); res.status != 204 {
		t.Fatalf("erasing again: %d %s", res.status, res.body)
	}
	if res := e.do(t, "GET", "/v1/account/export", tok, ""); res.status != 404 || res.json(t)["code"] != "no_account" {
		t.Fatalf("export after erasure: %d %s", res.status, res.body)
	}
	if res := e.do(t, "GET", "/v1/account/export", bobTok, ""); res.status != 200 {
		t.Fatalf("bob's export: %d", res.status)
	}
}

// A browser app on another origin: its preflight (no token) is answered, the real request's
// answer carries the CORS headers (so the app can read a 401 or a Retry-After), and an origin
// that is not allowed gets no grant.
func TestCORS(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *userapi.Config) { c.AllowOrigins = "https://app.flux.example" })
	send := func(e *env, method, path, origin string, header map[string]string) response {
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Origin", origin)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		return e.send(t, req)
	}
	pre := send(e, http.MethodOptions, "/v1/account/export", "https://app.flux.example", map[string]string{
		"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"})
	if pre.status != http.StatusNoContent || pre.header.Get("Access-Control-Allow-Origin") != "https://app.flux.example" ||
		!strings.Contains(strings.ToLower(pre.header.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Fatalf("preflight: %d %v", pre.status, pre.header)
	}
	res := send(e, http.MethodGet, "/v1/account/export", "https://app.flux.example", nil)
	if res.status != http.StatusUnauthorized || res.header.Get("Access-Control-Allow-Origin") != "https://app.flux.example" {
		t.Fatalf("request without a token: %d %v", res.status, res.header)
	}
	evil := send(e, http.MethodOptions, "/v1/account/export", "https://evil.example", map[string]string{"Access-Control-Request-Method": "GET"})
	if got := evil.header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("another origin was granted %q", got)
	}

	open := setup(t) // no list: any origin
	res = send(open, http.MethodOptions, "/v1/phone/verification", "http://localhost:5173", map[string]string{"Access-Control-Request-Method": "POST"})
	if res.status != http.StatusNoContent || res.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("default preflight: %d %v", res.status, res.header)
	}
}
