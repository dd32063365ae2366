package account_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flux-companion/flux/listener/account"
	"github.com/flux-companion/flux/sql/migrate"
	"github.com/flux-companion/flux/sql/pgtest"
	"github.com/flux-companion/flux/supabase"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	alex = uuid.MustParse("11111111-1111-4111-8111-111111111111")
	sam  = uuid.MustParse("22222222-2222-4222-8222-222222222222")
)

// seeded returns a pool on a fresh database with the demo seed, where both demo users have at
// least one row in every user table.
func seeded(t *testing.T) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	url := pgtest.DB(t)
	if err := migrate.Seed(ctx, url, supabase.Seed); err != nil {
		t.Fatal(err)
	}
	pool := pgtest.PoolOn(t, url)
	for _, u := range []uuid.UUID{alex, sam} {
		fillEveryTable(t, pool, u)
	}
	return pool
}

type userTable struct{ schema, name, owner string }

func (u userTable) String() string { return u.schema + "." + u.name }

// userTables is the test's own oracle, independent of the package's catalog query: the rule of
// tests.user_tables() in the pgTAP suite, restricted to uuid columns.
func userTables(t *testing.T, pool *pgxpool.Pool) []userTable {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		select c.table_schema, c.table_name, c.column_name
		from information_schema.columns c
		join information_schema.tables t using (table_schema, table_name)
		where t.table_type = 'BASE TABLE' and c.data_type = 'uuid'
		  and c.table_schema in ('public', 'flux')
		  and (c.column_name = 'user_id' or (c.table_schema = 'public' and c.table_name = 'users' and c.column_name = 'id'))
		order by 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (userTable, error) {
		var u userTable
		return u, r.Scan(&u.schema, &u.name, &u.owner)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 11 {
		t.Fatalf("catalog lists only %d user tables: %v", len(out), out)
	}
	return out
}

// counts is the user's rows per user table, plus auth.users.
func counts(t *testing.T, pool *pgxpool.Pool, user uuid.UUID) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	out := map[string]int64{}
	for _, u := range userTables(t, pool) {
		var n int64
		q := fmt.Sprintf(`select count(*) from %q.%q where %q = $1`, u.schema, u.name, u.owner)
		if err := pool.QueryRow(ctx, q, user).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[u.String()] = n
	}
	var n int64
	if err := pool.QueryRow(ctx, `select count(*) from auth.users where id = $1`, user).Scan(&n); err != nil {
		t.Fatal(err)
	}
	out["auth.users"] = n
	return out
}

// fixtures give a user a minimal row in a table the seed left empty for them. Run as the
// superuser (the tables are closed to the API roles). $1: the user.
var fixtures = map[string]string{
	"flux.agent_state": `insert into flux.agent_state (thread_id, user_id)
		select thread_id, user_id from public.conversations where user_id = $1 on conflict do nothing`,
	"flux.agent_runs": `insert into flux.agent_runs (message_id, conversation_id, user_id, status)
		select id, conversation_id, user_id, 'done' from public.messages where user_id = $1 on conflict do nothing`,
	"flux.rate_counters": `insert into flux.rate_counters (user_id, action, window_start, hits)
		values ($1, 'test', date_trunc('minute', now()), 1) on conflict do nothing`,
	"public.patterns": `insert into public.patterns (user_id, pattern_type, description, confidence)
		values ($1, 'completion_streak', 'test pattern', 0.5)`,
	"public.push_subscriptions": `insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
		values ($1, 'https://push.example.invalid/' || $1::text, repeat('B', 87), repeat('a', 22))`,
}

