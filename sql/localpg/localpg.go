// Package localpg runs a private PostgreSQL 15 cluster from the Debian binaries: for tests (a
// throwaway cluster in a temporary directory, fsync off) and for `flux dev` (a persistent one).
//
// The cluster is configured as a Supabase database needs: wal_level=logical for the listener's
// change feed, pg_cron preloaded with cron.database_name set. It listens on 127.0.0.1 on a private
// port and on a Unix socket in its own directory, so clusters never collide.
//
// Cleanup does not depend on the caller reaching Stop: the postmaster is started with a parent-death
// signal, so it shuts down when the process that started it dies (a test binary killed by a
// timeout, say), and Start removes the directories of earlier throwaway clusters whose owner is gone.
//
// When the caller is root, initdb and postgres run as the "postgres" OS user: PostgreSQL refuses
// to run as root.
package localpg

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultBinDir is where Debian's postgresql-15 package installs the server binaries.
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

// tempPrefix names the directories of throwaway clusters, so stale ones can be found.
const tempPrefix = "flux-pg-"

// Options configures a cluster. The zero value is a throwaway test cluster.
type Options struct {
	// BinDir holds initdb and postgres. Default: $FLUX_PG_BINDIR, else DefaultBinDir.
	BinDir string
	// DataDir is a persistent data directory, created with initdb when empty. When unset the
	// cluster lives in a fresh temporary directory that Stop removes.
	DataDir string
	// Port on 127.0.0.1. 0 picks a free one.
	Port int
	// Durable keeps fsync on. Throwaway clusters run with fsync off: faster, and nothing to lose.
	Durable bool
	// CronDatabase is cron.database_name, the one database where pg_cron runs jobs.
	// Default "postgres".
	CronDatabase string
	// Settings are extra postgresql.conf parameters.
	Settings map[string]string
}

// Cluster is a running PostgreSQL cluster.
type Cluster struct {
	root      string // temporary root (removed by Stop), or "" for a persistent cluster
	dataDir   string
	socketDir string
	logPath   string
	port      int
	cmd       *exec.Cmd
	exited    chan struct{}
	waitErr   error
	stopOnce  sync.Once
	stopErr   error
}

// BinDir is where the PostgreSQL 15 binaries are: $FLUX_PG_BINDIR, else DefaultBinDir.
func BinDir() string { return cmp.Or(os.Getenv("FLUX_PG_BINDIR"), DefaultBinDir) }

// Start initializes (when needed) and starts a cluster, and returns once it accepts connections.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	binDir := cmp.Or(opts.BinDir, BinDir())
	for _, bin := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(binDir, bin)); err != nil {
			return nil, fmt.Errorf("localpg: %s not found in %s (install postgresql-15: make setup): %w", bin, binDir, err)
		}
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}

	c := &Cluster{exited: make(chan struct{})}
	if opts.DataDir == "" {
		removeStale(os.TempDir())
		c.root, err = os.MkdirTemp("", tempPrefix)
		if err != nil {
			return nil, fmt.Errorf("localpg: create temporary directory: %w", err)
		}
		// Marks whose cluster this is, for removeStale in later runs.
		if err := os.WriteFile(filepath.Join(c.root, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			return nil, c.fail(fmt.Errorf("localpg: %w", err))
		}
		c.dataDir = filepath.Join(c.root, "data")
		c.socketDir = filepath.Join(c.root, "run")
	} else {
		c.dataDir, err = filepath.Abs(opts.DataDir)
		if err != nil {
			return nil, fmt.Errorf("localpg: data directory %q: %w", opts.DataDir, err)
		}
		c.socketDir = filepath.Join(filepath.Dir(c.dataDir), "run")
	}
	c.logPath = filepath.Join(filepath.Dir(c.dataDir), "postgres.log")

	for _, dir := range []string{filepath.Dir(c.dataDir), c.socketDir} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, c.fail(fmt.Errorf("localpg: %w", err))
		}
		if err := chown(dir, cred); err != nil {
			return nil, c.fail(err)
		}
	}

	if _, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := initdb(ctx, binDir, c.dataDir, cred); err != nil {
			return nil, c.fail(err)
		}
	}

	settings := map[string]string{
		"listen_addresses":            "127.0.0.1",
		"unix_socket_directories":     c.socketDir,
		"unix_socket_permissions":     "0777",
		"wal_level":                   "logical",
		"max_wal_senders":             "10",
		"max_replication_slots":       "10",
		"shared_preload_libraries":    "pg_cron",
		"cron.database_name":          cmp.Or(opts.CronDatabase, "postgres"),
		"cron.use_background_workers": "on",
		"max_worker_processes":        "16",
		"max_connections":             "200",
		"timezone":                    "UTC",
		"log_min_messages":            "warning",
	}
	if !opts.Durable {
		// synchronous_commit stays on, as on Supabase: with it off a commit reaches the WAL
		// senders only at the WAL writer's next round (up to 200 ms), which is not what the
		// change feed meets in production. Without fsync the flush costs a write.
		settings["fsync"] = "off"
		settings["full_page_writes"] = "off"
	}
	maps.Copy(settings, opts.Settings)

	// A free port can be taken by someone else between probing and binding: retry a few times.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		c.port = opts.Port
		if c.port == 0 {
			if c.port, err = freePort(); err != nil {
				return nil, c.fail(err)
			}
		}
		settings["port"] = strconv.Itoa(c.port)
		if lastErr = c.launch(ctx, binDir, settings, cred); lastErr == nil {
			return c, nil
		}
		if opts.Port != 0 {
			break
		}
	}
	return nil, c.fail(lastErr)
}

