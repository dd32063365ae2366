package auth

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"golang.org/x/time/rate"
)

// Sentinel errors; Verify wraps exactly one of them, so callers can tell failures apart with
// errors.Is. Their texts are what a client sees.
var (
	ErrMissing   = errors.New("missing bearer token")
	ErrExpired   = errors.New("token expired")
	ErrSignature = errors.New("bad token signature") // includes an unknown key and a refused algorithm
	ErrAudience  = errors.New("wrong token audience")
	ErrInvalid   = errors.New("invalid token") // anything else: malformed, not a user token, not yet valid, wrong issuer
)

const (
	// DefaultAudience is the "aud" GoTrue puts in signed-in users' tokens.
	DefaultAudience = "authenticated"
	// userRole is the "role" of a signed-in user; anon and service_role keys carry other roles.
	userRole = "authenticated"

	defaultLeeway       = 30 * time.Second
	defaultRefetchEvery = 5 * time.Minute
	// jwksTimeout bounds one JWKS fetch, including the one New waits for, so an unreachable
	// Supabase delays startup by seconds, not keyfunc's default minute.
	jwksTimeout = 10 * time.Second
	// maxTokenLen refuses absurd input before any decoding; GoTrue tokens are a few KiB at most.
	maxTokenLen = 32 << 10
)

// Config says which keys and claims a token must match.
type Config struct {
	// Secret is the project's HS256 shared "JWT secret". Empty: HS256 tokens are refused.
	Secret string
	// JWKSURL serves the project's ES256/RS256 public keys (see JWKSURL). Empty: asymmetric tokens
	// are refused.
	JWKSURL string
	// Audience is the required "aud"; default DefaultAudience.
	Audience string
	// Issuer, when set, must equal "iss" (Supabase: <SUPABASE_URL>/auth/v1).
	Issuer string
	// Now is the wall clock for exp, nbf and iat; default time.Now. Deliberately not the dev time
	// warp: GoTrue stamps tokens with real time.
	Now func() time.Time
	// Leeway tolerates clock skew with GoTrue; zero means 30s, negative means none.
	Leeway time.Duration
	// HTTPClient fetches the JWKS; default http.DefaultClient.
	HTTPClient *http.Client
	// RefetchEvery is the least time between JWKS refetches caused by tokens with an unknown kid;
	// default 5m. It stops a stream of forged kids from hammering Supabase.
	RefetchEvery time.Duration
	// Log receives JWKS fetch failures; default slog.Default().
	Log *slog.Logger
}

// User is the verified caller.
type User struct {
	ID        uuid.UUID // "sub"
	Role      string    // always "authenticated"
	Email     string
	Phone     string
	SessionID string        // "session_id"
	Claims    jwt.MapClaims // all claims, for anything else (app_metadata, aal, is_anonymous...)
}

// Verifier checks tokens. It is safe for concurrent use.
type Verifier struct {
	secret   []byte          // nil: HS256 refused
	jwks     keyfunc.Keyfunc // nil: ES256/RS256 refused
	audience string
	issuer   string
	parser   *jwt.Parser
}

// JWKSURL is where a Supabase project publishes its signing keys.
func JWKSURL(supabaseURL string) string {
	return strings.TrimRight(supabaseURL, "/") + "/auth/v1/.well-known/jwks.json"
}

