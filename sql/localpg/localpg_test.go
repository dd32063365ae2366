package localpg

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flux-companion/flux/internal/testwait"
)

// TestMain doubles as the helper process TestServerDiesWithItsOwner starts and kills.
func TestMain(m *testing.M) {
	if os.Getenv("LOCALPG_HELPER") == "1" {
		c, err := Start(context.Background(), Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("READY %s %s\n", c.ConnString("postgres"), filepath.Dir(c.DataDir()))
		time.Sleep(2 * time.Minute) // killed long before
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func TestStartConfiguresLikeSupabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := start(t, Options{})

	conn := connect(t, c)
	for setting, want := range map[string]string{
		"wal_level":                "logical",
		"shared_preload_libraries": "pg_cron",
		"cron.database_name":       "postgres",
		"fsync":                    "off",
		"listen_addresses":         "127.0.0.1",
		"server_version_num":       "15",
	} {
		var got string
		if err := conn.QueryRow(ctx, "select current_setting($1)", setting).Scan(&got); err != nil {
			t.Fatalf("%s: %v", setting, err)
		}
		if !strings.HasPrefix(got, want) {
			t.Errorf("%s = %q, want %q", setting, got, want)
		}
	}
	// pg_cron loads and runs in its database; the listener's change feed needs logical slots.
	if _, err := conn.Exec(ctx, "create extension pg_cron"); err != nil {
		t.Fatalf("pg_cron: %v", err)
	}
	if _, err := conn.Exec(ctx, "select pg_create_logical_replication_slot('probe', 'pgoutput', true)"); err != nil {
		t.Fatalf("logical replication slot: %v", err)
	}

	if os.Geteuid() == 0 {
		pg, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(c.DataDir())
		if err != nil {
			t.Fatal(err)
		}
		if uid := strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Uid)); uid != pg.Uid {
			t.Errorf("data directory owned by uid %s, want the postgres user (%s)", uid, pg.Uid)
		}
	}

	root := filepath.Dir(c.DataDir())
	conn.Close(ctx)
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("throwaway cluster directory %s still exists after Stop (err %v)", root, err)
	}
	if _, err := pgx.Connect(ctx, c.ConnString("postgres")); err == nil {
		t.Error("server still accepts connections after Stop")
	}
}

func TestParallelClustersDoNotCollide(t *testing.T) {
	t.Parallel()
	a, b := start(t, Options{}), start(t, Options{})
	if a.Port() == b.Port() || a.SocketDir() == b.SocketDir() {
		t.Fatalf("clusters share a port or socket dir: %d %s / %d %s", a.Port(), a.SocketDir(), b.Port(), b.SocketDir())
	}
}

func TestPersistentDataDirKeepsData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := reachableTempDir(t)
	opts := Options{DataDir: filepath.Join(dir, "data"), Durable: true}

	c, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := connect(t, c).Exec(ctx, "create table kept (v text); insert into kept values ('still here')"); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "PG_VERSION")); err != nil {
		t.Fatalf("Stop removed a persistent data directory: %v", err)
	}

	conn := connect(t, start(t, opts))
	var v string
	if err := conn.QueryRow(ctx, "select v from kept").Scan(&v); err != nil || v != "still here" {
		t.Fatalf("after restart: %q, %v", v, err)
	}
	var fsync string
	_ = conn.QueryRow(ctx, "show fsync").Scan(&fsync)
	if fsync != "on" {
		t.Errorf("durable cluster runs with fsync=%s", fsync)
	}
}

// TestServerDiesWithItsOwner kills a process that started a cluster, as a test timeout or a
// crash would, and checks that the server goes down with it and its directory is swept.
func TestServerDiesWithItsOwner(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "LOCALPG_HELPER=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var url, root string
	scanner := bufio.NewScanner(out)
	for scanner.Scan() {
		if f := strings.Fields(scanner.Text()); len(f) == 3 && f[0] == "READY" {
			url, root = f[1], f[2]
			break
		}
	}
	if url == "" {
		_ = cmd.Process.Kill()
		t.Fatalf("helper never reported a running cluster (scan err %v)", scanner.Err())
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("helper's cluster not reachable: %v", err)
	}
	conn.Close(ctx)

	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred cleanup runs
		t.Fatal(err)
	}
	_ = cmd.Wait()

	// Liveness bound, not a performance assertion: an immediate shutdown takes well under a second.
	testwait.For(t, "the server to stop after its owner was killed", func() bool {
		c, err := pgx.Connect(ctx, url)
		if err == nil {
			c.Close(ctx)
		}
		return err != nil
	})
	testwait.For(t, "the postmaster to remove its pid file", func() bool { // as it exits
		_, err := os.Stat(filepath.Join(root, "data", "postmaster.pid"))
		return errors.Is(err, os.ErrNotExist)
	})
	removeStale(filepath.Dir(root))
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale cluster directory %s not swept: %v", root, err)
	}
}

func TestStartFailsClearlyWithoutBinaries(t *testing.T) {
	t.Parallel()
	_, err := Start(context.Background(), Options{BinDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "initdb not found") {
		t.Fatalf("err = %v, want a clear 'initdb not found'", err)
	}
}

// start starts a cluster, stopped when the test ends.
func start(t *testing.T, opts Options) *Cluster {
	t.Helper()
	c, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	return c
}

// connect opens a connection to c's postgres database, closed when the test ends.
func connect(t *testing.T, c *Cluster) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), c.ConnString("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// reachableTempDir is a temporary directory the postgres OS user can enter (t.TempDir's parent
// is private to us, which matters when the server runs as postgres).
func reachableTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "localpg-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}
