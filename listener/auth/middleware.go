package auth

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// userKey is unexported so no other package can overwrite the verified user in Locals.
type userKey struct{}

// Middleware admits requests with a valid "Authorization: Bearer <jwt>" and stores their User
// (see UserFrom). Anything else gets 401 with a WWW-Authenticate challenge (RFC 6750) and a JSON
// body {"code":"unauthorized","message":<reason>}; the rest of the chain does not run.
func (v *Verifier) Middleware() fiber.Handler {
	return func(c *fiber.Ctx) error {
		token, ok := bearer(c.Get(fiber.HeaderAuthorization))
		if !ok {
			return unauthorized(c, ErrMissing)
		}
		u, err := v.Verify(c.UserContext(), token)
		if err != nil {
			return unauthorized(c, err)
		}
		c.Locals(userKey{}, u)
		return c.Next()
	}
}

// UserFrom returns the user Middleware verified for this request.
func UserFrom(c *fiber.Ctx) (User, bool) {
	u, ok := c.Locals(userKey{}).(User)
	return u, ok
}

// bearer takes the token out of an Authorization header; the scheme is case-insensitive
// (RFC 7235).
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func unauthorized(c *fiber.Ctx, err error) error {
	msg := err.Error() // fixed texts only (see classify), never the token
	challenge := "Bearer"
	// RFC 6750 3.1: a request without credentials gets no error code, a bad token "invalid_token".
	if !errors.Is(err, ErrMissing) {
		challenge += `, error="invalid_token", error_description="` + quotable(msg) + `"`
	}
	c.Set(fiber.HeaderWWWAuthenticate, challenge)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusUnauthorized).JSON(fiber.Map{"code": "unauthorized", "message": msg})
}

// quotable keeps a description inside the characters RFC 6750 allows in error_description.
func quotable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r > 0x7e {
			return '\''
		}
		return r
	}, s)
}
