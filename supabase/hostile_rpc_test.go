package supabase_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/flux-companion/flux/sql/migrate"
	"github.com/flux-companion/flux/sql/pgtest"
	"github.com/flux-companion/flux/sql/store"
	"github.com/flux-companion/flux/supabase"
)

// TestHostileRPCs calls every function in public that authenticated may execute, found in the
// catalog (a new RPC is covered without editing this test), the way PostgREST calls it for
// supabase-js, with hostile arguments: nulls, other users' ids, huge and odd text, extreme
// timestamps and numbers. Each call must succeed or fail with a code PostgREST answers with a
// documented 4xx; no row of anyone but the caller may change, and no result may carry another
// user's ids.
//
// Every RPC gets a fresh attacker with a full set of rows, so one that erases or settles the
// caller's rows cannot spoil the next; the victims (the seed's two demo users, one user built like
// the attackers, and every other attacker) are shared. Each argument vector is called twice: alone
// against the attacker's rows as set up, checked inside its transaction for what it wrote and
// rolled back (so every value meets a pending task, an open plan, ...); then all in turn with the
// successful calls committed, and every row of every other user compared before and after. A JWT
// that outlived its account calls too. Rate limits are on, as on Supabase.
func TestHostileRPCs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	start := time.Now()
	url := pgtest.DB(t)
	if err := migrate.Seed(ctx, url, supabase.Seed); err != nil {
		t.Fatalf("seed: %v", err)
	}
	// One connection: the calls run one after the other, and nothing else writes this database.
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)

	rpcs := discoverRPCs(t, db)
	if len(rpcs) < 10 {
		t.Fatalf("found %d RPCs executable by authenticated, expected at least 10: the catalog query is wrong", len(rpcs))
	}
	t.Logf("%d RPCs in public executable by authenticated", len(rpcs))

	h := &hostileRun{db: db, now: fluxNow(t, db), names: map[string]string{}, owned: ownedTables(t, db)}
	labels, err := db.Query(ctx, `
		select distinct e.enumlabel::text from pg_enum e join pg_type t on t.oid = e.enumtypid
		where t.typnamespace = 'public'::regnamespace order by 1`)
	if err != nil {
		t.Fatal(err)
	}
	if h.labels, err = pgx.CollectRows(labels, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	// The seed's demo users are victims with months of history.
	var seedUsers []string
	rows, err := db.Query(ctx, `select id::text, split_part(email, '@', 1) from auth.users order by email`)
	if err != nil {
		t.Fatal(err)
	}
	var id, name string
	if _, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error {
		seedUsers = append(seedUsers, id)
		h.names[id] = name
		return nil
	}); err != nil || len(seedUsers) < 2 {
		t.Fatalf("seed users: %v (found %d)", err, len(seedUsers))
	}
	victim := h.newUser(t, "victim", "Europe/Berlin")
	h.victimIDs = h.idPools(t, append(seedUsers, victim), victim)

	// Odd zones for the attackers: +14 and -11 hours, a 45-minute offset, a half-hour one with DST.
	zones := []string{"Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kathmandu", "America/St_Johns"}
	attackers := make([]string, len(rpcs))
	for i, r := range rpcs {
		attackers[i] = h.newUser(t, "attacker-"+r.name, zones[i%len(zones)])
	}
	h.tables = writableTables(t, db)
	h.prepareChecks()
	// Rate limits as on a Supabase project (local databases turn them off): their counters and
	// 429s are part of every write RPC. Isolated calls roll their hits back, so every value is
	// still tried once with the limits fresh.
	if _, err := db.Exec(ctx, `update flux.settings set rate_limits = true`); err != nil {
		t.Fatal(err)
	}

	before := h.snapshot(t)
	for i, r := range rpcs {
		var after tableRows
		t.Run(r.name, func(t *testing.T) { after = h.attack(t, r, attackers[i], before) })
		if after == nil { // the subtest stopped early: the next one compares from here
			after = h.snapshot(t)
		}
		before = after
	}
	t.Logf("%d RPCs, %d calls (%d succeeded) in %s", len(rpcs), h.calls, h.succeeded, time.Since(start).Round(time.Millisecond))
}

// hostileRun is the state shared by the calls of one run.
type hostileRun struct {
	db        *pgx.Conn
	now       time.Time           // flux.now() when the run started
	names     map[string]string   // user id -> name, for messages
	victimIDs map[string][]rowRef // per table: the shared victims' rows
	owned     []ownedTable
	tables    []string // every table whose rows are compared
	labels    []string // every label of the public enums
	digestSQL string   // see prepareChecks
	writesSQL string   // see prepareChecks
	calls     int
	succeeded int
}

// rowRef is a row id with what it is, for messages.
type rowRef struct{ id, label string }

// argType is an argument's type as far as choosing values goes.
type argType struct {
	name   string // format_type with an empty search_path: schema-qualified outside pg_catalog
	base   string // typname, of the base type for a domain
	enum   []string
	elem   *argType // arrays
	isEnum bool
}

type rpcArg struct {
	name       string
	typ        *argType
	hasDefault bool
	variadic   bool
}

type rpcFunc struct {
	name, signature string
	args            []rpcArg
}

