package account_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flux-companion/flux/listener/account"
)

// The erasure checked against the whole database, not against the package's own idea of a user
// table: every row of every table in every schema (auth, flux, public and whatever a later
// migration or extension adds) is read before and after Alex is erased. Afterwards no row may
// mention anything that identified Alex, and every row that did not mention Alex must be
// byte-for-byte what it was. The export, taken before, must hold exactly the rows of public and
// flux that mention Alex.
func TestErasureAgainstTheWholeCatalog(t *testing.T) {
	t.Parallel()
	for _, via := range []string{"database", "gotrue"} {
		t.Run(via, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool := seeded(t)
			enrich(t, pool)
			var admin account.Admin
			if via == "gotrue" {
				_, admin = newFake(t, pool, "ok")
			}
			svc := service(pool, admin, nil)

			cat := readCatalog(t, pool)
			before := snapshot(t, pool, cat)
			// An empty table would let any leak through it unseen: enrich gives each one rows.
			for _, tbl := range cat.tables {
				if len(before.rows[tbl]) == 0 {
					t.Fatalf("precondition: %s is empty: give it rows (both users', if it holds theirs) in enrich", tbl)
				}
			}
			ids := identifiers(t, pool, cat, before, alex)
			for _, other := range []string{sam.String(), "sam@demo.flux.local", "+12025550143"} {
				if ids.has(other) {
					t.Fatalf("precondition: Sam's %s is among Alex's identifiers: the closure leaked", other)
				}
			}
			mentions := before.mentioning(ids)
			if len(mentions) < 15 {
				t.Fatalf("precondition: rows of Alex in only %d tables: %v", len(mentions), keys(mentions))
			}
			// Sam must have data beside Alex's wherever Alex has some, or "nobody else's row
			// changes" would hold vacuously there.
			samIDs := identifiers(t, pool, cat, before, sam)
			samRows := before.mentioning(samIDs)
			for tbl := range mentions {
				if len(samRows[tbl]) == 0 {
					t.Fatalf("precondition: Sam has no row in %s", tbl)
				}
			}

			// The export, before the erasure: every row of public and flux that mentions Alex,
			// nothing else.
			var buf bytes.Buffer
			m, err := svc.Export(ctx, alex, &buf)
			if err != nil {
				t.Fatal(err)
			}
			files := unzip(t, buf.Bytes())
			for _, tbl := range slices.Sorted(maps.Keys(before.rows)) {
				if !strings.HasPrefix(tbl, "public.") && !strings.HasPrefix(tbl, "flux.") {
					continue
				}
				want := mentions[tbl]
				var got []json.RawMessage
				if data, ok := files[tbl+".json"]; ok {
					if err := json.Unmarshal(data, &got); err != nil {
						t.Fatalf("%s.json: %v", tbl, err)
					}
				}
				if m.Tables[tbl] != len(got) {
					t.Errorf("export %s: manifest says %d rows, file holds %d", tbl, m.Tables[tbl], len(got))
				}
				if len(want) != len(got) {
					t.Errorf("export %s: %d rows, %d rows of the table mention Alex", tbl, len(got), len(want))
				}
				exported := map[string]int{}
				for _, r := range got {
					exported[string(r)]++
				}
				for _, r := range want {
					if exported[r] == 0 {
						t.Errorf("export %s lacks a row that mentions Alex: %s", tbl, r)
					}
					exported[r]--
				}
				for r, n := range exported {
					if n > 0 {
						t.Errorf("export %s holds a row that is not Alex's: %s", tbl, r)
					}
				}
			}

			if err := svc.Delete(ctx, alex); err != nil {
				t.Fatal(err)
			}
			after := snapshot(t, pool, cat)

			// (1) Nothing that identified Alex is left anywhere.
			for tbl, rows := range after.mentioning(ids) {
				for _, r := range rows {
					t.Errorf("after the erasure %s still has a row naming %s: %s", tbl, ids.in(r), r)
				}
			}
			// (2) Every other row is untouched, and none appeared. No table is exempt: pg_cron's
			// tables, which change by themselves, exist only in cron.database_name, which a test
			// database never is.
			for _, tbl := range slices.Sorted(maps.Keys(before.rows)) {
				kept := map[string]int{}
				for _, r := range before.rows[tbl] {
					if !ids.mentionedIn(r) {
						kept[r]++
					}
				}
				for _, r := range after.rows[tbl] {
					if kept[r] == 0 {
						if !ids.mentionedIn(r) {
							t.Errorf("%s: a row changed or appeared during the erasure: %s", tbl, r)
						}
						continue
					}
					kept[r]--
				}
				for r, n := range kept {
					for ; n > 0; n-- {
						t.Errorf("%s: a row that did not mention Alex changed or went: %s", tbl, r)
					}
				}
			}
			for tbl := range after.rows {
				if _, ok := before.rows[tbl]; !ok {
					t.Errorf("table %s appeared during the erasure", tbl)
				}
			}
			t.Logf("%d tables in %d schemas; Alex: %d identifiers, %d rows in %d tables",
				len(cat.tables), len(cat.schemas()), len(ids.values), count(mentions), len(mentions))
		})
	}
}

