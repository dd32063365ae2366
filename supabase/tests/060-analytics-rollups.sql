-- Analytics rollups follow every task change (insert, status change, move, delete) on the owner's
-- local day, are rebuilt when the timezone changes, and are unreadable through the API.
begin;
set local search_path = extensions, public, tests;
select plan(11);
select tests.create_user('nina', 'America/New_York');
insert into goals (id, user_id, title, class_tags) values ('00000000-0000-4000-8000-00000000a001', tests.uid('nina'), 'Run', '{Fitness}');

-- Due times in UTC; comments give the New York (UTC-4 in March after the DST switch on the 8th) day.
insert into tasks (id, user_id, goal_id, title, scheduled_at) values
  ('00000000-0000-4000-8000-00000000b001', tests.uid('nina'), null, 't1', '2026-03-10 14:00Z'),  -- 03-10 10:00
  ('00000000-0000-4000-8000-00000000b002', tests.uid('nina'), null, 't2', '2026-03-11 03:30Z'),  -- 03-10 23:30
  ('00000000-0000-4000-8000-00000000b003', tests.uid('nina'), '00000000-0000-4000-8000-00000000a001', 't3', '2026-03-11 15:00Z'),  -- 03-11
  ('00000000-0000-4000-8000-00000000b004', tests.uid('nina'), null, 't4', '2026-03-11 16:00Z'),  -- 03-11
  ('00000000-0000-4000-8000-00000000b005', tests.uid('nina'), null, 't5', '2026-03-12 12:00Z'),  -- 03-12
  ('00000000-0000-4000-8000-00000000b006', tests.uid('nina'), '00000000-0000-4000-8000-00000000a001', 't6', '2026-03-12 13:00Z'); -- 03-12

update tasks set status = 'done' where title = 't2';
update tasks set status = 'missed' where title = 't3';
update tasks set status = 'cancelled' where title = 't4';
delete from tasks where title = 't5';
update tasks set scheduled_at = '2026-03-13 13:00Z' where title = 't6';

select results_eq(
  $$ select day, pending, done, missed from flux.task_day_stats
     where user_id = tests.uid('nina') and pending + done + missed > 0 order by day $$,
  $$ values ('2026-03-10'::date, 1, 1, 0), ('2026-03-11'::date, 0, 0, 1), ('2026-03-13'::date, 1, 0, 0) $$,
  'day counters: a 23:30 local task counts on its local day; cancelled and deleted tasks count nowhere');
select results_eq(
  $$ select pending, done, missed from flux.goal_task_stats where goal_id = '00000000-0000-4000-8000-00000000a001' $$,
  $$ values (1, 0, 1) $$, 'goal counters follow the goal''s tasks');

-- The same numbers recomputed from the tasks themselves.
create function pg_temp.recomputed(p_user uuid) returns table (day date, pending bigint, done bigint, missed bigint)
language sql as $$
  select (coalesce(t.scheduled_at, t.completed_at, t.created_at) at time zone u.timezone)::date,
         count(*) filter (where status = 'pending'), count(*) filter (where status = 'done'), count(*) filter (where status = 'missed')
  from public.tasks t join public.users u on u.id = t.user_id
  where t.user_id = p_user and t.status in ('pending', 'done', 'missed') group by 1 order by 1 $$;
select results_eq(
  $$ select day, pending::bigint, done::bigint, missed::bigint from flux.task_day_stats where user_id = tests.uid('nina') and pending + done + missed > 0 order by day $$,
  $$ select * from pg_temp.recomputed(tests.uid('nina')) $$,
  'the counters equal a recomputation from tasks');

-- A goal reassignment moves the task between goal counters.
insert into goals (id, user_id, title) values ('00000000-0000-4000-8000-00000000a002', tests.uid('nina'), 'Stretch');
update tasks set goal_id = '00000000-0000-4000-8000-00000000a002' where title = 't6';
select results_eq(
  $$ select goal_id, pending, done, missed from flux.goal_task_stats where user_id = tests.uid('nina') order by goal_id $$,
  $$ values ('00000000-0000-4000-8000-00000000a001'::uuid, 0, 0, 1), ('00000000-0000-4000-8000-00000000a002'::uuid, 1, 0, 0) $$,
  'moving a task to another goal moves its count');