// discoverRPCs lists the functions PostgREST exposes to a signed-in user: plain functions (not
// aggregates, window functions or procedures) in public that authenticated may execute and that
// are not triggers.
func discoverRPCs(t *testing.T, db *pgx.Conn) []rpcFunc {
	t.Helper()
	ctx := context.Background()
	var out []rpcFunc
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		// With an empty search_path format_type qualifies every type outside pg_catalog, so the
		// names cast correctly whatever path the calls run with.
		if _, err := tx.Exec(ctx, `set local search_path = ''`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			select p.proname::text, pg_catalog.pg_get_function_identity_arguments(p.oid),
			       p.pronargdefaults::int, coalesce(p.proargnames, '{}')::text[],
			       coalesce(p.proargmodes::text[], '{}'), p.proargtypes::oid[]::int8[]
			from pg_catalog.pg_proc p
			where p.pronamespace = 'public'::pg_catalog.regnamespace and p.prokind = 'f'
			  and p.prorettype not in ('pg_catalog.trigger'::pg_catalog.regtype, 'pg_catalog.event_trigger'::pg_catalog.regtype)
			  and pg_catalog.has_function_privilege('authenticated', p.oid, 'execute')
			order by p.proname, p.oid`)
		if err != nil {
			return err
		}
		type raw struct {
			name, sig    string
			ndefaults    int
			names, modes []string
			types        []int64
		}
		var raws []raw
		for rows.Next() {
			var r raw
			if err := rows.Scan(&r.name, &r.sig, &r.ndefaults, &r.names, &r.modes, &r.types); err != nil {
				return err
			}
			raws = append(raws, r)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		types := map[int64]*argType{}
		for _, r := range raws {
			// proargnames and proargmodes cover OUT and TABLE columns too; proargtypes only the
			// arguments a caller passes.
			var inNames []string
			variadic := -1
			if len(r.modes) == 0 {
				inNames = r.names
			} else {
				for i, m := range r.modes {
					if m == "i" || m == "b" || m == "v" {
						if m == "v" {
							variadic = len(inNames)
						}
						name := ""
						if i < len(r.names) {
							name = r.names[i]
						}
						inNames = append(inNames, name)
					}
				}
			}
			f := rpcFunc{name: r.name, signature: r.sig}
			for i, oid := range r.types {
				typ, err := argTypeInfo(ctx, tx, oid, types)
				if err != nil {
					return err
				}
				name := ""
				if i < len(inNames) {
					name = inNames[i]
				}
				f.args = append(f.args, rpcArg{name: name, typ: typ, hasDefault: i >= len(r.types)-r.ndefaults, variadic: i == variadic})
			}
			out = append(out, f)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func argTypeInfo(ctx context.Context, tx pgx.Tx, oid int64, cache map[int64]*argType) (*argType, error) {
	if typ, ok := cache[oid]; ok {
		return typ, nil
	}
	var typ argType
	var elem int64
	err := tx.QueryRow(ctx, `
		select pg_catalog.format_type(t.oid, null), coalesce(b.typname, t.typname)::text,
		       t.typtype = 'e', case when t.typcategory = 'A' then t.typelem else 0 end::int8,
		       array(select e.enumlabel::text from pg_catalog.pg_enum e where e.enumtypid = t.oid order by e.enumsortorder)
		from pg_catalog.pg_type t
		left join pg_catalog.pg_type b on t.typtype = 'd' and b.oid = t.typbasetype
		where t.oid = $1`, oid).Scan(&typ.name, &typ.base, &typ.isEnum, &elem, &typ.enum)
	if err != nil {
		return nil, fmt.Errorf("type %d: %w", oid, err)
	}
	if elem != 0 {
		if typ.elem, err = argTypeInfo(ctx, tx, elem, cache); err != nil {
			return nil, err
		}
	}
	cache[oid] = &typ
	return &typ, nil
}

func fluxNow(t *testing.T, db *pgx.Conn) time.Time {
	t.Helper()
	var now time.Time
	if err := db.QueryRow(context.Background(), `select flux.now()`).Scan(&now); err != nil {
		t.Fatal(err)
	}
	return now
}

// newUser signs a user up (the provisioning trigger makes public.users) and gives them a row in
// every state the RPCs care about: goals (an umbrella with an active and a waiting micro-goal, a
// standalone, a completed and an abandoned one), tasks (pending soon and later, one in the middle
// of its reminder ladder with the push and WhatsApp sent, done, missed, cancelled, rescheduled, a
// location task), a conversation with a plan waiting for approval and one without, messages,
// patterns, a push subscription, a verified phone opted in to WhatsApp with a new number waiting
// for its code, and a webhook receipt. Written as the service would, bypassing RLS.
func (h *hostileRun) newUser(t *testing.T, name, tz string) string {
	t.Helper()
	ctx := context.Background()
	uid := uuid.NewString()
	h.names[uid] = name
	id := map[string]string{}
	for _, k := range []string{"gUmbrella", "gMicro1", "gMicro2", "gSolo", "gDone", "gAbandoned",
		"tPending", "tSoon", "tEscalating", "tDone", "tMissed", "tCancelled", "tRescheduled", "tLocation", "tStandalone",
		"cPlan", "cChat", "pAvoid", "pStreak"} {
		id[k] = uuid.NewString()
	}
	phone := func() string { return fmt.Sprintf("+4915%09d", rand.IntN(1e9)) }
	sid := "SM" + strings.ReplaceAll(uuid.NewString(), "-", "")
	steps := []struct {
		sql  string
		args []any
	}{
		{`insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
		  values ('00000000-0000-0000-0000-000000000000', $1, 'authenticated', 'authenticated', $2, '{"provider":"email"}',
		          jsonb_build_object('name', $3::text, 'timezone', $4::text), flux.now() - interval '30 days', flux.now() - interval '30 days')`,
			[]any{uid, name + "-" + uid[:8] + "@test.flux.local", name, tz}},
		{`update public.users set onboarded = true, phone_number = $2, created_at = flux.now() - interval '30 days',
		         profile = '{"name": "Hostile", "chronotype": "morning", "sleep_window": {"start": "23:00", "end": "07:00"},
		                     "work_hours": {"start": "09:00", "end": "17:00"}, "locations": {"home": "Kreuzberg"}}',
		         notification_preferences = '{"reminder_lead_minutes": 10, "escalation_window_minutes": 2,
		                                      "escalation_policy": "full", "snooze_minutes": 10}'
		  where id = $1`, []any{uid, phone()}},
		{`update public.users set phone_verified = true, whatsapp_opt_in_at = flux.now() - interval '29 days',
		         whatsapp_window_until = flux.now() + interval '2 hours'
		  where id = $1`, []any{uid}},
		{`insert into public.goals (id, user_id, title, description, class_tags, status, parent_goal_id, pipeline_order, target_weeks, plan)
		  values ($2, $1, 'Run a half marathon', 'Three sprints.', '{Fitness,Health}', 'active', null, null, 18, '{"plan_summary": "5K, 10K, 21K"}'),
		         ($3, $1, 'Run 5K without stopping', null, '{Fitness}', 'active', $2, 1, 6, '{}'),
		         ($4, $1, 'Run 10K', null, '{Fitness}', 'pipeline', $2, 2, 6, '{}'),
		         ($5, $1, 'Learn Spanish', null, '{Learning,Travel}', 'active', null, null, 6, null),
		         ($6, $1, 'Set up a budget', null, '{Financial}', 'completed', null, null, 1, null),
		         ($7, $1, 'Meditate every morning', null, '{Mental Health}', 'abandoned', null, null, 6, null)`,
			[]any{uid, id["gUmbrella"], id["gMicro1"], id["gMicro2"], id["gSolo"], id["gDone"], id["gAbandoned"]}},
		{`insert into public.tasks (id, user_id, goal_id, title, status, scheduled_at, duration_minutes, trigger_type,
		                           location_trigger, recurrence_rule, shared_with_goal_ids)
		  values ($2, $1, $11, 'Spanish practice', 'pending', flux.now() + interval '3 hours', 30, 'time', null, 'FREQ=DAILY', '{}'),
		         ($3, $1, $12, 'Run-walk', 'pending', flux.now() + interval '40 minutes', 20, 'time', null, null, array[$11::uuid]),
		         ($4, $1, $12, 'Stretch', 'pending', flux.now() - interval '3 minutes', 15, 'time', null, null, '{}'),
		         ($5, $1, $12, 'Run-walk', 'done', flux.now() - interval '2 days', 20, 'time', null, null, '{}'),
		         ($6, $1, $11, 'Spanish practice', 'missed', flux.now() - interval '1 day', 30, 'time', null, null, '{}'),
		         ($7, $1, $13, 'Meditate', 'cancelled', flux.now() + interval '1 day', 10, 'time', null, null, '{}'),
		         ($8, $1, $11, 'Spanish practice', 'rescheduled', flux.now() - interval '4 days', 30, 'time', null, null, '{}'),
		         ($9, $1, null, 'Return the bottles', 'pending', null, 10, 'location', '{"place": "home", "event": "leave"}', null, '{}'),
		         ($10, $1, null, 'Call Mum', 'pending', flux.now() + interval '1 day', 15, 'time', null, null, '{}')`,
			[]any{uid, id["tPending"], id["tSoon"], id["tEscalating"], id["tDone"], id["tMissed"], id["tCancelled"],
				id["tRescheduled"], id["tLocation"], id["tStandalone"], id["gSolo"], id["gMicro1"], id["gAbandoned"]}},
		// The ladder of the overdue task is between its WhatsApp and its call.
		{`update public.tasks set escalation_stage = 'call', escalation_due_at = flux.now() + interval '1 minute',
		         reminder_sent_at = flux.now() - interval '13 minutes', whatsapp_sent_at = flux.now() - interval '1 minute'
		  where id = $1`, []any{id["tEscalating"]}},
		{`insert into public.notification_log (user_id, task_id, channel, external_id, sent_at, response, responded_at, delivery_status)
		  values ($1, $2, 'push', null, flux.now() - interval '13 minutes', null, null, null),
		         ($1, $2, 'whatsapp', $4, flux.now() - interval '1 minute', null, null, 'delivered'),
		         ($1, $3, 'push', null, flux.now() - interval '2 days 10 minutes', 'done', flux.now() - interval '2 days 5 minutes', null)`,
			[]any{uid, id["tEscalating"], id["tDone"], sid}},
		{`insert into public.dispatch_log (user_id, task_id, channel, status, attempts, created_at, dispatched_at, due_at)
		  values ($1, $2, 'push', 'dispatched', 1, flux.now() - interval '13 minutes', flux.now() - interval '13 minutes', flux.now() - interval '13 minutes'),
		         ($1, $2, 'whatsapp', 'dispatched', 1, flux.now() - interval '1 minute', flux.now() - interval '1 minute', flux.now() - interval '1 minute')`,
			[]any{uid, id["tEscalating"]}},
		{`insert into public.conversations (id, user_id, context_type) values ($2, $1, 'goal'), ($3, $1, 'general')`,
			[]any{uid, id["cPlan"], id["cChat"]}},
		{`insert into public.messages (conversation_id, user_id, role, content, metadata)
		  values ($2, $1, 'user', 'I want to run a half marathon in April.', '{}'),
		         ($2, $1, 'assistant', 'Here is a plan: three sprints of six weeks.', '{"kind": "plan_card"}'),
		         ($3, $1, 'user', 'Remind me to call Mum tomorrow.', '{}')`,
			[]any{uid, id["cPlan"], id["cChat"]}},
		// The agents answered: runs done, conversations idle, a plan waiting for approval.
		{`update flux.agent_runs set status = 'done', finished_at = flux.now() where user_id = $1`, []any{uid}},
		{`update public.conversations set agent_status = 'idle' where user_id = $1`, []any{uid}},
		{`insert into flux.agent_state (thread_id, user_id, state)
		  select c.thread_id, $1, case when c.id = $2 then '{"pending_plan": {"goal_title": "Run a half marathon"}}'::jsonb else '{}' end
		  from public.conversations c where c.user_id = $1`, []any{uid, id["cPlan"]}},
		{`insert into public.patterns (id, user_id, pattern_type, description, data, confidence)
		  values ($2, $1, 'time_avoidance', 'Tasks on Mondays around 07:00 were missed 3 weeks in a row.',
		          '{"rule": "miss", "day": "Mon", "from": "06:00", "to": "08:00"}', 0.75),
		         ($3, $1, 'completion_streak', 'Evening tasks done 5 days in a row.', '{}', 0.9)`,
			[]any{uid, id["pAvoid"], id["pStreak"]}},
		{`insert into public.push_subscriptions (user_id, endpoint, p256dh, auth, user_agent)
		  values ($1::uuid, 'https://push.example.invalid/' || $1::text, repeat('B', 87), repeat('a', 22), 'Firefox')`, []any{uid}},
		{`insert into flux.phone_verifications (user_id, phone_number) values ($1, $2)`, []any{uid, phone()}},
		{`insert into flux.webhook_receipts (provider_sid, task_id, user_id, response) values ($2, $3, $1, 'done')`,
			[]any{uid, "SM" + strings.ReplaceAll(uuid.NewString(), "-", ""), id["tDone"]}},
	}
	if err := pgx.BeginFunc(ctx, h.db, func(tx pgx.Tx) error {
		for _, s := range steps {
			if _, err := tx.Exec(ctx, s.sql, s.args...); err != nil {
				return fmt.Errorf("%w\n%s", err, s.sql)
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("user %s: %v", name, err)
	}
	h.hostileRows(t, uid, id["gMicro2"], id["pAvoid"])
	return uid
}

// hostileRows adds what the user may write themselves through their grants (supabase-js
// .insert/.update under RLS) with the most hostile values the constraints let through: the RPCs
// read these rows too. Each write is tried on its own; what the schema refuses is simply not there.
func (h *hostileRun) hostileRows(t *testing.T, uid, pipelineGoal, pattern string) {
	t.Helper()
	ctx := context.Background()
	writes := []struct {
		sql  string
		args []any
	}{
		// Times at the ends of the range (three at -infinity: the miss rule's "three weeks in a
		// row" finds them all at once when they are marked missed).
		{`insert into public.tasks (title, scheduled_at) values ('At infinity', 'infinity')`, nil},
		{`insert into public.tasks (title, scheduled_at) select 'At -infinity ' || i, '-infinity' from generate_series(1, 3) i`, nil},
		{`insert into public.tasks (title, scheduled_at) values ('Near the end of time', '294276-12-31 23:00:00+00')`, nil},
		{`insert into public.tasks (title, scheduled_at) values ('Near the beginning of time', '4713-01-01 01:00:00+00 BC')`, nil},
		{`insert into public.tasks (title, scheduled_at, duration_minutes) values ('A whole day', flux.now() + interval '1 hour', 1440)`, nil},
		{`insert into public.tasks (title, description, scheduled_at) values ($1, $2, flux.now() + interval '2 hours')`,
			[]any{strings.Repeat("\u202e😀", 66) + "x", strings.Repeat("'; --", 400)}},
		{`insert into public.tasks (title, trigger_type, location_trigger) values ('Wildcard place', 'location', '{"place": "%", "event": "arrive"}')`, nil},
		{`insert into public.tasks (title, trigger_type, location_trigger) values ('Shouting place', 'location', '{"place": "HOME", "event": "leave"}')`, nil},
		{`insert into public.tasks (title, scheduled_at, recurrence_rule) values ('Every second', flux.now() + interval '5 hours', 'FREQ=SECONDLY;COUNT=99999999')`, nil},
		{`insert into public.tasks (title, goal_id, scheduled_at) values ('In a waiting micro-goal', $1, flux.now() + interval '6 hours')`, []any{pipelineGoal}},
		{`insert into public.goals (title, description, class_tags, target_weeks) values ($1, $2, '{Other,Home,Travel}', 52)`,
			[]any{strings.Repeat("g", 200), strings.Repeat("\u00a0", 2000)}},
		{`insert into public.conversations (context_type) values ('reschedule')`, nil},
		{`update public.patterns set data = '{"day": 5, "from": [], "rule": null, "user_overridden": "no"}', confidence = 0,
		  description = $2 where id = $1`, []any{pattern, "\u202e" + strings.Repeat("p", 999)}},
		// Extreme preferences within their bounds: a day's lead, four-hour windows and snoozes.
		{`update public.users set notification_preferences = '{"reminder_lead_minutes": 1440, "escalation_window_minutes": 240,
		    "escalation_policy": "full", "snooze_minutes": 240, "quiet_hours": {"start": "00:00", "end": "23:59"}}',
		    profile = profile || '{"sleep_window": {"start": "00:00", "end": "00:00"}}' where id = $1`, []any{uid}},
	}
	accepted := 0
	for _, w := range writes {
		err := store.AsUser(ctx, h.db, uid, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, w.sql, w.args...)
			return err
		})
		var pgErr *pgconn.PgError
		switch {
		case err == nil:
			accepted++
		case !errors.As(err, &pgErr):
			t.Fatal(err)
		}
	}
	if accepted < len(writes)/2 {
		t.Fatalf("only %d of %d of the user's own hostile writes were accepted: the setup is wrong", accepted, len(writes))
	}
}

// ownedTable is a public table with a uuid id whose rows belong to a user: what an RPC's uuid
// argument names.
type ownedTable struct{ name, owner, status string }

func ownedTables(t *testing.T, db *pgx.Conn) []ownedTable {
	t.Helper()
	rows, err := db.Query(context.Background(), `
		select c.table_name::text,
		       case when c.table_name = 'users' then 'id' else 'user_id' end,
		       coalesce((select 'status' from information_schema.columns s
		                 where s.table_schema = 'public' and s.table_name = c.table_name and s.column_name = 'status'), '')
		from information_schema.columns c
		join information_schema.tables tb using (table_schema, table_name)
		where c.table_schema = 'public' and tb.table_type = 'BASE TABLE' and c.column_name = 'id' and c.data_type = 'uuid'
		  and (c.table_name = 'users' or exists (select 1 from information_schema.columns o
		        where o.table_schema = 'public' and o.table_name = c.table_name and o.column_name = 'user_id'))
		order by 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ownedTable, error) {
		var o ownedTable
		return o, r.Scan(&o.name, &o.owner, &o.status)
	})
	if err != nil || len(tables) < 5 {
		t.Fatalf("user tables: %v (found %d)", err, len(tables))
	}
	return tables
}

