-- The seed gives each demo user realistic data in every user table (found from the catalog, so
-- a new table must be seeded too).
begin;
set local search_path = extensions, public, tests;
select plan(7);

select is(
  (select array_agg(format('%s.%s for %s', t.schema_name, t.table_name, u.email) order by 1)
   from tests.user_tables() t cross join public.users u
   where u.email in ('alex@demo.flux.local', 'sam@demo.flux.local')
     and t.schema_name = 'public'
     and tests.count_rows_of(t.schema_name, t.table_name, t.owner_column, u.id) = 0),
  null,
  'both demo users have rows in every public user table');

select ok(
  (select bool_and(onboarded) from public.users where email in ('alex@demo.flux.local', 'sam@demo.flux.local')),
  'the demo users are onboarded');

select ok(
  exists (select 1 from public.goals g join public.goals c on c.parent_goal_id = g.id
          where g.user_id = '11111111-1111-4111-8111-111111111111' and g.status = 'active' and c.status = 'pipeline'),
  'an active goal has a pipeline of micro-goals');

select ok(
  (select count(distinct status) = 3 from public.tasks
   where user_id = '11111111-1111-4111-8111-111111111111' and recurrence_rule is not null and status in ('pending', 'done', 'missed')),
  'recurring tasks have done, missed and upcoming occurrences');

select ok(
  exists (select 1 from public.messages where role = 'assistant' and metadata <> '{}'),
  'an assistant message carries plan-card metadata');

-- The rollups agree with the seeded tasks (the seed went through the same triggers).
select results_eq(
  $$ select user_id, sum(done)::bigint, sum(missed)::bigint, sum(pending)::bigint from flux.task_day_stats
     where user_id in ('11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222') group by 1 order by 1 $$,
  $$ select user_id, count(*) filter (where status = 'done'), count(*) filter (where status = 'missed'), count(*) filter (where status = 'pending')
     from public.tasks where user_id in ('11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222') group by 1 order by 1 $$,
  'the day rollups match the seeded tasks');

select ok(
  (select count(*) > 0 from public.notification_log where external_id ~ '^(SM|CA)[0-9a-f]{32}$'),
  'notification history carries Twilio-shaped provider ids');

select * from finish();
rollback;
