// Package testwait polls, in tests, for something that happens in the background: a row a
// service writes, a request a fake receives. It imports nothing from this module, so every
// package's tests can use it.
package testwait

import (
	"testing"
	"time"
)

// Timeout is how long For waits: long enough for a loaded CI machine, and only spent when a
// test is failing anyway.
const Timeout = 30 * time.Second

// Interval is the pause between two polls.
const Interval = 10 * time.Millisecond

// For polls cond until it holds, and fails the test, naming what it waited for, if it still
// does not after Timeout. cond runs on the test's goroutine, so it may call t.Fatal.
func For(t testing.TB, what string, cond func() bool) {
	t.Helper()
	Within(t, Timeout, what, cond)
}

// Within is For with a timeout of the caller's.
func Within(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Until(timeout, cond) {
		t.Fatalf("still waiting after %v for %s", timeout, what)
	}
}

// Until polls cond until it holds or timeout has passed, and reports whether it held: for a
// caller that has more to say than For when it fails.
func Until(timeout time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(Interval) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}
