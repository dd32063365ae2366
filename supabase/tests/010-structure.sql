-- Structure and security invariants, checked over every table the catalog lists, so a table added
-- later is held to the same rules without editing this file.
begin;
set local search_path = extensions, public, tests;
select plan(23);

-- Every public table holds user data and has RLS on, with an owner column the policies use.
select is(
  (select array_agg(c.relname::text order by c.relname) from pg_class c
   where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' and not c.relrowsecurity),
  null,
  'RLS is enabled on every table in public');

select is(
  (select array_agg(t.table_name::text order by t.table_name) from information_schema.tables t
   where t.table_schema = 'public' and t.table_type = 'BASE TABLE'
     and not exists (select 1 from tests.user_tables() u where u.schema_name = 'public' and u.table_name = t.table_name)),
  null,
  'every table in public has an owner column (user_id, or id for users)');

select cmp_ok(
  (select count(*)::int from tests.user_tables() where schema_name = 'public'), '>=', 9,
  'the owner-column discovery finds the user tables');

-- Policies: only for authenticated, and every one compares the owner with (select auth.uid()).
select is(
  (select array_agg(policyname::text order by policyname) from pg_policies
   where schemaname = 'public' and roles <> '{authenticated}'),
  null,
  'every policy applies TO authenticated only');

select is(
  (select array_agg(policyname::text order by policyname) from pg_policies
   where schemaname = 'public'
     and coalesce(qual, '') || coalesce(with_check, '') !~ 'SELECT auth\.uid\(\) AS uid'),
  null,
  'every policy is written with (select auth.uid())');

select is(
  (select array_agg(distinct tablename::text) from pg_policies p
   where schemaname = 'public' and cmd = 'ALL'),
  null,
  'policies are per command, never FOR ALL');

-- A policy for every command the role is granted, and no grant without a policy to scope it.
select is(
  (select array_agg(format('%s %s', t.relname, g.cmd) order by t.relname, g.cmd)
   from pg_class t
   cross join (values ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE')) g(cmd)
   where t.relnamespace = 'public'::regnamespace and t.relkind = 'r'
     and (case g.cmd when 'DELETE' then has_table_privilege('authenticated', t.oid, g.cmd)
                     else has_any_column_privilege('authenticated', t.oid, g.cmd) end)
         <> exists (select 1 from pg_policies p
                    where p.schemaname = 'public' and p.tablename = t.relname and p.cmd = g.cmd)),
  null,
  'authenticated has a policy exactly for each command it is granted');

-- anon gets nothing: no table, column, sequence or function privilege in public or flux.
select is(
  (select array_agg(format('%s.%s %s', table_schema, table_name, privilege_type))
   from information_schema.role_table_grants
   where grantee = 'anon' and table_schema in ('public', 'flux')),
  null,
  'anon has no table privileges');

select is(
  (select array_agg(format('%s.%s.%s', table_schema, table_name, column_name))
   from information_schema.column_privileges
   where grantee = 'anon' and table_schema in ('public', 'flux')),
  null,
  'anon has no column privileges');

select is(
  (select array_agg(p.oid::regprocedure::text) from pg_proc p
   where p.pronamespace in ('public'::regnamespace, 'flux'::regnamespace)
     and has_function_privilege('anon', p.oid, 'execute')),
  null,
  'anon can execute no function in public or flux');

select ok(not has_schema_privilege('anon', 'flux', 'usage'), 'anon has no usage on the private schema');

-- The private schema: nothing readable or writable by authenticated except the clock.
select is(
  (select array_agg(format('%s %s', table_name, privilege_type) order by table_name, privilege_type)
   from information_schema.role_table_grants
   where grantee = 'authenticated' and table_schema = 'flux'),
  array['clock SELECT', 'timezone_names SELECT'],
  'authenticated reads only the clock and the zone names in the private schema');

select ok(
  (select bool_and(has_function_privilege('authenticated', p.oid, 'execute') = false)
   from pg_proc p where p.pronamespace = 'flux'::regnamespace and p.prorettype = 'trigger'::regtype),
  'trigger functions are not executable by authenticated');

-- SECURITY DEFINER only with an empty search_path.
select is(
  (select array_agg(p.oid::regprocedure::text) from pg_proc p
   where p.pronamespace in ('public'::regnamespace, 'flux'::regnamespace) and p.prosecdef
     and not coalesce(p.proconfig @> array['search_path=""'], false)),
  null,
  'every SECURITY DEFINER function sets search_path = ''''');

-- Foreign keys to auth.users cascade, so erasing the auth user erases everything of theirs.
select is(
  (select array_agg(conrelid::regclass::text order by conrelid::regclass::text) from pg_constraint
   where contype = 'f' and confrelid = 'auth.users'::regclass and confdeltype <> 'c'),
  null,
  'every foreign key to auth.users is ON DELETE CASCADE');

select is(
  (select array_agg(format('%s.%s', u.schema_name, u.table_name))
   from tests.user_tables() u
   where not exists (
     select 1 from pg_constraint c
     where c.contype = 'f' and c.conrelid = format('%I.%I', u.schema_name, u.table_name)::regclass
       and (c.confrelid = 'auth.users'::regclass
            -- the outbox and the notification log reach the user through their task
            or (c.confrelid = 'public.tasks'::regclass and c.confdeltype = 'c'
                and c.conkey @> array[(select attnum from pg_attribute
                                       where attrelid = c.conrelid and attname = 'user_id')])))),
  null,
  'every user table references auth.users, directly or through its task');

-- The indexes the product needs (by columns, whatever their names).
select is(
  (select array_agg(want order by want) from (values
     ('public.tasks (user_id, scheduled_at)'), ('public.tasks (user_id, status)'), ('public.tasks (goal_id)'),
     ('public.tasks (escalation_due_at)'), ('public.goals (user_id, status)'), ('public.goals (parent_goal_id, pipeline_order)'),
     ('public.messages (conversation_id, created_at)'), ('public.patterns (user_id, pattern_type)'),
     ('public.dispatch_log (next_attempt_at, id)')) w(want)
   where not exists (
     select 1 from pg_index i
     join pg_class r on r.oid = i.indrelid
     where format('%s.%s (%s)', r.relnamespace::regnamespace, r.relname,
                  (select string_agg(a.attname, ', ' order by k.n) from unnest(i.indkey) with ordinality k(attnum, n)
                   join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum)) = w.want)),
  null,
  'the indexes the product needs exist');

select is(
  (select pg_get_expr(indpred, indrelid) from pg_index where indexrelid = 'public.dispatch_log_pending_idx'::regclass),
  '(status = ''pending''::dispatch_status)',
  'the outbox index covers pending rows only');

-- The claims must take their batch from an ordered index scan even when the statistics are stale
-- (right after a burst): a sort or bitmap over the whole backlog per batch made draining it
-- quadratic. The rest of the escalation claim (and the auto-miss triggers) plans normally, and
-- the free-slot check claim_outbox calls needs sorts back. (Every function also pins search_path:
-- 015-advisor.sql.)
select is(
  (select string_agg(p.proname || ': ' || coalesce(nullif(array_to_string(array(
            select c from unnest(p.proconfig) c where c not like 'search_path=%'), ', '), ''), 'defaults'),
          '; ' order by p.proname)
   from pg_proc p
   where p.pronamespace = 'flux'::regnamespace
     and p.proname in ('lock_due_tasks', 'claim_escalations', 'claim_outbox', 'users_with_free_slot')),
  'claim_escalations: defaults; '
  'claim_outbox: enable_sort=off, enable_bitmapscan=off; '
  'lock_due_tasks: enable_sort=off, enable_bitmapscan=off; '
  'users_with_free_slot: enable_sort=on, enable_bitmapscan=on',
  'the claims take their batch without sorts or bitmaps; the rest plans normally');

-- Publications: the listener's change feed, and what clients watch through Realtime.
-- Only the columns the listener reads are streamed (a title or a message's content never is).
select set_eq(
  $$ select tablename || ' (' || array_to_string(attnames, ', ') || ')' from pg_publication_tables where pubname = 'flux_listener' $$,
  array['tasks (id, escalation_due_at)'],
  'flux_listener publishes every change to tasks, with the columns the listener reads');
select set_eq(
  $$ select tablename || ' (' || array_to_string(attnames, ', ') || ')' from pg_publication_tables where pubname = 'flux_listener_inserts' $$,
  array['messages (id, role)', 'dispatch_log (id, status)'],
  'flux_listener_inserts publishes messages and dispatch_log, with the columns the listener reads');
select is(
  (select array[pubinsert, pubupdate, pubdelete, pubtruncate] from pg_publication where pubname = 'flux_listener_inserts'),
  array[true, false, false, false],
  'flux_listener_inserts publishes new rows only');

select set_has(
  $$ select tablename::text from pg_publication_tables where pubname = 'supabase_realtime' and schemaname = 'public' $$,
  $$ values ('messages'), ('tasks'), ('goals') $$,
  'supabase_realtime carries messages, tasks and goals');

select * from finish();
rollback;
