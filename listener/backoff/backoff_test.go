package backoff

import (
	"testing"
	"time"
)

func TestDelayDoublesThenCaps(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 2 * time.Second, 2400 * time.Millisecond},
		{2, 4 * time.Second, 4800 * time.Millisecond},
		{4, 16 * time.Second, 19200 * time.Millisecond},
		{30, time.Minute, 72 * time.Second}, // capped, never overflowing
		{0, 2 * time.Second, 2400 * time.Millisecond},
	} {
		for i := 0; i < 50; i++ {
			if d := Delay(2*time.Second, time.Minute, tc.attempt); d < tc.min || d > tc.max {
				t.Fatalf("attempt %d: %v outside [%v, %v]", tc.attempt, d, tc.min, tc.max)
			}
		}
	}
}
