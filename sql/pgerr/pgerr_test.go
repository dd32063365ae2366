package pgerr

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestPredicates(t *testing.T) {
	wrap := func(code string) error {
		return fmt.Errorf("store: x: %w", &pgconn.PgError{Code: code, ConstraintName: "c"})
	}
	for _, c := range []struct {
		code                                   string
		transient, permanent, notFound, exists bool
	}{
		{"40001", true, false, false, false},
		{"40P01", true, false, false, false},
		{"22023", false, true, false, false},
		{"23505", false, true, false, false},
		{"P0001", false, true, false, false},
		{"P0002", false, true, true, false},
		{"42710", false, true, false, true},
		{"57P01", false, false, false, false}, // admin shutdown: the connection, not the data
		{"PT409", false, false, false, false},
	} {
		err := wrap(c.code)
		if Transient(err) != c.transient || Permanent(err) != c.permanent || NotFound(err) != c.notFound || Exists(err) != c.exists {
			t.Errorf("%s: transient %v permanent %v notFound %v exists %v", c.code, Transient(err), Permanent(err), NotFound(err), Exists(err))
		}
	}
	if !Refused(wrap("PT404")) || !Refused(wrap("PT409")) || Refused(wrap("P0002")) || Refused(nil) {
		t.Error("Refused: PT404 and PT409 only")
	}
	if name, ok := CheckViolation(wrap("23514")); !ok || name != "c" {
		t.Errorf("check violation: %q %v", name, ok)
	}
	if _, ok := IsRateLimited(wrap(RateLimited)); !ok {
		t.Error("rate limit not recognised")
	}
	if Transient(fmt.Errorf("plain")) || Permanent(nil) {
		t.Error("an error without a SQLSTATE was classified")
	}
}
