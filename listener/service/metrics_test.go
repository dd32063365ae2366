package service_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flux-companion/flux/internal/testwait"
	"github.com/flux-companion/flux/listener/service"
	"github.com/flux-companion/flux/sql/pgtest"
)

// With a metrics address, /metrics leaves the public port (where Twilio and browsers reach the
// service) for its own.
func TestMetricsOnTheirOwnAddress(t *testing.T) {
	t.Parallel()
	pub, pubURL := listen(t)
	priv, privURL := listen(t)
	runService(t, service.Config{
		DatabaseURL: pgtest.DB(t), Listener: pub, MetricsListener: priv, PublicBaseURL: pubURL,
		DisableFeed: true, DisableDispatch: true,
	})
	get := func(u string) (int, string) {
		t.Helper()
		var resp *http.Response
		var err error
		if !testwait.Until(10*time.Second, func() bool { resp, err = http.Get(u); return err == nil }) {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(privURL + "/metrics"); code != 200 || !strings.Contains(body, "flux_outbox_pending") {
		t.Fatalf("metrics address: %d %.200s", code, body)
	}
	if code, _ := get(pubURL + "/metrics"); code != 404 {
		t.Fatalf("public port still serves /metrics: %d", code)
	}
	if code, _ := get(pubURL + "/healthz"); code != 200 {
		t.Fatalf("healthz on the public port: %d", code)
	}
}

// What the alerting rules watch is on /metrics: the slot (its wal_status, the WAL it keeps, its
// confirmed lag), the agent runs waiting, and each Flux pg_cron job's latest run.
func TestOperatorMetrics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewRestartable(t) // its own cluster: pg_cron runs there, in "postgres"
	url := db.URL()
	pool := pgtest.PoolOn(t, url)
	for _, q := range []string{
		`with u as (insert into auth.users (id, email) values (gen_random_uuid(), 'ops@test.flux.local') returning id),
		      c as (insert into public.conversations (user_id) select id from u returning id, user_id)
		 insert into public.messages (conversation_id, user_id, role, content) select id, user_id, 'user', 'hi' from c`,
		// A failed run of the nightly purge, as pg_cron records one.
		`insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status, return_message, start_time, end_time)
		 select jobid, 1, 1, 'postgres', 'postgres', command, 'failed', 'ERROR: disk full', now() - interval '1 minute', now()
		 from cron.job where jobname = 'flux-outbox-purge'`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	ln, base := listen(t)
	runService(t, service.Config{ // no agents: the message waits
		DatabaseURL: url, Listener: ln, PublicBaseURL: base, DisableDispatch: true, Slot: "ops_slot",
	})
	want := []string{
		`flux_replication_slot_status{slot="ops_slot",status="reserved"} 1`,
		`flux_replication_slot_status{slot="ops_slot",status="lost"} 0`,
		`flux_replication_slot_retained_bytes{slot="ops_slot"} `,
		`flux_replication_slot_confirmed_lag_bytes{slot="ops_slot"} `,
		`flux_agent_runs_waiting 1`,
		`flux_cron_job_last_run_succeeded{job="flux-outbox-purge"} 0`,
	}
	var body string
	testwait.Until(testwait.Timeout, func() bool {
		if resp, err := http.Get(base + "/metrics"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				return false
			}
		}
		return true
	})
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
}
