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

// benchmarks are the bench subcommands: each defines its flags on fs and returns the run they
// configure, which prints its figures to out.
var benchmarks = map[string]func(fs *flag.FlagSet, out io.Writer) func(context.Context) error{
	"escalation": func(fs *flag.FlagSet, out io.Writer) func(context.Context) error {
		cfg := bench.Config{Out: out}
		fs.IntVar(&cfg.Tasks, "tasks", 20000, "tasks due at once in the throughput phase")
		fs.IntVar(&cfg.Users, "users", 1000, "users the tasks belong to")
		fs.IntVar(&cfg.Rate, "rate", 1000, "rungs falling due per second in the latency phase")
		fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "length of the latency phase")
		fs.IntVar(&cfg.Workers, "workers", 32, "dispatch workers")
		fs.BoolVar(&cfg.NoProvider, "no-provider", false, "record WhatsApp rungs as sent without a request to the fake Twilio (the cost of everything but the provider)")
		cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
		return func(ctx context.Context) error {
			if *cpuProfile != "" {
				f, err := os.Create(*cpuProfile)
				if err != nil {
					return fmt.Errorf("cpu profile: %w", err)
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return fmt.Errorf("cpu profile: %w", err)
				}
				defer pprof.StopCPUProfile()
			}
			_, err := bench.Run(ctx, cfg)
			return err
		}
	},
	"chat": func(fs *flag.FlagSet, out io.Writer) func(context.Context) error {
		cfg := bench.ChatConfig{Out: out}
		fs.IntVar(&cfg.Users, "users", 50, "concurrent conversations")
		fs.IntVar(&cfg.Workers, "workers", 8, "conversations the runner answers at once")
		return func(ctx context.Context) error { _, err := bench.RunChat(ctx, cfg); return err }
	},
	"surface": func(fs *flag.FlagSet, out io.Writer) func(context.Context) error {
		cfg := bench.SurfaceConfig{Out: out}
		fs.IntVar(&cfg.Tasks, "tasks", 1000000, "tasks in the database")
		fs.IntVar(&cfg.Users, "users", 2000, "users the tasks belong to")
		fs.IntVar(&cfg.Ops, "ops", 2000, "measured calls of each kind (complete_task, analytics_overview)")
		fs.IntVar(&cfg.Conns, "conns", 4, "concurrent clients")
		return func(ctx context.Context) error { _, err := bench.RunSurface(ctx, cfg); return err }
	},
	"nlu": func(fs *flag.FlagSet, out io.Writer) func(context.Context) error {
		cfg := bench.NLUConfig{Out: out}
		fs.StringVar(&cfg.Corpus, "corpus", "", "corpus file (default: the built-in agentsvc/graph/testdata/nlu_corpus.json)")
		fs.BoolVar(&cfg.Verbose, "verbose", false, "list every entry read wrong")
		return func(context.Context) error { _, err := bench.RunNLU(cfg); return err }
	},
}

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	if len(args) == 0 || benchmarks[args[0]] == nil {
		fmt.Fprintln(stderr, benchUsage)
		return 2
	}
	fs := flag.NewFlagSet("bench "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	run := benchmarks[args[0]](fs, stdout)
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if err := run(ctx); err != nil {
		log.ErrorContext(ctx, "bench failed", "error", err)
		return 1
	}
	return 0
}