-- Timezone change: every task's local day moves (Tokyo is UTC+9).
update users set timezone = 'Asia/Tokyo' where id = tests.uid('nina');
select results_eq(
  $$ select day, pending, done, missed from flux.task_day_stats
     where user_id = tests.uid('nina') and pending + done + missed > 0 order by day $$,
  $$ values ('2026-03-10'::date, 1, 0, 0), ('2026-03-11'::date, 0, 1, 0), ('2026-03-12'::date, 0, 0, 1), ('2026-03-13'::date, 1, 0, 0) $$,
  'a timezone change rebuilds the day counters on the new local days');

-- A location task with no due time counts on the day it was done.
insert into tasks (id, user_id, title, trigger_type, location_trigger, created_at)
values ('00000000-0000-4000-8000-00000000b007', tests.uid('nina'), 'Buy milk', 'location', '{"place":"home","event":"leave"}', '2026-03-20 01:00Z');
update tasks set status = 'done', completed_at = '2026-03-21 16:00Z' where title = 'Buy milk';
select results_eq(
  $$ select day, done from flux.task_day_stats where user_id = tests.uid('nina') and day >= '2026-03-20' and pending + done + missed > 0 $$,
  $$ values ('2026-03-22'::date, 1) $$,
  'a location task counts on its local completion day (01:00 Tokyo on the 22nd)');
select results_eq(
  $$ select day, pending::bigint, done::bigint, missed::bigint from flux.task_day_stats where user_id = tests.uid('nina') and pending + done + missed > 0 order by day $$,
  $$ select * from pg_temp.recomputed(tests.uid('nina')) $$,
  'still equal to a recomputation after all of it');

-- Many changes in random order (a fixed seed): status changes between every pair of statuses,
-- which take the one-write path when day and goal stay, mixed with moves across days and goals.
select setseed(0.25);
insert into tasks (user_id, goal_id, title, scheduled_at)
select tests.uid('nina'), case when i % 3 = 0 then null when i % 3 = 1 then '00000000-0000-4000-8000-00000000a001'::uuid
                              else '00000000-0000-4000-8000-00000000a002'::uuid end,
       'r' || i, '2026-04-01 12:00Z'::timestamptz + i * interval '7 hours'
from generate_series(1, 40) i;
do $$
declare
  v_id uuid;
begin
  for i in 1..400 loop
    select id into v_id from tasks where title like 'r%' order by random() limit 1;
    case floor(random() * 8)::int
      when 0 then update tasks set scheduled_at = scheduled_at + interval '1 day' where id = v_id;
      when 1 then update tasks set goal_id = case when goal_id is null then '00000000-0000-4000-8000-00000000a001'::uuid end where id = v_id;
      else update tasks set status = (array['pending', 'done', 'missed', 'cancelled', 'rescheduled']::task_status[])[1 + floor(random() * 5)::int] where id = v_id;
    end case;
  end loop;
end
$$;
select results_eq(
  $$ select day, pending::bigint, done::bigint, missed::bigint from flux.task_day_stats where user_id = tests.uid('nina') and pending + done + missed > 0 order by day $$,
  $$ select * from pg_temp.recomputed(tests.uid('nina')) $$,
  'day counters equal a recomputation after 400 random changes');
select results_eq(
  $$ select goal_id, pending, done, missed from flux.goal_task_stats where user_id = tests.uid('nina') and pending + done + missed > 0 order by goal_id $$,
  $$ select goal_id, count(*) filter (where status = 'pending')::int, count(*) filter (where status = 'done')::int, count(*) filter (where status = 'missed')::int
     from tasks where user_id = tests.uid('nina') and goal_id is not null and status in ('pending', 'done', 'missed') group by goal_id order by goal_id $$,
  'goal counters equal a recomputation after 400 random changes');

-- Nothing materialized is readable through the API.
select tests.authenticate_as('nina');
select throws_ok($$ select * from flux.task_day_stats $$, '42501', 'permission denied for table task_day_stats', 'users cannot read the day rollup directly');
select throws_ok($$ select * from flux.goal_task_stats $$, '42501', 'permission denied for table goal_task_stats', 'users cannot read the goal rollup directly');

select * from finish();
rollback;