// New makes a Verifier. With a JWKSURL it fetches the key set once before returning; an
// unreachable or broken JWKS is logged, not fatal, because Supabase may come up after the
// listener: asymmetric tokens fail with ErrSignature until a later refresh loads the keys. ctx
// ends the background refresh.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.Secret == "" && cfg.JWKSURL == "" {
		return nil, errors.New("auth: neither a JWT secret nor a JWKS URL is configured")
	}
	cfg.Audience = cmp.Or(cfg.Audience, DefaultAudience)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	switch {
	case cfg.Leeway == 0:
		cfg.Leeway = defaultLeeway
	case cfg.Leeway < 0:
		cfg.Leeway = 0
	}
	if cfg.RefetchEvery <= 0 {
		cfg.RefetchEvery = defaultRefetchEvery
	}
	cfg.Log = cmp.Or(cfg.Log, slog.Default())

	v := &Verifier{audience: cfg.Audience, issuer: cfg.Issuer}
	var methods []string
	if cfg.Secret != "" {
		v.secret = []byte(cfg.Secret)
		methods = append(methods, jwt.SigningMethodHS256.Alg())
	}
	if cfg.JWKSURL != "" {
		jwks, err := newJWKS(ctx, cfg)
		if err != nil {
			return nil, err
		}
		v.jwks = jwks
		methods = append(methods, jwt.SigningMethodES256.Alg(), jwt.SigningMethodRS256.Alg())
	}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods(methods),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithExpirationRequired(), // a token without exp would be valid forever
		jwt.WithIssuedAt(),
	)
	return v, nil
}

func newJWKS(ctx context.Context, cfg Config) (keyfunc.Keyfunc, error) {
	log := cfg.Log
	noFatalFirstFetch := true
	k, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
		Client:                    cfg.HTTPClient,
		HTTPTimeout:               jwksTimeout,
		NoErrorReturnFirstHTTPReq: &noFatalFirstFetch,
		RefreshUnknownKID:         rate.NewLimiter(rate.Every(cfg.RefetchEvery), 1),
		// Also the deadline of the refetch itself; a request never waits longer than this for a
		// refetch slot (the limiter fails at once when its next slot lies beyond it).
		RateLimitWaitMax: jwksTimeout,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				log.WarnContext(ctx, "auth: fetching the JWKS failed; tokens signed with unknown keys are refused until a fetch succeeds",
					"url", u, "error", err)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("auth: JWKS %q: %w", cfg.JWKSURL, err)
	}
	// Rebuilt over the same storage only to refuse keys published for encryption ("use":"enc").
	k, err = keyfunc.New(keyfunc.Options{
		Ctx:          ctx,
		Storage:      k.Storage(),
		UseWhitelist: []jwkset.USE{jwkset.UseSig, ""},
	})
	if err != nil {
		return nil, fmt.Errorf("auth: JWKS %q: %w", cfg.JWKSURL, err)
	}
	return k, nil
}

// Reasons behind the sentinels; fixed strings so nothing from the token reaches an error text.
var (
	errAlgRefused = errors.New("signing algorithm not accepted")
	errUnknownKey = errors.New("unknown signing key")
	errWrongKey   = errors.New("signing key does not fit the algorithm")
)

// Verify checks token (the bare JWT, without "Bearer ") and returns its user.
func (v *Verifier) Verify(ctx context.Context, token string) (User, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return User{}, ErrMissing
	}
	if len(token) > maxTokenLen {
		return User{}, fmt.Errorf("%w: token too large", ErrInvalid)
	}
	claims := jwt.MapClaims{}
	keyfuncCalled := false
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		keyfuncCalled = true
		return v.key(ctx, t)
	})
	if err != nil {
		return User{}, classify(err, keyfuncCalled)
	}
	return v.user(claims)
}

// key picks the key by the token's algorithm, which the parser has already checked against the
// configured set; the method type is checked again so an HMAC check can only ever get the secret.
func (v *Verifier) key(ctx context.Context, t *jwt.Token) (any, error) {
	alg := t.Method.Alg()
	switch alg {
	case jwt.SigningMethodHS256.Alg():
		if _, ok := t.Method.(*jwt.SigningMethodHMAC); !ok || v.secret == nil {
			return nil, errAlgRefused
		}
		return v.secret, nil
	case jwt.SigningMethodES256.Alg(), jwt.SigningMethodRS256.Alg():
		if v.jwks == nil {
			return nil, errAlgRefused
		}
		k, err := v.jwks.KeyfuncCtx(ctx)(t)
		if err != nil {
			return nil, errUnknownKey // keyfunc's text names the token's kid; not passed on
		}
		return fitKey(alg, k)
	}
	return nil, errAlgRefused
}

