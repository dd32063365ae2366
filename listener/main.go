// Command flux is Flux's one binary:
//
//	flux migrate [--local] [--seed] [--database-url URL]   apply supabase/migrations
//	flux dev [--data-dir DIR] [--port N]                   run the local stack
//	flux listen [--roles feed,dispatch,http,agents]        the service (configured by environment)
//	flux chat [--user EMAIL] [--conversation ID]           chat as a local user, as the app does
//
// `demo` arrives with the milestone that builds it.
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
      the webhooks, and the agents that answer chat messages. Configured by environment (see .env.example); --roles (or
      FLUX_ROLES) picks what this replica does, so each part can scale on its own.
  flux bench escalation [--tasks N] [--rate R] [--duration D]
      Measure the escalation path (claim, outbox, send, record) on a throwaway database with
      the local fakes; the last line has steps/s and the due-to-dispatch p50/p99.
  flux chat [--user EMAIL] [--conversation ID] [--wait D]
      Chat as a user of the local stack (default alex@demo.flux.local, on DATABASE_URL or
      flux dev's database) exactly as supabase-js through PostgREST would: role
      authenticated with the user's JWT claims. Prints the replies as they arrive.
  flux dev [--data-dir DIR] [--port N]
      Start a private PostgreSQL 15 with pg_cron and logical replication, migrate and seed
      it, print how to connect, and run until interrupted. With DATABASE_URL set, use
      that database instead of starting one.
  flux demo
      The product end to end in about a minute: a throwaway database, the listener, the
      offline agents and fake providers, with the clock warped through three weeks.
      Onboarding, a plan, reminders escalating, a WhatsApp reply, misses turning into a
      pattern, and the analytics, printed as a timeline.
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
