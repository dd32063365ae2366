// Package backoff is the one retry delay of the listener: exponential, capped, jittered.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Delay is base doubled for each attempt after the first (attempt is 1-based), capped at limit,
// plus up to 20% jitter so a burst of failures does not come back as a burst.
func Delay(base, limit time.Duration, attempt int) time.Duration {
	wait := base << min(max(attempt-1, 0), 30)
	if wait <= 0 || wait > limit {
		wait = limit
	}
	return wait + time.Duration(rand.Int64N(int64(wait)/5+1))
}