// fitKey passes only public keys of the algorithm's type and size: a JWKS may hold keys for other
// uses, and a token without kid is tried against the whole set.
func fitKey(alg string, k any) (any, error) {
	fits := func(k any) bool {
		switch alg {
		case jwt.SigningMethodES256.Alg():
			pk, ok := k.(*ecdsa.PublicKey)
			return ok && pk.Curve == elliptic.P256()
		case jwt.SigningMethodRS256.Alg():
			pk, ok := k.(*rsa.PublicKey)
			return ok && pk.N.BitLen() >= 2048
		}
		return false
	}
	if set, ok := k.(jwt.VerificationKeySet); ok {
		var fitting jwt.VerificationKeySet
		for _, k := range set.Keys {
			if fits(k) {
				fitting.Keys = append(fitting.Keys, k)
			}
		}
		if len(fitting.Keys) == 0 {
			return nil, errUnknownKey
		}
		return fitting, nil
	}
	if !fits(k) {
		return nil, errWrongKey
	}
	return k, nil
}

// classify maps a jwt error to one sentinel and a fixed reason. jwt's own texts can quote the
// header (alg) and keyfunc's the kid, so they are dropped.
func classify(err error, keyfuncCalled bool) error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return fmt.Errorf("%w: malformed token", ErrInvalid)
	case errors.Is(err, errAlgRefused):
		return fmt.Errorf("%w: %w", ErrSignature, errAlgRefused)
	case errors.Is(err, errUnknownKey):
		return fmt.Errorf("%w: %w", ErrSignature, errUnknownKey)
	case errors.Is(err, errWrongKey):
		return fmt.Errorf("%w: %w", ErrSignature, errWrongKey)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid) || errors.Is(err, jwt.ErrTokenUnverifiable):
		if !keyfuncCalled { // the parser refused the alg ("none", HS512, ...) before asking for a key
			return fmt.Errorf("%w: %w", ErrSignature, errAlgRefused)
		}
		return fmt.Errorf("%w: signature does not verify", ErrSignature)
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return fmt.Errorf("%w: token not valid yet", ErrInvalid)
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return fmt.Errorf("%w: token issued in the future", ErrInvalid)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing): // only exp is required by the parser
		return fmt.Errorf("%w: token has no expiry", ErrInvalid)
	case errors.Is(err, jwt.ErrInvalidType):
		return fmt.Errorf("%w: a time claim is not a number", ErrInvalid)
	}
	return fmt.Errorf("%w: token not accepted", ErrInvalid)
}

// user checks the claims the parser does not, in an order that gives the most useful reason.
func (v *Verifier) user(claims jwt.MapClaims) (User, error) {
	// Role first: the project's anon and service_role keys have no aud, and "not a user token"
	// says what is wrong with them.
	if role, _ := claims["role"].(string); role != userRole {
		return User{}, fmt.Errorf("%w: not a user token (role must be authenticated)", ErrInvalid)
	}
	// Audience is checked here, not by the parser, so that a missing aud is ErrAudience too.
	aud, err := claims.GetAudience()
	if err != nil || !slices.Contains(aud, v.audience) {
		return User{}, ErrAudience
	}
	if v.issuer != "" {
		if iss, _ := claims.GetIssuer(); iss != v.issuer {
			return User{}, fmt.Errorf("%w: wrong issuer", ErrInvalid)
		}
	}
	sub, _ := claims["sub"].(string)
	id, err := uuid.Parse(sub)
	// Only the canonical form GoTrue writes; uuid.Parse also takes braces, urn: and no hyphens.
	if err != nil || len(sub) != 36 || id == uuid.Nil {
		return User{}, fmt.Errorf("%w: subject is not a user id", ErrInvalid)
	}
	str := func(k string) string { s, _ := claims[k].(string); return s }
	return User{
		ID:        id,
		Role:      userRole,
		Email:     str("email"),
		Phone:     str("phone"),
		SessionID: str("session_id"),
		Claims:    claims,
	}, nil
}