// enrich adds what the seed and fillEveryTable leave out, for both users where a table can hold
// it: receipts of replies (one of them for a task deleted before the erasure, which keeps its
// receipt), a WhatsApp message that answered nothing (a receipt without a task), a delivery
// status on a notification, and a status callback that arrived before its send was recorded.
func enrich(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	for _, u := range []uuid.UUID{alex, sam} {
		tasks := addReceipts(t, pool, u, 3)
		if _, err := pool.Exec(ctx, `delete from public.tasks where id = $1`, tasks[2]); err != nil {
			t.Fatal(err)
		}
		// Sam's number is unverified in the seed, so he has no WhatsApp reminder: he gets one from
		// his old number's days.
		var sid string
		if err := pool.QueryRow(ctx, `
			with have as (
			  select n.external_id from public.notification_log n
			  where n.user_id = $1 and n.channel = 'whatsapp' and n.external_id is not null
			  order by n.sent_at desc limit 1),
			made as (
			  insert into public.notification_log (user_id, task_id, channel, external_id, sent_at)
			  select t.user_id, t.id, 'whatsapp', 'SM' || md5(t.id::text || ':whatsapp'), flux.now() - interval '1 day'
			  from public.tasks t where t.user_id = $1 and not exists (select 1 from have)
			  order by t.scheduled_at limit 1
			  returning external_id)
			select external_id from have union all select external_id from made`, u).Scan(&sid); err != nil {
			t.Fatalf("a WhatsApp notification of %s: %v", u, err)
		}
		var result string
		if err := pool.QueryRow(ctx, `select flux.record_delivery($1, 'delivered')`, sid).Scan(&result); err != nil || result != "recorded" {
			t.Fatalf("delivery status on %s's notification: %q %v", u, result, err)
		}
		// Early: Twilio called back before the sender recorded the send. Nothing in the database
		// ties this id to a user (the send's record would), so it names nobody and must survive
		// untouched; the nightly purge drops it after a day.
		if err := pool.QueryRow(ctx, `select flux.record_delivery('SM' || md5($1::text || ':early'), 'sent')`, u).Scan(&result); err != nil || result != "early" {
			t.Fatalf("early callback: %q %v", result, err)
		}
	}
	// A message from Alex's verified number that answered nothing: its receipt has no task.
	var prior string
	if err := pool.QueryRow(ctx, `select flux.receive_whatsapp('SM' || md5('alex:hello'), '+447700900123')`).Scan(&prior); err != nil || prior != "new" {
		t.Fatalf("receive_whatsapp: %q %v", prior, err)
	}
	if _, err := pool.Exec(ctx, `select flux.settle_receipt('SM' || md5('alex:hello'), 'unrecognised')`); err != nil {
		t.Fatal(err)
	}
}

// catalog lists every table with data: base tables (partitions included, their parents hold
// nothing) and materialized views, which copy user data too, in every schema but the system
// catalogs and other sessions' temporary schemas (unreadable from here). For each, its key
// columns: single-column primary keys and unique constraints or indexes of type uuid or text.
type catalog struct {
	tables []string            // "schema.table", quoted identifier in idents
	idents map[string]string   // table -> quoted identifier
	keys   map[string][]string // table -> key columns
}

func (c catalog) schemas() map[string]bool {
	out := map[string]bool{}
	for _, tbl := range c.tables {
		out[strings.SplitN(tbl, ".", 2)[0]] = true
	}
	return out
}

