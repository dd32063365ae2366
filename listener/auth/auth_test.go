package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/flux-companion/flux/internal/testwait"
	"github.com/flux-companion/flux/listener/logtest"
)

const testSecret = "super-secret-jwt-token-with-at-least-32-characters-long"

var (
	t0     = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	userID = uuid.MustParse("6f1d2c3b-4a59-4e6f-8a7b-9c0d1e2f3a4b")

	// Keys are made once: RSA generation is slow, and the tests only need them to differ.
	ecA     = sync.OnceValue(func() *ecdsa.PrivateKey { return newEC() })
	ecB     = sync.OnceValue(func() *ecdsa.PrivateKey { return newEC() })
	ecOther = sync.OnceValue(func() *ecdsa.PrivateKey { return newEC() })
	rsaA    = sync.OnceValue(func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	})
)

func newEC() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

// claims are a GoTrue-shaped user token issued at t0 for an hour.
func claims() jwt.MapClaims { return UserClaims(userID, "ada@example.com", time.Hour, t0) }

func sign(t *testing.T, m jwt.SigningMethod, kid string, key any, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func hs(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	s, err := SignHS256(testSecret, c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// signed and hsSigned make a test case's token: c signed with m and key (kid: none), or with
// the secret.
func signed(m jwt.SigningMethod, kid string, key any, c jwt.MapClaims) func(*testing.T) string {
	return func(t *testing.T) string { return sign(t, m, kid, key, c) }
}

func hsSigned(c jwt.MapClaims) func(*testing.T) string {
	return func(t *testing.T) string { return hs(t, c) }
}

func with(k string, val any) jwt.MapClaims { c := claims(); c[k] = val; return c }

func without(k string) jwt.MapClaims { c := claims(); delete(c, k); return c }

func newVerifier(t *testing.T, cfg Config) *Verifier {
	t.Helper()
	if cfg.Log == nil {
		cfg.Log = quiet()
	}
	v, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// jwksServer publishes public keys like <SUPABASE_URL>/auth/v1/.well-known/jwks.json; keys can be
// added while it runs, and it can be down.
type jwksServer struct {
	*httptest.Server
	store   *jwkset.MemoryJWKSet
	down    atomic.Bool
	fetches atomic.Int32
}

func newJWKSServer(t *testing.T) *jwksServer {
	t.Helper()
	s := &jwksServer{store: jwkset.NewMemoryStorage()}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		if s.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		raw, err := s.store.JSONPublic(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(raw)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) add(t *testing.T, kid string, alg jwkset.ALG, pub any) {
	t.Helper()
	jwk, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: alg, USE: jwkset.UseSig}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.store.KeyWrite(context.Background(), jwk); err != nil {
		t.Fatal(err)
	}
}

// standardJWKS serves one EC P-256 key "ec1" and one RSA 2048 key "rsa1", as a project with a
// current and a previous asymmetric key would.
func standardJWKS(t *testing.T) *jwksServer {
	s := newJWKSServer(t)
	s.add(t, "ec1", jwkset.AlgES256, &ecA().PublicKey)
	s.add(t, "rsa1", jwkset.AlgRS256, &rsaA().PublicKey)
	return s
}

func TestNewNeedsAKey(t *testing.T) {
	t.Parallel()
	if _, err := New(t.Context(), Config{}); err == nil {
		t.Fatal("New without secret and JWKS URL: want error")
	}
}

func TestVerifyHS256(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		token func(t *testing.T) string
		cfg   func(*Config)
		want  error // nil: accepted
	}{
		{"valid", hsSigned(claims()), nil, nil},
		{"valid within leeway after exp", hsSigned(claims()), func(c *Config) { c.Now = fixed(t0.Add(time.Hour + 10*time.Second)) }, nil},
		{"aud as a list", hsSigned(with("aud", []any{"other", "authenticated"})), nil, nil},
		{"expired", hsSigned(claims()), func(c *Config) { c.Now = fixed(t0.Add(2 * time.Hour)) }, ErrExpired},
		{"expired without leeway", hsSigned(claims()),
			func(c *Config) { c.Now = fixed(t0.Add(time.Hour + time.Second)); c.Leeway = -1 }, ErrExpired},
		{"wrong secret", signed(jwt.SigningMethodHS256, "", []byte("another-secret-of-sufficient-length-000"), claims()), nil, ErrSignature},
		{"tampered payload", func(t *testing.T) string {
			p := strings.Split(hs(t, claims()), ".")
			other := strings.Split(hs(t, with("email", "eve@example.com")), ".")
			return p[0] + "." + other[1] + "." + p[2]
		}, nil, ErrSignature},
		{"aud anon", hsSigned(with("aud", "anon")), nil, ErrAudience},
		{"aud missing", hsSigned(without("aud")), nil, ErrAudience},
		{"custom audience", hsSigned(claims()), func(c *Config) { c.Audience = "flux" }, ErrAudience},
		{"role service_role", hsSigned(with("role", "service_role")), nil, ErrInvalid},
		// The shape of a project's anon key: no sub, no aud, role anon.
		{"role anon (anon key)", hsSigned(jwt.MapClaims{"iss": "supabase", "ref": "abcd", "role": "anon",
			"iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix()}), nil, ErrInvalid},
		{"anon role with user aud", hsSigned(with("role", "anon")), nil, ErrInvalid},
		{"role missing", hsSigned(without("role")), nil, ErrInvalid},
		{"sub not a uuid", hsSigned(with("sub", "ada")), nil, ErrInvalid},
		{"sub uuid without hyphens", hsSigned(with("sub", strings.ReplaceAll(userID.String(), "-", ""))), nil, ErrInvalid},
		{"sub nil uuid", hsSigned(with("sub", uuid.Nil.String())), nil, ErrInvalid},
		{"sub missing", hsSigned(without("sub")), nil, ErrInvalid},
		{"exp missing", hsSigned(without("exp")), nil, ErrInvalid},
		{"exp not a number", hsSigned(with("exp", "tomorrow")), nil, ErrInvalid},
		{"nbf in the future", hsSigned(with("nbf", t0.Add(10*time.Minute).Unix())), nil, ErrInvalid},
		{"iat in the future", hsSigned(with("iat", t0.Add(10*time.Minute).Unix())), nil, ErrInvalid},
		{"issuer matches", hsSigned(claims()), func(c *Config) { c.Issuer = LocalIssuer }, nil},
		{"issuer mismatch", hsSigned(claims()), func(c *Config) { c.Issuer = "https://abcd.supabase.co/auth/v1" }, ErrInvalid},
		{"issuer missing", hsSigned(without("iss")), func(c *Config) { c.Issuer = LocalIssuer }, ErrInvalid},
		{"empty", func(*testing.T) string { return "" }, nil, ErrMissing},
		{"blank", func(*testing.T) string { return "  " }, nil, ErrMissing},
		{"malformed", func(*testing.T) string { return "not-a-jwt" }, nil, ErrInvalid},
		{"malformed segments", func(*testing.T) string { return "a.b.c" }, nil, ErrInvalid},
		{"too large", func(*testing.T) string { return strings.Repeat("a", maxTokenLen+1) }, nil, ErrInvalid},
		{"alg none", signed(jwt.SigningMethodNone, "", jwt.UnsafeAllowNoneSignatureType, claims()), nil, ErrSignature},
		{"alg none, hand made", func(t *testing.T) string {
			p := strings.Split(hs(t, claims()), ".")
			return "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + p[1] + "." // {"alg":"none","typ":"JWT"}
		}, nil, ErrSignature},
		{"HS512 with the right secret", signed(jwt.SigningMethodHS512, "", []byte(testSecret), claims()), nil, ErrSignature},
		{"ES256 without JWKS", signed(jwt.SigningMethodES256, "ec1", ecA(), claims()), nil, ErrSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := Config{Secret: testSecret, Now: fixed(t0.Add(time.Minute))}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			verdict(t, newVerifier(t, cfg), tc.token(t), tc.want)
		})
	}
}

// verdict checks what v makes of token: Ada when want is nil, else want and no other sentinel,
// in a text that leaks nothing of the token.
func verdict(t *testing.T, v *Verifier, token string, want error) {
	t.Helper()
	u, err := v.Verify(t.Context(), token)
	if want == nil {
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if u.ID != userID || u.Email != "ada@example.com" || u.Role != "authenticated" || u.SessionID == "" {
			t.Fatalf("user = %+v", u)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("Verify: err = %v, want %v", err, want)
	}
	for _, s := range []error{ErrMissing, ErrExpired, ErrSignature, ErrAudience, ErrInvalid} {
		if s != want && errors.Is(err, s) {
			t.Fatalf("err %v is also %v", err, s)
		}
	}
	assertNoLeak(t, err.Error(), token)
}

// assertNoLeak: error texts end up in logs and 401 bodies, so they must not carry the token or
// what is in it.
func assertNoLeak(t *testing.T, msg, token string) {
	t.Helper()
	for _, p := range strings.Split(token, ".") {
		if len(p) > 8 && strings.Contains(msg, p) {
			t.Fatalf("error %q contains part of the token", msg)
		}
	}
	for _, s := range []string{"ada@", userID.String(), "service_role", "forged-kid", "HS512", "none"} {
		if strings.Contains(msg, s) {
			t.Fatalf("error %q contains %q from the token", msg, s)
		}
	}
}

func TestVerifyJWKS(t *testing.T) {
	t.Parallel()
	srv := standardJWKS(t)
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&rsaA().PublicKey))})
	rsaJWK := must(jwkset.NewJWKFromKey(&rsaA().PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: "rsa1"}}))
	rsaJWKJSON := must(json.Marshal(rsaJWK.Marshal()))
	withSecret := Config{Secret: testSecret}
	jwksOnly := Config{}

	tests := []struct {
		name  string
		cfg   Config
		token func(t *testing.T) string
		want  error
	}{
		{"ES256", jwksOnly, signed(jwt.SigningMethodES256, "ec1", ecA(), claims()), nil},
		{"RS256", jwksOnly, signed(jwt.SigningMethodRS256, "rsa1", rsaA(), claims()), nil},
		{"ES256 with a secret configured too", withSecret, signed(jwt.SigningMethodES256, "ec1", ecA(), claims()), nil},
		{"HS256 beside JWKS", withSecret, hsSigned(claims()), nil},
		{"ES256 without kid", jwksOnly, signed(jwt.SigningMethodES256, "", ecA(), claims()), nil},
		{"ES256 expired", jwksOnly,
			signed(jwt.SigningMethodES256, "ec1", ecA(), UserClaims(userID, "ada@example.com", time.Hour, t0.Add(-3*time.Hour))), ErrExpired},
		{"ES256 anon audience", jwksOnly, signed(jwt.SigningMethodES256, "ec1", ecA(), with("aud", "anon")), ErrAudience},
		{"other EC key, same kid", jwksOnly, signed(jwt.SigningMethodES256, "ec1", ecOther(), claims()), ErrSignature},
		{"other EC key, no kid", jwksOnly, signed(jwt.SigningMethodES256, "", ecOther(), claims()), ErrSignature},
		{"unknown kid", jwksOnly, signed(jwt.SigningMethodES256, "forged-kid", ecOther(), claims()), ErrSignature},
		{"RS256 naming the EC key", jwksOnly, signed(jwt.SigningMethodRS256, "ec1", rsaA(), claims()), ErrSignature},
		{"HS256 only JWKS configured", jwksOnly, hsSigned(claims()), ErrSignature},
		// Algorithm confusion: HMAC keyed with what the JWKS publishes must never pass.
		{"HS256 keyed with RSA PEM, JWKS only", jwksOnly, signed(jwt.SigningMethodHS256, "rsa1", rsaPEM, claims()), ErrSignature},
		{"HS256 keyed with RSA PEM, secret too", withSecret, signed(jwt.SigningMethodHS256, "rsa1", rsaPEM, claims()), ErrSignature},
		{"HS256 keyed with RSA JWK, JWKS only", jwksOnly, signed(jwt.SigningMethodHS256, "rsa1", rsaJWKJSON, claims()), ErrSignature},
		{"HS256 keyed with RSA JWK, secret too", withSecret, signed(jwt.SigningMethodHS256, "rsa1", rsaJWKJSON, claims()), ErrSignature},
		{"HS256 keyed with EC point, secret too", withSecret, signed(jwt.SigningMethodHS256, "ec1", must(ecA().PublicKey.Bytes()), claims()), ErrSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg
			cfg.JWKSURL = srv.URL
			cfg.Now = fixed(t0.Add(time.Minute))
			verdict(t, newVerifier(t, cfg), tc.token(t), tc.want)
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A key Supabase rotates in is unknown to a running listener until the JWKS is refetched; a token
// naming it triggers that refetch.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	srv := newJWKSServer(t)
	srv.add(t, "A", jwkset.AlgES256, &ecA().PublicKey)
	v := newVerifier(t, Config{JWKSURL: srv.URL, Now: fixed(t0), RefetchEvery: 10 * time.Millisecond})

	tokA := sign(t, jwt.SigningMethodES256, "A", ecA(), claims())
	tokB := sign(t, jwt.SigningMethodES256, "B", ecB(), claims())
	if _, err := v.Verify(t.Context(), tokA); err != nil {
		t.Fatalf("key A: %v", err)
	}
	if _, err := v.Verify(t.Context(), tokB); !errors.Is(err, ErrSignature) {
		t.Fatalf("key B before it is published: err = %v, want ErrSignature", err)
	}

	srv.add(t, "B", jwkset.AlgES256, &ecB().PublicKey)
	var err error
	if !testwait.Until(10*time.Second, func() bool { _, err = v.Verify(t.Context(), tokB); return err == nil }) {
		t.Fatalf("key B after it is published: %v", err)
	}
	if _, err := v.Verify(t.Context(), tokA); err != nil {
		t.Fatalf("key A after rotation: %v", err)
	}
}

// Supabase may start after the listener: startup goes on, tokens are refused until the keys load.
func TestJWKSDownAtStart(t *testing.T) {
	t.Parallel()
	srv := standardJWKS(t)
	srv.down.Store(true)
	var logs logtest.Buffer
	v, err := New(t.Context(), Config{JWKSURL: srv.URL, Now: fixed(t0), RefetchEvery: 10 * time.Millisecond, Log: logs.Logger()})
	if err != nil {
		t.Fatalf("New with the JWKS down: %v", err)
	}
	if logged := logs.String(); !strings.Contains(logged, "fetching the JWKS failed") {
		t.Fatalf("the failed fetch was not logged: %q", logged)
	}
	tok := sign(t, jwt.SigningMethodES256, "ec1", ecA(), claims())
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, ErrSignature) {
		t.Fatalf("while the JWKS is down: err = %v, want ErrSignature", err)
	}

	srv.down.Store(false)
	if !testwait.Until(10*time.Second, func() bool { _, err = v.Verify(t.Context(), tok); return err == nil }) {
		t.Fatalf("after the JWKS came up: %v", err)
	}
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, Config{Secret: testSecret, Now: fixed(t0.Add(time.Minute))})
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/me", v.Middleware(), func(c *fiber.Ctx) error {
		u, ok := UserFrom(c)
		if !ok {
			return c.Status(fiber.StatusInternalServerError).SendString("no user")
		}
		return c.JSON(fiber.Map{"id": u.ID.String(), "email": u.Email})
	})
	app.Get("/open", func(c *fiber.Ctx) error {
		_, ok := UserFrom(c)
		return c.JSON(fiber.Map{"user": ok})
	})

	valid := hs(t, claims())
	expired := hs(t, UserClaims(userID, "ada@example.com", time.Hour, t0.Add(-2*time.Hour)))
	tests := []struct {
		name      string
		header    string // Authorization; empty: none
		status    int
		challenge string // WWW-Authenticate must contain this
		message   string // the JSON message must contain this
	}{
		{"no header", "", 401, "Bearer", "missing bearer token"},
		{"basic", "Basic x", 401, "Bearer", "missing bearer token"},
		{"bearer without token", "Bearer ", 401, "Bearer", "missing bearer token"},
		{"expired", "Bearer " + expired, 401, `error="invalid_token", error_description="token expired"`, "expired"},
		{"garbage", "Bearer garbage", 401, `error="invalid_token"`, "malformed"},
		{"wrong signature", "Bearer " + valid[:len(valid)-4] + "AAAA", 401, `error="invalid_token"`, "signature"},
		{"anon audience", "Bearer " + hs(t, with("aud", "anon")), 401, `error="invalid_token"`, "audience"},
		{"service role", "Bearer " + hs(t, with("role", "service_role")), 401, `error="invalid_token"`, "not a user token"},
		{"valid", "Bearer " + valid, 200, "", ""},
		{"valid, lower-case scheme", "bearer " + valid, 200, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/me", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := app.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.status, body)
			}
			if tc.status == 200 {
				var got struct{ ID, Email string }
				if err := json.Unmarshal(body, &got); err != nil || got.ID != userID.String() || got.Email != "ada@example.com" {
					t.Fatalf("handler saw %s (%v)", body, err)
				}
				return
			}
			if h := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") || !strings.Contains(h, tc.challenge) {
				t.Fatalf("WWW-Authenticate %q, want it to contain %q", h, tc.challenge)
			}
			var got struct{ Code, Message string }
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if got.Code != "unauthorized" || !strings.Contains(got.Message, tc.message) {
				t.Fatalf("body %s, want code unauthorized and a message containing %q", body, tc.message)
			}
			if strings.Contains(string(body), "ada@") || (len(tc.header) > 20 && strings.Contains(string(body), tc.header[7:])) {
				t.Fatalf("body %s echoes the token", body)
			}
		})
	}

	t.Run("unprotected route has no user", func(t *testing.T) {
		t.Parallel()
		resp, err := app.Test(httptest.NewRequest(http.MethodGet, "/open", nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if body, _ := io.ReadAll(resp.Body); string(body) != `{"user":false}` {
			t.Fatalf("body %s", body)
		}
	})
}

func TestLocalTokens(t *testing.T) {
	t.Parallel()
	if _, err := SignHS256("", claims()); err == nil {
		t.Fatal("SignHS256 with an empty secret: want error")
	}
	now := time.Now()
	tok, err := SignHS256(testSecret, UserClaims(userID, "ada@example.com", time.Hour, now))
	if err != nil {
		t.Fatal(err)
	}
	// Default clock: a freshly minted local token verifies as it would in `flux dev`.
	v := newVerifier(t, Config{Secret: testSecret, Issuer: LocalIssuer})
	u, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if u.ID != userID || u.Email != "ada@example.com" || u.Role != "authenticated" || u.Phone != "" {
		t.Fatalf("user = %+v", u)
	}
	if _, err := uuid.Parse(u.SessionID); err != nil {
		t.Fatalf("session_id %q is not a uuid", u.SessionID)
	}
	if u.Claims["aal"] != "aal1" || u.Claims["iss"] != LocalIssuer {
		t.Fatalf("claims = %v", u.Claims)
	}
	if got := JWKSURL("https://abcd.supabase.co/"); got != "https://abcd.supabase.co/auth/v1/.well-known/jwks.json" {
		t.Fatalf("JWKSURL = %q", got)
	}
}
