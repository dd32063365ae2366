package bench

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// The surface benchmark on a small database: every call is measured, the completed tasks are
// done in the database afterwards, and the last line has the reported form.
func TestRunSurface(t *testing.T) {
	var out bytes.Buffer
	var done, total int
	cfg := SurfaceConfig{Tasks: 2000, Users: 20, Ops: 50, Conns: 2, Out: &out}
	cfg.inspect = func(ctx context.Context, pool *pgxpool.Pool, res SurfaceResult) error {
		if err := pool.QueryRow(ctx, `select count(*) from public.tasks where id = any ($1::uuid[]) and status = 'done'`,
			res.Completed).Scan(&done); err != nil {
			return err
		}
		return pool.QueryRow(ctx, `select count(*) from public.tasks`).Scan(&total)
	}
	res, err := RunSurface(context.Background(), cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	warm := 5 // Ops / 10
	if res.CompleteSamples != 50 || res.OverviewSamples != 50 || len(res.Completed) != 50+warm {
		t.Fatalf("%d completes, %d overviews measured, %d tasks completed; want 50, 50 and %d\n%s",
			res.CompleteSamples, res.OverviewSamples, len(res.Completed), 50+warm, out.String())
	}
	if done != len(res.Completed) || total != 2000 || res.Tasks != 2000 {
		t.Fatalf("%d of %d completed tasks done, %d tasks in the table (reported %d); want all done and 2000\n%s",
			done, len(res.Completed), total, res.Tasks, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; !regexp.MustCompile(`^surface: complete p99 \d+\.\d ms, overview p99 \d+\.\d ms$`).MatchString(last) {
		t.Errorf("last line %q", last)
	}
	t.Log("\n" + out.String())
}