func readCatalog(t *testing.T, pool *pgxpool.Pool) catalog {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		select n.nspname::text, c.relname::text,
		       array(
		         select a.attname::text
		         from pg_catalog.pg_index i
		         join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
		         where i.indrelid = c.oid and i.indisunique and i.indnkeyatts = 1 and i.indkey[0] > 0
		           and a.atttypid in ('uuid'::regtype, 'text'::regtype, 'varchar'::regtype)
		         order by 1) as keys
		from pg_catalog.pg_class c
		join pg_catalog.pg_namespace n on n.oid = c.relnamespace
		where c.relkind in ('r', 'm')
		  and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
		  and n.nspname !~ '^pg_(toast_)?temp_'
		order by 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog{idents: map[string]string{}, keys: map[string][]string{}}
	var schema, name string
	var keys []string
	if _, err := pgx.ForEachRow(rows, []any{&schema, &name, &keys}, func() error {
		tbl := schema + "." + name
		cat.tables = append(cat.tables, tbl)
		cat.idents[tbl] = pgx.Identifier{schema, name}.Sanitize()
		cat.keys[tbl] = slices.Compact(keys)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{"auth.users", "public.users", "public.tasks", "flux.webhook_receipts", "flux.delivery_events"} {
		if _, ok := cat.idents[must]; !ok {
			t.Fatalf("the catalog scan misses %s: %v", must, cat.tables)
		}
	}
	return cat
}

// snap is every row of every table, as to_jsonb(row)::text (canonical: equal rows, equal text).
type snap struct{ rows map[string][]string }

func snapshot(t *testing.T, pool *pgxpool.Pool, cat catalog) snap {
	t.Helper()
	ctx := context.Background()
	s := snap{rows: map[string][]string{}}
	// One snapshot of the whole database, as the export takes one.
	err := pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		for _, tbl := range cat.tables {
			rows, err := tx.Query(ctx, `select to_jsonb(t)::text from `+cat.idents[tbl]+` t`)
			if err != nil {
				return fmt.Errorf("%s: %w", tbl, err)
			}
			texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return fmt.Errorf("%s: %w", tbl, err)
			}
			sort.Strings(texts)
			s.rows[tbl] = texts
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mentioning returns, per table, the rows whose text contains one of ids.
func (s snap) mentioning(ids idSet) map[string][]string {
	out := map[string][]string{}
	for tbl, rows := range s.rows {
		for _, r := range rows {
			if ids.mentionedIn(r) {
				out[tbl] = append(out[tbl], r)
			}
		}
	}
	return out
}

type idSet struct{ values map[string]string } // value -> where it was found

func (s idSet) has(v string) bool { _, ok := s.values[v]; return ok }

func (s idSet) mentionedIn(row string) bool { return len(s.in(row)) > 0 }

// in names the identifiers the row contains.
func (s idSet) in(row string) []string {
	var out []string
	for v, from := range s.values {
		if strings.Contains(row, v) {
			out = append(out, fmt.Sprintf("%s (%s)", v, from))
		}
	}
	sort.Strings(out)
	return out
}

// minIdentifier is the shortest key value taken for an identifier. Shorter text keys ('UTC',
// a status name) are no one's, and would match inside unrelated rows; user ids, row ids (uuids),
// provider SIDs, thread ids, endpoints, e-mail addresses and E.164 numbers are all longer.
const minIdentifier = 8

// identifiers is what identifies user: the id, the e-mail addresses and phone numbers of their
// rows (any column named like email or phone), and the key of every row that mentions one of
// these, transitively (a webhook receipt names a task, an agent run a message), to a fixed point.
func identifiers(t *testing.T, pool *pgxpool.Pool, cat catalog, s snap, user uuid.UUID) idSet {
	t.Helper()
	ids := idSet{values: map[string]string{user.String(): "user id"}}
	add := func(v any, from string) bool {
		str, ok := v.(string)
		if !ok || len(str) < minIdentifier || ids.has(str) {
			return false
		}
		ids.values[str] = from
		return true
	}
	for changed := true; changed; {
		changed = false
		for _, tbl := range cat.tables {
			for _, r := range s.rows[tbl] {
				if !ids.mentionedIn(r) {
					continue
				}
				var row map[string]any
				if err := json.Unmarshal([]byte(r), &row); err != nil {
					t.Fatalf("%s: %v", tbl, err)
				}
				for _, k := range cat.keys[tbl] {
					changed = add(row[k], tbl+"."+k) || changed
				}
				for col, v := range row {
					if strings.Contains(col, "email") || strings.Contains(col, "phone") {
						changed = add(v, tbl+"."+col) || changed
					}
				}
			}
		}
	}
	return ids
}

func keys(m map[string][]string) []string { return slices.Sorted(maps.Keys(m)) }

func count(m map[string][]string) int {
	n := 0
	for _, rows := range m {
		n += len(rows)
	}
	return n
}