// ConnString is a URL for database db as the superuser "postgres" over TCP on loopback.
func (c *Cluster) ConnString(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// Port is the TCP port on 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// SocketDir is the directory of the cluster's Unix socket.
func (c *Cluster) SocketDir() string { return c.socketDir }

// DataDir is the cluster's data directory.
func (c *Cluster) DataDir() string { return c.dataDir }

// Stop shuts the server down (fast shutdown: open sessions are ended) and, for a throwaway
// cluster, removes its directory. It is safe to call more than once.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		if c.cmd != nil && c.cmd.Process != nil {
			_ = c.cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-c.exited:
			case <-time.After(30 * time.Second):
				_ = c.cmd.Process.Signal(syscall.SIGQUIT) // immediate shutdown
				<-c.exited
			}
		}
		if c.root != "" {
			c.stopErr = os.RemoveAll(c.root)
		}
	})
	return c.stopErr
}

// fail cleans up after a failed Start and returns err.
func (c *Cluster) fail(err error) error {
	_ = c.Stop()
	return err
}

func (c *Cluster) launch(ctx context.Context, binDir string, settings map[string]string, cred *syscall.Credential) error {
	args := []string{"-D", c.dataDir}
	for k, v := range settings {
		args = append(args, "-c", k+"="+v)
	}
	logFile, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("localpg: open server log: %w", err)
	}
	defer logFile.Close()

	cmd := exec.Command(filepath.Join(binDir, "postgres"), args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: cred,
		// SIGQUIT is PostgreSQL's immediate shutdown: it stops with its parent, whatever killed it.
		Pdeathsig: syscall.SIGQUIT,
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("localpg: start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		c.waitErr = cmd.Wait()
		close(exited)
	}()

	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("localpg: postgres exited during startup (%v); log:\n%s", c.waitErr, tail(c.logPath, 20))
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGQUIT)
			<-exited
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		pingCtx, cancel := context.WithTimeout(ctx, time.Second)
		conn, err := pgx.Connect(pingCtx, c.ConnString("postgres"))
		cancel()
		if err == nil {
			_ = conn.Close(ctx)
			c.cmd, c.exited = cmd, exited
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Signal(syscall.SIGQUIT)
			<-exited
			return fmt.Errorf("localpg: postgres not accepting connections after 60s: %v; log:\n%s", err, tail(c.logPath, 20))
		}
	}
}

func initdb(ctx context.Context, binDir, dataDir string, cred *syscall.Credential) error {
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"),
		"-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("localpg: initdb %s: %w\n%s", dataDir, err, out.String())
	}
	return nil
}

// serverCredential is the identity to run the server as: the postgres OS user when we are root,
// else ourselves (nil).
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("localpg: running as root needs the postgres OS user (install postgresql-15): %w", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func chown(path string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	if err := os.Chown(path, int(cred.Uid), int(cred.Gid)); err != nil {
		return fmt.Errorf("localpg: chown %s to postgres: %w", path, err)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("localpg: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// removeStale deletes throwaway clusters left by processes that died before calling Stop. Their
// servers are already down (parent-death signal); only directories remain.
func removeStale(tmp string) {
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		dir := filepath.Join(tmp, e.Name())
		owner, err := os.ReadFile(filepath.Join(dir, "owner.pid"))
		if err != nil {
			continue // being created right now, or not ours
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(owner)))
		if err != nil || alive(pid) {
			continue
		}
		if pm, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid")); err == nil {
			if first, _, _ := strings.Cut(string(pm), "\n"); first != "" {
				if p, err := strconv.Atoi(first); err == nil && alive(p) {
					continue // its server still runs; leave it alone
				}
			}
		}
		_ = os.RemoveAll(dir)
	}
}

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
