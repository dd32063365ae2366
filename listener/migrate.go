package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/flux-companion/flux/sql/migrate"
	"github.com/flux-companion/flux/supabase"
)

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	local := fs.Bool("local", false, "install the local bootstrap first (plain PostgreSQL only)")
	seed := fs.Bool("seed", false, "load the demo seed after migrating")
	url := fs.String("database-url", os.Getenv("DATABASE_URL"), "database to migrate (default $DATABASE_URL)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *url == "" {
		fmt.Fprintln(stderr, "flux migrate: no database: set DATABASE_URL or pass --database-url")
		return 2
	}
	version, err := migrate.Up(ctx, *url, migrate.Options{Local: *local, Logger: log})
	if err != nil {
		log.ErrorContext(ctx, "migrate failed", "error", err)
		return 1
	}
	if *seed {
		if err := migrate.Seed(ctx, *url, supabase.Seed); err != nil {
			log.ErrorContext(ctx, "seed failed", "error", err)
			return 1
		}
		log.InfoContext(ctx, "seed loaded")
	}
	fmt.Fprintf(stdout, "migrated to version %d\n", version)
	return 0
}
