package pgtest

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/flux-companion/flux/sql/localpg"
	"github.com/flux-companion/flux/sql/migrate"
)

// Restartable is a migrated cluster of a test's own that it can stop and start again on the
// same address and data: for restarting PostgreSQL under a component. Its database is
// "postgres".
type Restartable struct {
	t       testing.TB
	opts    localpg.Options
	cluster *localpg.Cluster
}

// NewRestartable starts and migrates a cluster, removed when the test ends.
func NewRestartable(t testing.TB) *Restartable {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgtest-restartable-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o755) // the server may run as the postgres OS user
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	r := &Restartable{t: t, opts: localpg.Options{DataDir: filepath.Join(dir, "data")}}
	r.Start()
	r.opts.Port = r.cluster.Port() // come back on the same address
	t.Cleanup(func() { _ = r.cluster.Stop() })
	quiet := slog.New(slog.DiscardHandler)
	if _, err := migrate.Up(context.Background(), r.URL(), migrate.Options{Local: true, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	return r
}

// URL of the cluster's postgres database.
func (r *Restartable) URL() string { return r.cluster.ConnString("postgres") }

// Stop shuts the server down (fast shutdown: sessions are ended).
func (r *Restartable) Stop() {
	r.t.Helper()
	if err := r.cluster.Stop(); err != nil {
		r.t.Fatal(err)
	}
}

// Start starts the server (again).
func (r *Restartable) Start() {
	r.t.Helper()
	c, err := localpg.Start(context.Background(), r.opts)
	if err != nil {
		r.t.Fatal(err)
	}
	r.cluster = c
}
