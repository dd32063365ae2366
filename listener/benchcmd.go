package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"time"

	"github.com/flux-companion/flux/listener/bench"
)

const benchUsage = `usage: flux bench escalation [--tasks N] [--users U] [--rate R] [--duration D] [--workers W] [--no-provider] [--cpuprofile FILE]
       flux bench chat [--users U] [--workers W]
       flux bench surface [--tasks N] [--users U] [--ops N] [--conns C]
       flux bench nlu [--corpus FILE] [--verbose]`

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	if len(args) > 0 && args[0] == "chat" {
		return benchChat(ctx, args[1:], stdout, stderr, log)
	}
	if len(args) > 0 && args[0] == "surface" {
		return benchSurface(ctx, args[1:], stdout, stderr, log)
	}
	if len(args) > 0 && args[0] == "nlu" {
		return benchNLU(ctx, args[1:], stdout, stderr, log)
	}
	if len(args) == 0 || args[0] != "escalation" {
		fmt.Fprintln(stderr, benchUsage)
		return 2
	}
	fs := flag.NewFlagSet("bench escalation", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg bench.Config
	fs.IntVar(&cfg.Tasks, "tasks", 20000, "tasks due at once in the throughput phase")
	fs.IntVar(&cfg.Users, "users", 1000, "users the tasks belong to")
	fs.IntVar(&cfg.Rate, "rate", 1000, "rungs falling due per second in the latency phase")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "length of the latency phase")
	fs.IntVar(&cfg.Workers, "workers", 32, "dispatch workers")
	fs.BoolVar(&cfg.NoProvider, "no-provider", false, "record WhatsApp rungs as sent without a request to the fake Twilio (the cost of everything but the provider)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	cfg.Out = stdout
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.ErrorContext(ctx, "bench: cpu profile", "error", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			log.ErrorContext(ctx, "bench: cpu profile", "error", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if _, err := bench.Run(ctx, cfg); err != nil {
		log.ErrorContext(ctx, "bench failed", "error", err)
		return 1
	}
	return 0
}

func benchChat(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	fs := flag.NewFlagSet("bench chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg bench.ChatConfig
	fs.IntVar(&cfg.Users, "users", 50, "concurrent conversations")
	fs.IntVar(&cfg.Workers, "workers", 8, "conversations the runner answers at once")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg.Out = stdout
	if _, err := bench.RunChat(ctx, cfg); err != nil {
		log.ErrorContext(ctx, "bench failed", "error", err)
		return 1
	}
	return 0
}

func benchSurface(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	fs := flag.NewFlagSet("bench surface", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg bench.SurfaceConfig
	fs.IntVar(&cfg.Tasks, "tasks", 1000000, "tasks in the database")
	fs.IntVar(&cfg.Users, "users", 2000, "users the tasks belong to")
	fs.IntVar(&cfg.Ops, "ops", 2000, "measured calls of each kind (complete_task, analytics_overview)")
	fs.IntVar(&cfg.Conns, "conns", 4, "concurrent clients")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg.Out = stdout
	if _, err := bench.RunSurface(ctx, cfg); err != nil {
		log.ErrorContext(ctx, "bench failed", "error", err)
		return 1
	}
	return 0
}

func benchNLU(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	fs := flag.NewFlagSet("bench nlu", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg bench.NLUConfig
	fs.StringVar(&cfg.Corpus, "corpus", "", "corpus file (default: the built-in agentsvc/graph/testdata/nlu_corpus.json)")
	fs.BoolVar(&cfg.Verbose, "verbose", false, "list every entry read wrong")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg.Out = stdout
	if _, err := bench.RunNLU(cfg); err != nil {
		log.ErrorContext(ctx, "bench failed", "error", err)
		return 1
	}
	return 0
}
