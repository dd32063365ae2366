package auth

import (
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// LocalIssuer is the "iss" of tokens minted by UserClaims, so they are never mistaken for
// Supabase's (whose iss is <SUPABASE_URL>/auth/v1).
const LocalIssuer = "flux-local"

// SignHS256 signs claims with secret, as GoTrue does with a project's legacy JWT secret. It is for
// `flux dev`, `flux chat` and tests, which need a user token without a running GoTrue.
func SignHS256(secret string, claims jwt.MapClaims) (string, error) {
	if secret == "" {
		return "", errors.New("auth: an empty secret cannot sign a token")
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
}

// UserClaims returns claims shaped like a GoTrue access token for a password sign-in of user id,
// issued at now and valid for ttl.
func UserClaims(id uuid.UUID, email string, ttl time.Duration, now time.Time) jwt.MapClaims {
	iat := now.Unix()
	return jwt.MapClaims{
		"iss":           LocalIssuer,
		"sub":           id.String(),
		"aud":           DefaultAudience,
		"exp":           now.Add(ttl).Unix(),
		"iat":           iat,
		"email":         email,
		"phone":         "",
		"app_metadata":  map[string]any{"provider": "email", "providers": []any{"email"}},
		"user_metadata": map[string]any{},
		"role":          userRole,
		"aal":           "aal1",
		"amr":           []any{map[string]any{"method": "password", "timestamp": iat}},
		"session_id":    uuid.NewString(),
		"is_anonymous":  false,
	}
}
