// Command flux is Flux's one binary: the service (listen), its migrations (migrate), the local
// stack (dev), a terminal chat client (chat), the end-to-end demo (demo), benchmarks (bench)
// and a VAPID key generator (vapid). The usage text below is the reference; the README and
// .env.example are checked against it (docs_test.go).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `flux: Flux's backend service and tools.

Usage:
  flux migrate [--local] [--seed] [--database-url URL]
      Apply the migrations to DATABASE_URL. --local first installs the local bootstrap
      (roles, auth schema) on a plain PostgreSQL; it is refused on a Supabase project.
      --seed loads supabase/seed.sql (the two demo users) afterwards.
  flux listen [--roles feed,dispatch,http,agents]
      Run the service: the change feed, escalation timers, dispatch to Twilio and Web Push,
      the webhooks, and the agents that answer chat messages. Configured by environment (see
      .env.example); --roles (or FLUX_ROLES) picks what this replica does, so each part can
      scale on its own.
  flux dev [--data-dir DIR] [--port N] [--http-addr ADDR]
      Start a private PostgreSQL 15 with pg_cron and logical replication, migrate and seed
      it, run the listener with local fakes of Twilio and Web Push (their traffic is printed
      as it happens), print how to connect, and run until interrupted. With DATABASE_URL
      set, use that database instead of starting one.
  flux chat [--user EMAIL | --new-user] [--conversation ID] [--wait D] [--database-url URL]
      Chat as a user of the local stack (default alex@demo.flux.local, on DATABASE_URL or
      flux dev's database) exactly as supabase-js through PostgREST would: role
      authenticated with the user's JWT claims. --new-user signs up a new user first, who
      meets onboarding. Prints the replies as they arrive.
  flux demo
      The product end to end in seconds: a throwaway database, the listener, the offline
      agents and fake providers, with the clock warped through three weeks. Onboarding, a
      plan, reminders escalating, a WhatsApp reply, misses turning into a pattern, and the
      analytics, printed as a timeline.
  flux bench escalation [--tasks N] [--users U] [--rate R] [--duration D] [--workers W] [--no-provider] [--cpuprofile FILE]
  flux bench chat [--users U] [--workers W]
  flux bench surface [--tasks N] [--users U] [--ops N] [--conns C]
  flux bench nlu [--corpus FILE] [--verbose]
      Measure the escalation path (claim, outbox, send, record), chat turns, or the API's
      hot RPCs on a throwaway database with the local fakes; each prints its medians and
      p99 and the machine it ran on. bench nlu reads a corpus of what people type (default
      the built-in one) with the offline assistant and prints the share read exactly right.
  flux vapid
      Print a new VAPID key pair (VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY) for Web Push. Make it
      once per deployment and keep it: browsers subscribe against the public key.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: tests call it with their own arguments and writers.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	log := newLogger(stderr)
	switch args[0] {
	case "migrate":
		return cmdMigrate(ctx, args[1:], stdout, stderr, log)
	case "dev":
		return cmdDev(ctx, args[1:], stdout, stderr, log)
	case "listen":
		return cmdListen(ctx, args[1:], stderr, log)
	case "chat":
		return cmdChat(ctx, args[1:], os.Stdin, stdout, stderr)
	case "bench":
		return cmdBench(ctx, args[1:], stdout, stderr, log)
	case "demo":
		return cmdDemo(ctx, args[1:], stdout, stderr, log)
	case "vapid":
		return cmdVAPID(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "flux: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

// newLogger writes JSON lines; run_id correlates every line of one invocation.
func newLogger(w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if os.Getenv("FLUX_LOG_LEVEL") == "debug" {
		level = slog.LevelDebug
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})).With("run_id", hex.EncodeToString(b[:]))
}