// idPools returns, per table, ids of rows of the given users: every row of full's, and one per
// owner and status of the others (the seed's users have hundreds). Open rows come first: they are
// the ones an RPC acts on.
func (h *hostileRun) idPools(t *testing.T, users []string, full string) map[string][]rowRef {
	t.Helper()
	pools := map[string][]rowRef{}
	for _, tb := range h.owned {
		status := "''"
		if tb.status != "" {
			status = "t." + tb.status + "::text"
		}
		rows, err := h.db.Query(context.Background(), fmt.Sprintf(`
			select s.id, s.owner, s.st from (
			  select t.id::text as id, t.%[2]s::text as owner, %[3]s as st from public.%[1]s t
			  where t.%[2]s = any ($1::uuid[])) s
			order by s.st not in ('pending', 'active'), s.st, s.id`,
			pgx.Identifier{tb.name}.Sanitize(), pgx.Identifier{tb.owner}.Sanitize(), status), users)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		var id, owner, st string
		_, err = pgx.ForEachRow(rows, []any{&id, &owner, &st}, func() error {
			if owner != full && seen[owner+"/"+st] {
				return nil
			}
			seen[owner+"/"+st] = true
			label := fmt.Sprintf("%s's %s %s", h.names[owner], tb.name, id[:8])
			if st != "" {
				label = fmt.Sprintf("%s's %s %s %s", h.names[owner], st, tb.name, id[:8])
			}
			pools[tb.name] = append(pools[tb.name], rowRef{id, label})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return pools
}

// writableTables: every table of the schemas Flux writes (public, flux) and of auth.
func writableTables(t *testing.T, db *pgx.Conn) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), `
		select format('%I.%I', n.nspname, c.relname)
		from pg_class c join pg_namespace n on n.oid = c.relnamespace
		where c.relkind in ('r', 'p') and n.nspname in ('public', 'flux', 'auth')
		order by 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) < 10 {
		t.Fatalf("tables: %v (found %d)", err, len(tables))
	}
	return tables
}

// tableRows is every row of every table, as JSON text, by table.
type tableRows map[string][]string

func (h *hostileRun) snapshot(t *testing.T) tableRows {
	t.Helper()
	s := tableRows{}
	for _, tb := range h.tables {
		rows, err := h.db.Query(context.Background(), fmt.Sprintf(`select to_jsonb(t)::text from %s t`, tb))
		if err != nil {
			t.Fatal(err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(texts)
		s[tb] = texts
	}
	return s
}

var uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

const nilUUID = "00000000-0000-0000-0000-000000000000"

const ghostSuffix = " by a deleted account"

// othersIDs is every id in rows that are not the attacker's: what an attacker's call must neither
// change nor return.
func othersIDs(s tableRows, attacker string) map[string]bool {
	ids := map[string]bool{}
	for _, rows := range s {
		for _, r := range rows {
			if !strings.Contains(r, attacker) {
				for _, id := range uuidPattern.FindAllString(r, -1) {
					ids[id] = true
				}
			}
		}
	}
	delete(ids, nilUUID) // auth.users.instance_id: everyone's
	return ids
}

// diffOthers lists the rows, not the attacker's own, that are only in a or only in b. A row is
// the attacker's when it names the attacker and nobody else's row.
func diffOthers(a, b tableRows, attacker string, others map[string]bool) []string {
	mine := func(r string) bool {
		if !strings.Contains(r, attacker) {
			return false
		}
		for _, id := range uuidPattern.FindAllString(r, -1) {
			if others[id] {
				return false
			}
		}
		return true
	}
	var out []string
	for tb, rowsA := range a {
		count := map[string]int{}
		for _, r := range rowsA {
			if !mine(r) {
				count[r]++
			}
		}
		for _, r := range b[tb] {
			if !mine(r) {
				count[r]--
			}
		}
		for r, n := range count {
			switch {
			case n > 0:
				out = append(out, fmt.Sprintf("%s: changed or deleted: %s", tb, clipText(r, 400)))
			case n < 0:
				out = append(out, fmt.Sprintf("%s: changed or inserted: %s", tb, clipText(r, 400)))
			}
		}
	}
	sort.Strings(out)
	return out
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("…(%d bytes)", len(s))
}

// argVal is one argument of a call: left out (its default), SQL null, or a value in text.
type argVal struct {
	omit  bool
	val   *string
	label string
}

func argText(s, label string) argVal { return argVal{val: &s, label: label} }

var argNull = argVal{label: "null"}

type callVector struct {
	vals  []argVal
	label string
}

// candidates are values of a type a well-behaved client would send, for the base call. uuids are
// the attacker's own ids of the kind the argument names (p_task_id: tasks), open rows first.
func (h *hostileRun) candidates(a rpcArg, typ *argType, own map[string][]rowRef) []argVal {
	ts := func(d time.Duration) argVal {
		return argText(h.now.Add(d).Format(time.RFC3339Nano), "now"+signedDuration(d))
	}
	switch {
	case typ.elem != nil:
		out := []argVal{argText("{}", "empty array")}
		for _, c := range h.candidates(a, typ.elem, own) {
			if c.val != nil {
				out = append(out, argText(pgArrayLiteral([]string{*c.val}), "{"+c.label+"}"))
			}
		}
		return out
	case typ.isEnum:
		var out []argVal
		for _, l := range typ.enum {
			out = append(out, argText(l, l))
		}
		return out
	}
	switch typ.base {
	case "uuid":
		var out []argVal
		for _, r := range idsOfKind(a.name, own) {
			out = append(out, argText(r.id, r.label))
		}
		return out
	case "text", "varchar", "bpchar", "name", "citext":
		// The fixture's location trigger, then every label of the public enums (answers,
		// statuses, stages: what text arguments that name a state take).
		out := []argVal{argText("home", "'home'"), argText("leave", "'leave'"), argText("A plain description.", "plain text")}
		for _, l := range h.labels {
			out = append(out, argText(l, "'"+l+"'"))
		}
		return append(out, argText("acknowledge", "'acknowledge'"), argText("snooze", "'snooze'"))
	case "int2", "int4", "int8":
		return []argVal{argText("1", "1"), argText("7", "7"), argText("30", "30")}
	case "numeric", "float4", "float8":
		return []argVal{argText("0.5", "0.5")}
	case "bool":
		return []argVal{argText("true", "true"), argText("false", "false")}
	case "timestamptz", "timestamp":
		return []argVal{ts(2 * time.Hour), ts(24 * time.Hour), ts(30 * time.Minute)}
	case "date":
		return []argVal{argText(h.now.Format(time.DateOnly), "today")}
	case "interval":
		return []argVal{argText("1 hour", "1 hour")}
	case "json", "jsonb":
		return []argVal{argText("{}", "{}")}
	}
	return []argVal{argNull}
}

// idsOfKind: the ids of the table an argument names (p_task_id, task_id, p_task: tasks), or of
// every table when the name says nothing.
func idsOfKind(arg string, pools map[string][]rowRef) []rowRef {
	kind := strings.TrimSuffix(strings.TrimPrefix(arg, "p_"), "_id")
	for _, tb := range []string{kind, kind + "s", kind + "es"} {
		if ids, ok := pools[tb]; ok {
			return ids
		}
	}
	var tables []string
	for tb := range pools {
		tables = append(tables, tb)
	}
	sort.Strings(tables)
	var out []rowRef
	for _, tb := range tables {
		out = append(out, pools[tb]...)
	}
	return out
}

func signedDuration(d time.Duration) string {
	if d < 0 {
		return "-" + (-d).String()
	}
	return "+" + d.String()
}

// pgArrayLiteral quotes every element, so any text goes in.
func pgArrayLiteral(elems []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range elems {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(e))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// hostile is the values of a type an attacker sends: every one of them alone against the base call.
func (h *hostileRun) hostile(a rpcArg, typ *argType, own map[string][]rowRef) []argVal {
	out := []argVal{argNull}
	ts := func(d time.Duration) argVal {
		return argText(h.now.Add(d).Format(time.RFC3339Nano), "now"+signedDuration(d))
	}
	switch {
	case typ.elem != nil:
		out = append(out, argText("{}", "empty array"), argText("{NULL}", "{null}"))
		var elems []string
		if typ.elem.base == "uuid" {
			// Other users' ids smuggled in an array, and ten thousand random ones.
			var victims []string
			for _, r := range idsOfKind(a.name, h.victimIDs) {
				victims = append(victims, r.id)
			}
			out = append(out, argText(pgArrayLiteral(victims), "array of other users' ids"))
			for range 10000 {
				elems = append(elems, uuid.NewString())
			}
		} else {
			c := h.candidates(a, typ.elem, own)
			if len(c) > 0 && c[0].val != nil {
				for range 10000 {
					elems = append(elems, *c[0].val)
				}
			}
		}
		if len(elems) > 0 {
			out = append(out, argText(pgArrayLiteral(elems), "10k elements"))
		}
		return out
	case typ.isEnum:
		for _, l := range typ.enum {
			out = append(out, argText(l, l))
		}
		return append(out, argText("not-a-label", "'not-a-label'"))
	}
	switch typ.base {
	case "uuid":
		kindVictims := idsOfKind(a.name, h.victimIDs)
		for _, r := range kindVictims {
			out = append(out, argText(r.id, r.label))
		}
		for _, r := range idsOfKind(a.name, own) {
			out = append(out, argText(r.id, "own "+r.label))
		}
		// One id of every other kind: a goal's id where a task's is expected.
		if len(kindVictims) > 0 && len(kindVictims) < len(idsOfKind("", h.victimIDs)) {
			var tables []string
			for tb := range h.victimIDs {
				tables = append(tables, tb)
			}
			sort.Strings(tables)
			for _, tb := range tables {
				if ids := h.victimIDs[tb]; len(ids) > 0 && !slices.Contains(kindVictims, ids[0]) {
					out = append(out, argText(ids[0].id, ids[0].label))
				}
			}
		}
		return append(out, argText(uuid.NewString(), "random uuid"), argText(nilUUID, "nil uuid"), argText("not-a-uuid", "'not-a-uuid'"))
	case "text", "varchar", "bpchar", "name", "citext":
		out = append(out,
			argText("", "''"), argText(" ", "' '"), argText("\t\n\r", "control white space"),
			argText("\u00a0\u2003\u3000", "Unicode white space"),
			argText(strings.Repeat("x", 200_000), "200k chars"),
			argText("'; drop table public.tasks; --", "SQL injection"),
			argText(`" or 1=1 --`, "quote injection"),
			argText("%", "'%'"), argText("_", "'_'"), argText(`\`, "backslash"),
			argText("\u202etxt.exe", "RTL override"), argText("😀👩‍👩‍👧", "emoji"),
			argText("Mars/Olympus", "'Mars/Olympus'"), argText("UTC+99", "'UTC+99'"), argText("Europe/Berlin", "'Europe/Berlin'"),
			argText("HOME", "'HOME'"), argText("null", "'null'"), argText(`{"a": 1}`, "JSON text"),
		)
		for _, c := range h.candidates(a, typ, own) {
			if !slices.ContainsFunc(out, func(v argVal) bool { return v.val != nil && c.val != nil && *v.val == *c.val }) {
				out = append(out, c)
			}
		}
		return out
	case "int2", "int4", "int8":
		out = append(out, argText("0", "0"), argText("-1", "-1"), argText("1", "1"), argText("366", "366"), argText("367", "367"))
		switch typ.base {
		case "int2":
			out = append(out, argText("32767", "max int2"), argText("-32768", "min int2"))
		case "int4":
			out = append(out, argText("2147483647", "max int4"), argText("-2147483648", "min int4"), argText("2147483648", "max int4 + 1"))
		default:
			out = append(out, argText("2147483647", "max int4"), argText("-2147483648", "min int4"),
				argText("9223372036854775807", "max int8"), argText("-9223372036854775808", "min int8"))
		}
		return out
	case "numeric", "float4", "float8":
		return append(out, argText("0", "0"), argText("1", "1"), argText("-1", "-1"), argText("1.0001", "1.0001"),
			argText("0.9995", "0.9995"), argText("NaN", "NaN"), argText("Infinity", "Infinity"), argText("-Infinity", "-Infinity"),
			argText("1e308", "1e308"), argText("1e-308", "1e-308"), argText("123456789012345678901234567890", "30 digits"))
	case "bool":
		return append(out, argText("true", "true"), argText("false", "false"))
	case "timestamptz", "timestamp":
		return append(out,
			argText("infinity", "infinity"), argText("-infinity", "-infinity"),
			argText("4713-01-01 00:00:00+00 BC", "4713 BC"), argText("294276-12-31 23:59:59+00", "year 294276"),
			argText("1970-01-01 00:00:00+00", "epoch"), argText("2000-02-29 12:00:00+14", "+14 offset"),
			ts(-time.Hour), ts(0), ts(time.Minute), ts(2*time.Hour), ts(24*time.Hour),
			ts(364*24*time.Hour), ts(366*24*time.Hour), ts(50*365*24*time.Hour),
			argText(h.now.Add(48*time.Hour).Format(time.DateTime)+" Pacific/Kiritimati", "zone name"),
			argText(h.now.Add(48*time.Hour).Format(time.DateTime)+" Mars/Olympus", "unknown zone name"),
			argText(h.now.Add(48*time.Hour).Format(time.DateTime)+"+99", "offset +99"),
			argText("not a time", "'not a time'"), argText("2026-02-30 10:00:00+00", "February 30"))
	case "date":
		return append(out, argText("infinity", "infinity"), argText("-infinity", "-infinity"),
			argText("4713-01-01 BC", "4713 BC"), argText("5874897-12-31", "max date"), argText(h.now.Format(time.DateOnly), "today"))
	case "time", "timetz":
		return append(out, argText("00:00", "00:00"), argText("23:59:59.999999", "23:59:59.999999"), argText("24:00", "24:00"))
	case "interval":
		return append(out, argText("0", "0"), argText("-1 second", "-1 second"), argText("1 microsecond", "1 microsecond"),
			argText("178000000 years", "178M years"), argText("-178000000 years", "-178M years"), argText("infinity", "infinity"))
	case "json", "jsonb":
		others := idsOfKind("", h.victimIDs)
		return append(out, argText("{}", "{}"), argText("[]", "[]"), argText("null", "json null"), argText(`"x"`, "json string"),
			argText(strings.Repeat("[", 1000)+strings.Repeat("]", 1000), "1000 levels deep"),
			argText(`{"k": "`+strings.Repeat("x", 200_000)+`"}`, "200k json"),
			argText(fmt.Sprintf(`{"user_id": %q, "id": %q}`, others[0].id, others[0].id), "other user's ids in json"))
	}
	return out
}

// vectors: the base call (own rows, defaults left out), then each argument through its hostile
// values with the others at base, and every argument null.
func (h *hostileRun) vectors(r rpcFunc, base []argVal, own map[string][]rowRef) []callVector {
	out := []callVector{{vals: base, label: "base"}}
	for i, a := range r.args {
		for _, v := range h.hostile(a, a.typ, own) {
			vals := slices.Clone(base)
			vals[i] = v
			out = append(out, callVector{vals: vals, label: argLabel(a, i) + "=" + v.label})
		}
	}
	if len(r.args) > 0 {
		vals := make([]argVal, len(r.args))
		for i := range vals {
			vals[i] = argNull
		}
		out = append(out, callVector{vals: vals, label: "all null"})
	}
	return out
}

func argLabel(a rpcArg, i int) string {
	if a.name == "" {
		return fmt.Sprintf("$%d", i+1)
	}
	return a.name
}

// rpcCallSQL calls the function as PostgREST does for POST /rpc/<name>: named arguments, each given
// as text and cast to its declared type (PostgREST reads them from the JSON body with the types'
// input functions), and every row of the result.
func rpcCallSQL(r rpcFunc, v callVector) (string, []any) {
	named := !slices.ContainsFunc(r.args, func(a rpcArg) bool { return a.name == "" })
	var args []string
	var params []any
	for i, a := range r.args {
		val := v.vals[i]
		if val.omit {
			if !named {
				break // positional: only trailing defaults can be left out
			}
			continue
		}
		if val.val == nil {
			params = append(params, nil)
		} else {
			params = append(params, *val.val)
		}
		expr := fmt.Sprintf("$%d::text::%s", len(params), a.typ.name)
		if named {
			expr = pgx.Identifier{a.name}.Sanitize() + " => " + expr
		}
		if a.variadic {
			expr = "variadic " + expr
		}
		args = append(args, expr)
	}
	return fmt.Sprintf("select r::text from %s(%s) r", pgx.Identifier{"public", r.name}.Sanitize(), strings.Join(args, ", ")), params
}

type callOutcome struct {
	err        *pgconn.PgError
	rows       []string
	violations []string // writes to other users' rows, found inside the transaction
}

// How a call ends.
type callMode int

const (
	probeCall     callMode = iota // rolled back
	isolatedCall                  // checked inside its transaction for writes to others' rows, rolled back
	committedCall                 // committed when it succeeds
)

// call runs one call in its own transaction as the signed-in user: role authenticated and the
// JWT claims, as PostgREST sets them (store.AsUser does the same for the service), with a
// statement timeout so a call that hangs is reported.
func (h *hostileRun) call(t *testing.T, uid string, r rpcFunc, v callVector, mode callMode, others map[string]bool, digest string) callOutcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sql, params := rpcCallSQL(r, v)
	var out callOutcome
	err := func() error {
		tx, err := h.db.Begin(ctx)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(ctx) }()
		// The transaction's first xid: whatever the call writes, in subtransactions too, has one
		// at least as large (nothing else writes this database).
		var xid int64
		if err := tx.QueryRow(ctx, `select pg_current_xact_id()::xid::text::int8,
			set_config('role', 'authenticated', true),
			set_config('request.jwt.claims', json_build_object('sub', $1::text, 'role', 'authenticated', 'aud', 'authenticated')::text, true),
			set_config('search_path', 'public, extensions', true),
			set_config('statement_timeout', '5s', true)`, uid).Scan(&xid, nil, nil, nil, nil); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, sql, params...)
		if err != nil {
			return err
		}
		texts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (string, error) {
			var s *string
			err := row.Scan(&s)
			if s == nil {
				return "", err
			}
			return *s, err
		})
		if err != nil {
			return err
		}
		out.rows = texts
		switch mode {
		case committedCall:
			return tx.Commit(ctx)
		case isolatedCall:
			if _, err := tx.Exec(ctx, `select set_config('role', 'none', true), set_config('search_path', 'public', true)`); err != nil {
				return err
			}
			var after string
			if err := tx.QueryRow(ctx, h.digestSQL, uid).Scan(&after); err != nil {
				return err
			}
			if after != digest {
				out.violations = append(out.violations, "rows that are not the caller's changed, appeared or went")
			}
			rows, err := tx.Query(ctx, h.writesSQL, xid)
			if err != nil {
				return err
			}
			written, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			for _, row := range written {
				for _, id := range uuidPattern.FindAllString(row, -1) {
					if others[id] {
						out.violations = append(out.violations, fmt.Sprintf("wrote a row naming another user's %s: %s", id, clipText(row, 300)))
						break
					}
				}
			}
		}
		return nil
	}()
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
	case errors.As(err, &pgErr):
		out.err = pgErr
	default:
		t.Fatalf("%s(%s): %v", r.name, v.label, err)
	}
	return out
}

// prepareChecks builds the two queries isolated calls check with. digest: a count and hash of
// every row, per table, that does not name the caller: any change to another user's row (or a
// shared one, the clock say) changes it. writes: every row the transaction wrote from xid $1 on.
func (h *hostileRun) prepareChecks() {
	var all, written []string
	for _, tb := range h.tables {
		lit := "'" + strings.ReplaceAll(tb, "'", "''") + "'"
		all = append(all, fmt.Sprintf("select %s as tb, t::text as r from %s t", lit, tb))
		written = append(written, fmt.Sprintf("select t::text from %s t where t.xmin::text::int8 >= $1", tb))
	}
	h.digestSQL = `select coalesce(string_agg(tb || ':' || n || ':' || s, ' ' order by tb), '') from (
		select tb, count(*) as n, sum(hashtextextended(r, 0)) as s from (` + strings.Join(all, " union all ") + `) x
		where strpos(r, $1) = 0 group by tb) y`
	h.writesSQL = strings.Join(written, " union all ")
}

func (h *hostileRun) digest(t *testing.T, attacker string) string {
	t.Helper()
	var d string
	if err := h.db.QueryRow(context.Background(), h.digestSQL, attacker).Scan(&d); err != nil {
		t.Fatal(err)
	}
	return d
}

// postgrestStatus is PostgREST's answer to an SQLSTATE (docs.postgrest.org, Errors, "HTTP Status
// Codes"), for a signed-in caller; PTxyz is a custom status xyz, and SQLSTATE PGRST carries its
// status in the JSON of the error's detail (flux.rate_limit raises it).
func postgrestStatus(e *pgconn.PgError) int {
	c := e.Code
	if c == "PGRST" {
		var d struct {
			Status int `json:"status"`
		}
		if json.Unmarshal([]byte(e.Detail), &d) == nil && d.Status > 0 {
			return d.Status
		}
		return 500
	}
	if strings.HasPrefix(c, "PT") {
		if n, err := strconv.Atoi(c[2:]); err == nil {
			return n
		}
	}
	switch c {
	case "23503", "23505":
		return 409
	case "25006":
		return 405
	case "53400", "42P17":
		return 500
	case "P0001":
		return 400
	case "42883", "42P01":
		return 404
	case "42501":
		return 403
	}
	switch c[:2] {
	case "08", "53":
		return 503
	case "09", "25", "2D", "38", "39", "3B", "40", "54", "55", "57", "58", "F0", "HV", "P0", "XX":
		return 500
	case "0L", "0P", "28":
		return 403
	}
	return 400
}

// documentedCode: the 4xx a client is told to expect. The RPCs' own codes (PTxyz, 22023, PGRST
// for rate limits: see the surface migration), a bad value of the argument's type (class 22, data
// exception: invalid text, out of range, a bad date) and a rule of a table the client sees (class
// 23 on a public table, or raised naming a constraint: the generated types and the error name
// it). A constraint of an internal table (flux, auth) tells a client nothing it can act on, and
// anything else (42703, 21000, a bare RAISE's P0001, ...) is a function failing on input it
// should have checked.
func documentedCode(e *pgconn.PgError) bool {
	switch {
	case strings.HasPrefix(e.Code, "PT"), e.Code == "PGRST", strings.HasPrefix(e.Code, "22"):
		return true
	case strings.HasPrefix(e.Code, "23"):
		return e.SchemaName == "" || e.SchemaName == "public"
	}
	return false
}

// castRejects reports whether the value itself does not convert to the argument's type with the
// same error: then no function was called, and the failure is the type's, not the RPC's.
func (h *hostileRun) castRejects(r rpcFunc, v callVector, code string) bool {
	ctx := context.Background()
	for i, a := range r.args {
		if v.vals[i].val == nil {
			continue
		}
		_, err := h.db.Exec(ctx, fmt.Sprintf("select $1::text::%s", a.typ.name), *v.vals[i].val)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == code {
			return true
		}
	}
	return false
}

// probe finds a base call that succeeds on the attacker's own rows: defaults left out, each
// required argument at its first candidate, then one argument at a time through its candidates.
// Rolled back: it only chooses the base.
func (h *hostileRun) probe(t *testing.T, r rpcFunc, attacker string, own map[string][]rowRef) ([]argVal, bool) {
	t.Helper()
	cands := make([][]argVal, len(r.args))
	base := make([]argVal, len(r.args))
	for i, a := range r.args {
		if a.hasDefault {
			base[i] = argVal{omit: true, label: "default"}
			continue
		}
		cands[i] = h.candidates(a, a.typ, own)
		base[i] = argNull
		if len(cands[i]) > 0 {
			base[i] = cands[i][0]
		}
	}
	try := func(vals []argVal) bool {
		out := h.call(t, attacker, r, callVector{vals: vals, label: "probe"}, probeCall, nil, "")
		return out.err == nil
	}
	if try(base) {
		return base, true
	}
	for range 2 {
		for i := range r.args {
			for _, c := range cands[i] {
				vals := slices.Clone(base)
				vals[i] = c
				if try(vals) {
					return vals, true
				}
			}
		}
	}
	return base, false
}

type hostileFinding struct {
	example string
	count   int
}

// attack runs every hostile call of one RPC as its own attacker, twice: each call alone against
// the attacker's rows as they were set up (rolled back after checking what it wrote), then all
// of them in turn, committed, and everybody else's rows compared with before. Returns the
// snapshot after.
func (h *hostileRun) attack(t *testing.T, r rpcFunc, attacker string, before tableRows) tableRows {
	others := othersIDs(before, attacker)
	ownAll := h.idPools(t, []string{attacker}, attacker)
	base, ok := h.probe(t, r, attacker, ownAll)
	succeeded := 0
	if ok {
		succeeded++
	}
	findings := map[string]*hostileFinding{}
	note := func(key, example string) {
		f := findings[key]
		if f == nil {
			f = &hostileFinding{example: example}
			findings[key] = f
		}
		f.count++
	}
	codes := map[string]int{}
	vectors := h.vectors(r, base, ownAll)
	// A JWT outlives its account (deleting the user does not revoke it): the same base call and
	// an all-null one from a user who is gone must change and reveal nothing either.
	ghost := uuid.NewString()
	var ghostVectors []callVector
	for _, v := range vectors {
		if v.label == "base" || v.label == "all null" {
			ghostVectors = append(ghostVectors, callVector{vals: v.vals, label: v.label + ghostSuffix})
		}
	}
	type caller struct {
		uid     string
		others  map[string]bool
		digest  string
		vectors []callVector
	}
	callers := []caller{
		{attacker, others, h.digest(t, attacker), vectors},
		// Nothing is the ghost's: every row counts as someone else's, the attacker's too.
		{ghost, othersIDs(before, ghost), h.digest(t, ghost), ghostVectors},
	}
	for _, mode := range []callMode{isolatedCall, committedCall} {
		for _, c := range callers {
			for _, v := range c.vectors {
				out := h.call(t, c.uid, r, v, mode, c.others, c.digest)
				h.calls++
				for _, violation := range out.violations {
					note("write/"+argOfLabel(v.label), v.label+": "+violation)
				}
				if out.err == nil {
					succeeded++
					h.succeeded++
					codes["ok"]++
					h.checkLeaks(v, out.rows, c.others, note)
					continue
				}
				e := out.err
				status := postgrestStatus(e)
				codes[fmt.Sprintf("%s/%d", e.Code, status)]++
				switch {
				case (status >= 500 || !documentedCode(e)) && h.castRejects(r, v, e.Code):
					// The value never reached the function: its type refused it.
				case status >= 500:
					note(fmt.Sprintf("5xx/%s/%s", e.Code, argOfLabel(v.label)),
						fmt.Sprintf("%s: SQLSTATE %s (PostgREST: HTTP %d): %s", v.label, e.Code, status, clipText(e.Message, 300)))
				case !documentedCode(e):
					note(fmt.Sprintf("undocumented/%s/%s", e.Code, argOfLabel(v.label)),
						fmt.Sprintf("%s: undocumented SQLSTATE %s (HTTP %d): %s", v.label, e.Code, status, clipText(e.Message, 300)))
				}
			}
		}
	}

	after := h.snapshot(t)
	if d := diffOthers(before, after, attacker, others); len(d) > 0 {
		if len(d) > 20 {
			d = append(d[:20], fmt.Sprintf("… and %d more", len(d)-20))
		}
		t.Errorf("%s(%s): after the committed calls, rows of other users differ:\n%s", r.name, r.signature, strings.Join(d, "\n"))
	}
	keys := make([]string, 0, len(findings))
	for k := range findings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := findings[k]
		t.Errorf("%s(%s): %s (%d calls like it)", r.name, r.signature, f.example, f.count)
	}
	if succeeded == 0 {
		t.Errorf("%s(%s): no call succeeded, so none reached past its checks: give the attacker a row it accepts (newUser) or candidates for its arguments", r.name, r.signature)
	}
	var summary []string
	for c, n := range codes {
		summary = append(summary, fmt.Sprintf("%s×%d", c, n))
	}
	sort.Strings(summary)
	t.Logf("%d argument vectors (and %d by a deleted account), each called alone and then in turn committed: %s",
		len(vectors), len(ghostVectors), strings.Join(summary, " "))
	return after
}

// checkLeaks: a successful call returns no id of another user's row, but for those it was given.
func (h *hostileRun) checkLeaks(v callVector, rows []string, others map[string]bool, note func(key, example string)) {
	passed := map[string]bool{}
	for _, a := range v.vals {
		if a.val != nil {
			for _, id := range uuidPattern.FindAllString(*a.val, -1) {
				passed[id] = true
			}
		}
	}
	for _, row := range rows {
		for _, id := range uuidPattern.FindAllString(row, -1) {
			if others[id] && !passed[id] {
				note("leak/"+argOfLabel(v.label), fmt.Sprintf("%s: returned another user's id %s: %s", v.label, id, clipText(row, 300)))
				return
			}
		}
	}
}

// argOfLabel groups findings: by the argument a call varied, and a deleted account's calls together.
func argOfLabel(label string) string {
	if strings.HasSuffix(label, ghostSuffix) {
		return "deleted account"
	}
	name, _, _ := strings.Cut(label, "=")
	return name
}
