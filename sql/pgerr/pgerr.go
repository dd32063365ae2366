// Package pgerr says what a PostgreSQL error means, in one place, as predicates in pgx's style
// (pgconn.SafeToRetry): callers ask "may I run it again?" or "does the row exist?", never
// which SQLSTATE came back. The codes are pgerrcode's names, plus the ones Flux raises itself.
package pgerr

import (
	"errors"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
)

// RateLimited is the code Flux's rate limits raise: PostgREST answers it with the HTTP status
// and headers given in the error's detail.
const RateLimited = "PGRST"

// As returns the server's error inside err, if there is one.
func As(err error) (*pgconn.PgError, bool) {
	var pg *pgconn.PgError
	ok := errors.As(err, &pg)
	return pg, ok
}

func code(err error) string {
	if pg, ok := As(err); ok {
		return pg.Code
	}
	return ""
}

// Transient reports a transaction that lost a deadlock or a serialization race: the server
// rolled it back, and running it again may succeed.
func Transient(err error) bool {
	c := code(err)
	return c == pgerrcode.DeadlockDetected || c == pgerrcode.SerializationFailure
}

// Permanent reports an error that running the same statement again cannot fix: invalid data
// (class 22), an integrity violation (23), a check a function raised (P0), or a statement the
// server refuses to run (42).
func Permanent(err error) bool {
	c := code(err)
	return pgerrcode.IsDataException(c) || pgerrcode.IsIntegrityConstraintViolation(c) ||
		pgerrcode.IsPLpgSQLError(c) || pgerrcode.IsSyntaxErrororAccessRuleViolation(c)
}

// NotFound reports that a function found no row it was asked about (no_data_found, which
// Flux's functions raise for an unknown id).
func NotFound(err error) bool { return code(err) == pgerrcode.NoDataFound }

// Refused reports that a Flux function refused the row it was asked to change: the caller has
// no such row (PT404) or the row's state does not allow the change (PT409), as PostgREST answers
// 404 and 409. Running it again meets the same refusal.
func Refused(err error) bool { c := code(err); return c == "PT404" || c == "PT409" }

// Exists reports that what a statement creates exists already (duplicate_object).
func Exists(err error) bool { return code(err) == pgerrcode.DuplicateObject }

// ForeignKeyViolation reports a row that references one that no longer exists.
func ForeignKeyViolation(err error) bool { return code(err) == pgerrcode.ForeignKeyViolation }

// CheckViolation returns the name of the check constraint err violated, if it is one.
func CheckViolation(err error) (constraint string, ok bool) {
	if pg, isPg := As(err); isPg && pg.Code == pgerrcode.CheckViolation {
		return pg.ConstraintName, true
	}
	return "", false
}

// IsRateLimited returns the rate limit's error, if err is one.
func IsRateLimited(err error) (*pgconn.PgError, bool) {
	if pg, ok := As(err); ok && pg.Code == RateLimited {
		return pg, true
	}
	return nil, false
}