func fillEveryTable(t *testing.T, pool *pgxpool.Pool, user uuid.UUID) {
	t.Helper()
	for name, n := range counts(t, pool, user) {
		if n > 0 || name == "auth.users" {
			continue
		}
		sql, ok := fixtures[name]
		if !ok {
			t.Fatalf("precondition: %s has no row of %s and the test has no fixture for it", user, name)
		}
		if _, err := pool.Exec(context.Background(), sql, user); err != nil {
			t.Fatalf("fixture %s: %v", name, err)
		}
	}
	for name, n := range counts(t, pool, user) {
		if n == 0 {
			t.Fatalf("precondition: %s has no row of %s: the test would prove nothing there", user, name)
		}
	}
}

// addReceipts stores webhook receipts for n of the user's tasks and returns those task ids.
func addReceipts(t *testing.T, pool *pgxpool.Pool, user uuid.UUID, n int) []uuid.UUID {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		insert into flux.webhook_receipts (provider_sid, task_id, response)
		select 'SM' || replace(t.id::text, '-', ''), t.id, 'done'
		from (select id from public.tasks k where user_id = $1
		      -- tasks without receipts of their own (the seed answers some), so counts are exact
		      and not exists (select 1 from flux.webhook_receipts r where r.task_id = k.id)
		      order by id limit $2) t
		returning task_id`, user, n)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != n {
		t.Fatalf("receipts for %d tasks of %s, want %d", len(ids), user, n)
	}
	return ids
}

func receiptsFor(t *testing.T, pool *pgxpool.Pool, tasks []uuid.UUID) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(),
		`select count(*) from flux.webhook_receipts where task_id = any($1)`, tasks).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var fixedNow = time.Date(2026, 11, 30, 8, 15, 0, 0, time.UTC)

func service(pool *pgxpool.Pool, admin account.Admin, logs io.Writer) *account.Service {
	if logs == nil {
		logs = io.Discard
	}
	return &account.Service{DB: pool, Admin: admin, Log: slog.New(slog.NewJSONHandler(logs, nil)),
		Now: func() time.Time { return fixedNow }}
}

// unzip returns the archive's files by name.
func unzip(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := out[f.Name]; dup {
			t.Fatalf("%s twice in the archive", f.Name)
		}
		out[f.Name] = data
	}
	return out
}

func TestExport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := seeded(t)
	addReceipts(t, pool, alex, 2)
	addReceipts(t, pool, sam, 1)
	svc := service(pool, nil, nil)

	check := func(t *testing.T, user, other uuid.UUID) {
		var buf bytes.Buffer
		m, err := svc.Export(ctx, user, &buf)
		if err != nil {
			t.Fatal(err)
		}
		files := unzip(t, buf.Bytes())
		want := counts(t, pool, user)
		delete(want, "auth.users")

		for _, tb := range userTables(t, pool) {
			name := tb.String() + ".json"
			data, ok := files[name]
			if !ok {
				t.Errorf("%s missing", name)
				continue
			}
			var rows []map[string]any
			if err := json.Unmarshal(data, &rows); err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if int64(len(rows)) != want[tb.String()] {
				t.Errorf("%s: %d rows, database has %d", name, len(rows), want[tb.String()])
			}
			for i, r := range rows {
				if r[tb.owner] != user.String() {
					t.Errorf("%s row %d: %s = %v, want %s", name, i, tb.owner, r[tb.owner], user)
				}
			}
		}

		var receipts []map[string]any
		if err := json.Unmarshal(files["flux.webhook_receipts.json"], &receipts); err != nil {
			t.Fatalf("flux.webhook_receipts.json: %v", err)
		}
		var tasks int64
		for _, r := range receipts {
			var n int64
			if err := pool.QueryRow(ctx, `select count(*) from public.tasks where id = $1 and user_id = $2`,
				r["task_id"], user).Scan(&n); err != nil {
				t.Fatal(err)
			}
			tasks += n
		}
		if tasks != int64(len(receipts)) || len(receipts) == 0 {
			t.Errorf("receipts: %d exported, %d of them of the user's tasks", len(receipts), tasks)
		}

		for name, data := range files {
			if bytes.Contains(data, []byte(other.String())) {
				t.Errorf("%s contains the other user's id %s", name, other)
			}
		}

		var manifest account.Manifest
		if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil {
			t.Fatalf("manifest.json: %v", err)
		}
		if manifest.UserID != user || !manifest.ExportedAt.Equal(fixedNow) {
			t.Errorf("manifest: user %s at %s", manifest.UserID, manifest.ExportedAt)
		}
		if len(manifest.Tables) != len(files)-1 || len(m.Tables) != len(manifest.Tables) {
			t.Errorf("manifest lists %d tables (returned %d), archive holds %d table files",
				len(manifest.Tables), len(m.Tables), len(files)-1)
		}
		for name, n := range manifest.Tables {
			if _, ok := files[name+".json"]; !ok {
				t.Errorf("manifest lists %s, no file", name)
			}
			if m.Tables[name] != n {
				t.Errorf("manifest.json %s: %d, returned manifest %d", name, n, m.Tables[name])
			}
			if w, ok := want[name]; ok && int64(n) != w {
				t.Errorf("manifest %s: %d, database %d", name, n, w)
			}
		}
		if manifest.Tables["flux.webhook_receipts"] != len(receipts) {
			t.Errorf("manifest receipts %d, file %d", manifest.Tables["flux.webhook_receipts"], len(receipts))
		}
	}
	t.Run("alex", func(t *testing.T) { check(t, alex, sam) })
	t.Run("sam", func(t *testing.T) { check(t, sam, alex) })

	t.Run("unknown user", func(t *testing.T) {
		var buf bytes.Buffer
		_, err := svc.Export(ctx, uuid.New(), &buf)
		if !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
		if buf.Len() != 0 {
			t.Errorf("%d bytes written for an unknown user", buf.Len())
		}
	})
}

// A table added later (here without even the foreign key) is exported and erased with no code
// change.
func TestNewTableIsCovered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := seeded(t)
	if _, err := pool.Exec(ctx, `create table public.later_notes (id serial primary key, user_id uuid not null, note text)`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `insert into public.later_notes (user_id, note) values ($1, 'a'), ($1, 'b'), ($2, 'c')`, alex, sam); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	svc := service(pool, nil, &logs)

	var buf bytes.Buffer
	m, err := svc.Export(ctx, alex, &buf)
	if err != nil {
		t.Fatal(err)
	}
	var notes []map[string]any
	if err := json.Unmarshal(unzip(t, buf.Bytes())["public.later_notes.json"], &notes); err != nil {
		t.Fatal(err)
	}
	if len(notes) != 2 || m.Tables["public.later_notes"] != 2 || notes[0]["note"] != "a" {
		t.Fatalf("later_notes exported as %v (manifest %d)", notes, m.Tables["public.later_notes"])
	}

	if err := svc.Delete(ctx, alex); err != nil {
		t.Fatal(err)
	}
	if c := counts(t, pool, alex)["public.later_notes"]; c != 0 {
		t.Errorf("%d later_notes of Alex remain", c)
	}
	if c := counts(t, pool, sam)["public.later_notes"]; c != 1 {
		t.Errorf("Sam has %d later_notes, want 1", c)
	}
	if !strings.Contains(logs.String(), `"public.later_notes":2`) {
		t.Errorf("the sweep is not logged: %s", logs.String())
	}
}

// Rows that survive the cascade and the sweep make Delete fail, naming the table.
func TestDeleteReportsLeftovers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := seeded(t)
	for _, q := range []string{
		`create table flux.stubborn (user_id uuid not null)`,
		`create function flux.keep_row() returns trigger language plpgsql as $$ begin return null; end $$`,
		`create trigger keep before delete on flux.stubborn for each row execute function flux.keep_row()`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `insert into flux.stubborn values ($1)`, alex); err != nil {
		t.Fatal(err)
	}
	err := service(pool, nil, nil).Delete(ctx, alex)
	if err == nil || !strings.Contains(err.Error(), "flux.stubborn (1)") {
		t.Fatalf("Delete with a row that cannot be deleted: %v, want an error naming flux.stubborn", err)
	}
	if strings.Contains(err.Error(), "public.") {
		t.Errorf("error names tables that were erased: %v", err)
	}
}

// assertErased checks that nothing of the user remains, their receipts included, and that the
// other user kept everything.
func assertErased(t *testing.T, pool *pgxpool.Pool, user uuid.UUID, tasks []uuid.UUID, other map[string]int64, otherUser uuid.UUID) {
	t.Helper()
	for name, n := range counts(t, pool, user) {
		if n != 0 {
			t.Errorf("%s: %d rows of %s remain", name, n, user)
		}
	}
	if n := receiptsFor(t, pool, tasks); n != 0 {
		t.Errorf("%d webhook receipts of the erased user's tasks remain", n)
	}
	after := counts(t, pool, otherUser)
	for name, n := range other {
		if after[name] != n {
			t.Errorf("other user's %s: %d rows, had %d", name, after[name], n)
		}
	}
}

func TestDeleteLocal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := seeded(t)
	alexTasks := addReceipts(t, pool, alex, 2)
	samTasks := addReceipts(t, pool, sam, 1)
	samBefore, alexBefore := counts(t, pool, sam), counts(t, pool, alex)
	var logs bytes.Buffer
	svc := service(pool, nil, &logs)

	if err := svc.Delete(ctx, alex); err != nil {
		t.Fatal(err)
	}
	assertErased(t, pool, alex, alexTasks, samBefore, sam)
	if n := receiptsFor(t, pool, samTasks); n != 1 {
		t.Errorf("Sam's receipts: %d, want 1", n)
	}

	// The log says what went, with counts, and nothing that identifies the person.
	var entry struct {
		Msg    string           `json:"msg"`
		UserID string           `json:"user_id"`
		Via    string           `json:"via"`
		Rows   int64            `json:"rows"`
		Tables map[string]int64 `json:"tables"`
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
	}
	if entry.Msg != "account erased" || entry.UserID != alex.String() || entry.Via != "database" ||
		entry.Tables["public.tasks"] == 0 || entry.Tables["flux.webhook_receipts"] != alexBefore["flux.webhook_receipts"] || entry.Rows == 0 {
		t.Errorf("log: %s", logs.String())
	}
	for _, pii := range []string{"alex@demo.flux.local", "+447700900123", "Alex"} {
		if strings.Contains(logs.String(), pii) {
			t.Errorf("log contains %q", pii)
		}
	}

	if err := svc.Delete(ctx, alex); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	if _, err := svc.Export(ctx, alex, io.Discard); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("Export after Delete: %v, want ErrNotFound", err)
	}
	assertErased(t, pool, alex, alexTasks, samBefore, sam)
}

// fakeGoTrue is GoTrue's admin user deletion on the test database.
type fakeGoTrue struct {
	t    *testing.T
	pool *pgxpool.Pool
	key  string

	mu   sync.Mutex
	mode string // "ok", "fail" (500, nothing deleted), "lost" (deletes, then answers 500)
	reqs atomic.Int32
}

func (f *fakeGoTrue) setMode(m string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode = m
}

func (f *fakeGoTrue) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.reqs.Add(1)
	f.mu.Lock()
	mode := f.mode
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+f.key || r.Header.Get("apikey") != f.key {
		http.Error(w, `{"code":401,"msg":"invalid JWT"}`, http.StatusUnauthorized)
		return
	}
	id, ok := strings.CutPrefix(r.URL.Path, "/auth/v1/admin/users/")
	if r.Method != http.MethodDelete || !ok {
		http.Error(w, `{"code":404,"msg":"no route"}`, http.StatusNotFound)
		return
	}
	if mode == "fail" {
		http.Error(w, `{"code":500,"msg":"Database error deleting user"}`, http.StatusInternalServerError)
		return
	}
	tag, err := f.pool.Exec(r.Context(), `delete from auth.users where id = $1`, id)
	if err != nil {
		f.t.Errorf("fake GoTrue: %v", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	switch {
	case mode == "lost":
		http.Error(w, `{"code":502,"msg":"upstream timed out"}`, http.StatusBadGateway)
	case tag.RowsAffected() == 0:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"code":404,"error_code":"user_not_found","msg":"User not found"}`)
	default:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{}`)
	}
}

const serviceKey = "test-service-role-key"

func newFake(t *testing.T, pool *pgxpool.Pool, mode string) (*fakeGoTrue, account.Admin) {
	t.Helper()
	f := &fakeGoTrue{t: t, pool: pool, key: serviceKey, mode: mode}
	srv := httptest.NewServer(f) // 127.0.0.1
	t.Cleanup(srv.Close)
	admin, err := account.NewGoTrueAdmin(srv.URL, serviceKey, &http.Client{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return f, admin
}

func TestDeleteGoTrue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("erases everything in one admin call", func(t *testing.T) {
		t.Parallel()
		pool := seeded(t)
		alexTasks := addReceipts(t, pool, alex, 2)
		addReceipts(t, pool, sam, 1)
		samBefore := counts(t, pool, sam)
		fake, admin := newFake(t, pool, "ok")
		svc := service(pool, admin, nil)

		if err := svc.Delete(ctx, alex); err != nil {
			t.Fatal(err)
		}
		if n := fake.reqs.Load(); n != 1 {
			t.Errorf("fake GoTrue saw %d requests, want 1", n)
		}
		assertErased(t, pool, alex, alexTasks, samBefore, sam)
	})

	t.Run("failure keeps the rows, a retry finishes", func(t *testing.T) {
		t.Parallel()
		pool := seeded(t)
		alexTasks := addReceipts(t, pool, alex, 2)
		before := counts(t, pool, alex)
		samBefore := counts(t, pool, sam)
		fake, admin := newFake(t, pool, "fail")
		svc := service(pool, admin, nil)

		if err := svc.Delete(ctx, alex); err == nil || !strings.Contains(err.Error(), "500") {
			t.Fatalf("Delete with GoTrue failing: %v, want an error with the status", err)
		}
		after := counts(t, pool, alex)
		for name, n := range before {
			if after[name] != n {
				t.Errorf("after a failed delete %s has %d rows, had %d", name, after[name], n)
			}
		}

		fake.setMode("ok")
		if err := svc.Delete(ctx, alex); err != nil {
			t.Fatalf("retry: %v", err)
		}
		assertErased(t, pool, alex, alexTasks, samBefore, sam)
		if n := fake.reqs.Load(); n != 2 {
			t.Errorf("fake GoTrue saw %d requests, want 2", n)
		}
	})

	t.Run("a lost answer, then 404 on retry, is success", func(t *testing.T) {
		t.Parallel()
		pool := seeded(t)
		alexTasks := addReceipts(t, pool, alex, 2)
		samBefore := counts(t, pool, sam)
		fake, admin := newFake(t, pool, "lost")
		svc := service(pool, admin, nil)

		if err := svc.Delete(ctx, alex); err == nil {
			t.Fatal("Delete succeeded though GoTrue answered 502")
		}
		fake.setMode("ok")
		if err := svc.Delete(ctx, alex); err != nil {
			t.Fatalf("retry after the user was deleted (404): %v", err)
		}
		assertErased(t, pool, alex, alexTasks, samBefore, sam)
	})
}

func TestGoTrueAdmin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	if _, err := account.NewGoTrueAdmin("https://x.supabase.co", "", nil); err == nil {
		t.Error("no service key accepted")
	}
	for _, bad := range []string{"", "x.supabase.co", "ftp://x.supabase.co", "https://"} {
		if _, err := account.NewGoTrueAdmin(bad, serviceKey, nil); err == nil {
			t.Errorf("base URL %q accepted", bad)
		}
	}

	var mu sync.Mutex
	var paths []string
	status, body := http.StatusNotFound, `{"code":404,"error_code":"user_not_found","msg":"User not found"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		st, b := status, body
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+serviceKey {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if st == 0 {
			<-r.Context().Done() // hang until the client gives up
			return
		}
		w.WriteHeader(st)
		io.WriteString(w, b)
	}))
	t.Cleanup(srv.Close)
	set := func(st int, b string) {
		mu.Lock()
		defer mu.Unlock()
		status, body = st, b
	}

	id := uuid.New()
	for _, base := range []string{srv.URL, srv.URL + "/", srv.URL + "/auth/v1"} {
		admin, err := account.NewGoTrueAdmin(base, serviceKey, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := admin.DeleteUser(ctx, id); err != nil {
			t.Errorf("%s: unknown user: %v, want nil", base, err)
		}
	}
	mu.Lock()
	for _, p := range paths {
		if p != "/auth/v1/admin/users/"+id.String() {
			t.Errorf("path %s", p)
		}
	}
	mu.Unlock()

	admin, err := account.NewGoTrueAdmin(srv.URL, serviceKey, &http.Client{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	set(http.StatusNotFound, `404 page not found`)
	if err := admin.DeleteUser(ctx, id); err == nil {
		t.Error("a 404 that is not GoTrue's user_not_found passed for success")
	}
	set(http.StatusNoContent, ``)
	if err := admin.DeleteUser(ctx, id); err != nil {
		t.Errorf("204: %v", err)
	}

	wrongKey, err := account.NewGoTrueAdmin(srv.URL, "wrong", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := wrongKey.DeleteUser(ctx, id); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong key: %v", err)
	}

	// The call's context reaches the request, though gotrue-go takes none.
	set(0, "")
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = admin.DeleteUser(cctx, id)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Errorf("hanging GoTrue with a 200 ms context: %v after %s", err, time.Since(start))
	}
	// And the client's timeout bounds a call whose context never ends.
	short, err := account.NewGoTrueAdmin(srv.URL, serviceKey, &http.Client{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if err := short.DeleteUser(ctx, id); err == nil || time.Since(start) > 3*time.Second {
		t.Errorf("hanging GoTrue with a 200 ms client timeout: %v after %s", err, time.Since(start))
	}
}

// A receipt of a reply to a task the user deleted still belongs to the user: it is exported, and
// erased with the account (it used to be reachable only through its task, and survived).
func TestReceiptOfADeletedTask(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := seeded(t)
	tasks := addReceipts(t, pool, alex, 1)
	before := receiptsFor(t, pool, tasks) // the seed's too, if it has some for this task
	if _, err := pool.Exec(ctx, `delete from public.tasks where id = $1`, tasks[0]); err != nil {
		t.Fatal(err)
	}
	if n := receiptsFor(t, pool, tasks); n != before {
		t.Fatalf("deleting the task left %d of its %d receipts: the replay guard must outlive it", n, before)
	}
	svc := service(pool, nil, nil)
	var buf bytes.Buffer
	if _, err := svc.Export(ctx, alex, &buf); err != nil {
		t.Fatal(err)
	}
	var receipts []map[string]any
	if err := json.Unmarshal(unzip(t, buf.Bytes())["flux.webhook_receipts.json"], &receipts); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range receipts {
		found = found || r["task_id"] == tasks[0].String()
	}
	if !found {
		t.Fatalf("the receipt of the deleted task is not in the export: %v", receipts)
	}
	if err := svc.Delete(ctx, alex); err != nil {
		t.Fatal(err)
	}
	if n := receiptsFor(t, pool, tasks); n != 0 {
		t.Fatalf("%d receipts of the deleted task survived the erasure", n)
	}
}
