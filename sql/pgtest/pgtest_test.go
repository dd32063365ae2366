package pgtest

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/flux-companion/flux/sql/localpg"
)

func TestMain(m *testing.M) { Main(m) }

// Each test gets its own migrated database: what one writes, another cannot see.
func TestDatabasesAreMigratedAndIsolated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := DB(t), DB(t)
	if a == b {
		t.Fatalf("two tests share %s", a)
	}
	ca, cb := Conn(t, a), Conn(t, b)
	if _, err := ca.Exec(ctx, `insert into auth.users (id, email) values (gen_random_uuid(), 'only-in-a@test.flux.local')`); err != nil {
		t.Fatalf("database is not migrated: %v", err)
	}
	var inA, inB int
	_ = ca.QueryRow(ctx, `select count(*) from public.users`).Scan(&inA)
	_ = cb.QueryRow(ctx, `select count(*) from public.users`).Scan(&inB)
	if inA != 1 || inB != 0 {
		t.Fatalf("users: %d in a, %d in b; want 1 and 0", inA, inB)
	}
}

// With DATABASE_URL the same tests run on an existing server, and leave no database behind.
func TestExistingServerFromDatabaseURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	server, err := localpg.Start(ctx, localpg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Stop() })

	cmd := exec.Command(os.Args[0], "-test.run=^TestDatabasesAreMigratedAndIsolated$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+server.ConnString("postgres"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tests against DATABASE_URL failed: %v\n%s", err, out)
	}

	rows, err := Conn(t, server.ConnString("postgres")).Query(ctx,
		`select datname from pg_database where datname not in ('postgres', 'template0', 'template1')`)
	if err != nil {
		t.Fatal(err)
	}
	left, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Fatalf("databases left on the shared server: %v", left)
	}
}
