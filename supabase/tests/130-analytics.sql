-- Analytics API: the four RPC functions on the demo seed (values worked out by hand from the seed's
-- story), streaks and weeks on local days, who may call them, the rate limit, and that they write
-- nothing but the rate counter.
begin;
set local search_path = extensions, public, tests;
select plan(44);

-- Pin the clock: now() is constant in a transaction, so flux.now() is exactly this instant, a
-- Wednesday: 11:00 in Berlin (UTC+1, before the DST switch of 03-29), 05:00 in New York (UTC-5,
-- before 03-08). Then seed again: the seed dates everything from flux.now().
update flux.clock set warp = timestamptz '2026-03-04 10:00Z' - now();
\ir ../seed.sql
insert into tests.named_users (name, id) values
  ('alex', '11111111-1111-4111-8111-111111111111'), ('sam', '22222222-2222-4222-8222-222222222222');

-- Alex (Berlin). today = Wed 03-04; s = today - isodow(today - 1) - 14 = Mon 02-16.
-- Runs Mon/Wed/Fri 07:00 on s+i: i = 0, 7, 14 missed (02-16, 02-23, 03-02); i = 9 (02-25)
-- rescheduled, counted nowhere; 2, 4, 11, 16 done (02-18, 02-20, 02-27, today 07:00 < 11:00);
-- the moved run 02-26 done; 10 later runs pending (18 in all). Stretching on Sundays: 02-22 and
-- 03-01 done, 4 pending. So goal 5K (and its umbrella): done 7, missed 3, pending 14, total 24.
-- Budget (completed): 02-04, 02-07, 02-10, 02-13 done. Standalone: climbing Thursdays 02-05, 02-12,
-- 02-19, 02-26 done, 03-05 and 03-12 pending; Call Mum 03-02 done; physio 03-08 pending; haircut
-- cancelled; the location task counts on its creation day 03-03 (21:10), pending.
select tests.authenticate_as('alex');
select is(analytics_overview() -> 'today', '{"date": "2026-03-04", "done": 1, "total": 1, "percent": 100.0}',
  'Alex today: the 07:00 run is done, nothing else is due');
select is(analytics_overview() -> 'streak', '{"days": 1, "includes_today": true}',
  'Alex streak: today only, as yesterday had a task (the location task, open) and none done');
select is(analytics_overview() -> 'timezone', '"Europe/Berlin"', 'the overview names the timezone of its days');
-- 02-23 missed run; 02-24/25 nothing counted (the rescheduled run counts nowhere); 02-26 moved run
-- + climbing; 02-27 run; 02-28 nothing; 03-01 stretching; 03-02 missed run + Call Mum; 03-03 the
-- open location task; 03-04 the run.
select is(analytics_overview(10) -> 'heatmap',
  '[{"date": "2026-02-23", "done": 0, "total": 1}, {"date": "2026-02-26", "done": 2, "total": 2},
    {"date": "2026-02-27", "done": 1, "total": 1}, {"date": "2026-03-01", "done": 1, "total": 1},
    {"date": "2026-03-02", "done": 1, "total": 2}, {"date": "2026-03-03", "done": 0, "total": 1},
    {"date": "2026-03-04", "done": 1, "total": 1}]',
  'Alex heatmap over 10 days: only days with tasks, oldest first');
-- Cross-check against a recount over the tasks themselves (not the rollups).
select results_eq(
  $$ select h.date, h.done, h.total
     from jsonb_to_recordset(analytics_overview(91) -> 'heatmap') as h (date date, done integer, total integer) $$,
  $$ select d, dn, tot from (
       select (coalesce(t.scheduled_at, t.completed_at, t.created_at) at time zone 'Europe/Berlin')::date as d,
              (count(*) filter (where t.status = 'done'))::integer as dn, count(*)::integer as tot
       from tasks t where t.status in ('pending', 'done', 'missed') group by 1) x
     where d between date '2026-03-04' - 90 and date '2026-03-04' order by d $$,
  'Alex heatmap over 91 days equals a recount of her tasks (18 days, from sign-up week on)');
select results_eq(
  $$ select goal_id, title, status::text, class_tags, parent_goal_id, pipeline_order, done, missed, pending, total, percent
     from analytics_goal_progress() $$,
  $$ values
     ('1a000000-0000-4000-8000-000000000005'::uuid, 'Set up a monthly budget', 'completed', '{Financial}'::text[], null::uuid, null::integer, 4, 0, 0, 4, 100.0),
     ('1a000000-0000-4000-8000-000000000001', 'Run a half marathon', 'active', '{Fitness,Health}', null, null, 7, 3, 14, 24, 29.2),
     ('1a000000-0000-4000-8000-000000000002', 'Run 5K without stopping', 'active', '{Fitness,Health}', '1a000000-0000-4000-8000-000000000001', 1, 7, 3, 14, 24, 29.2),
     ('1a000000-0000-4000-8000-000000000003', 'Run 10K', 'pipeline', '{Fitness,Health}', '1a000000-0000-4000-8000-000000000001', 2, 0, 0, 0, 0, null),
     ('1a000000-0000-4000-8000-000000000004', 'Run 21K', 'pipeline', '{Fitness,Health}', '1a000000-0000-4000-8000-000000000001', 3, 0, 0, 0, 0, null) $$,
  'Alex goal progress: budget first (created first), the umbrella sums its sprints (7/24 = 29.2%), pipeline sprints empty');
select results_eq(
  $$ select category, missed, total, missed_percent from analytics_missed_by_category() $$,
  $$ values ('Fitness', 3, 24, 12.5), ('Health', 3, 24, 12.5), ('Financial', 0, 4, 0.0) $$,
  'Alex missed by category: the 5K tasks once under each of its two tags (not again via the umbrella); climbing has no goal');
-- ISO weeks: 02-02 budget x2 + climbing; 02-09 budget x2 + climbing; 02-16 runs 0(missed), 2, 4,
-- climbing, stretching; 02-23 run 7 missed, 11, moved run, climbing, stretching; 03-02 run 14
-- missed, 16 done, 18 pending, Call Mum done, location, climbing, stretching, physio (8, 2 done).
select results_eq(
  $$ select week_start, done, total, percent from analytics_weekly_completion() $$,
  $$ values ('2025-12-15'::date, 0, 0, null::numeric), ('2025-12-22', 0, 0, null), ('2025-12-29', 0, 0, null),
            ('2026-01-05', 0, 0, null), ('2026-01-12', 0, 0, null), ('2026-01-19', 0, 0, null),
            ('2026-01-26', 0, 0, null), ('2026-02-02', 3, 3, 100.0), ('2026-02-09', 3, 3, 100.0),
            ('2026-02-16', 4, 5, 80.0), ('2026-02-23', 4, 5, 80.0), ('2026-03-02', 2, 8, 25.0) $$,
  'Alex weekly completion: 12 weeks by default, empty weeks present, the current week whole');

-- Sam (New York). today = Wed 03-04 (05:00); s = today - 12 = Fri 02-20; meditation abandoned at
-- 02-27 20:41. Spanish 21:30 on s+i: Fridays 02-20, 02-27 missed, 02-21..03-03 otherwise done (10),
-- 30 pending from today. Podcast Tue/Thu 18:45: 02-24 done, 02-26 missed, 03-03 done, 9 pending.
-- So the Spanish sprint: done 12, missed 3, pending 39, total 54 (22.2%). Meditation 08:15 from
-- 02-15 to 02-27 (13): 02-15, 02-16, 02-21 done, 10 missed, later ones cancelled. Choir Wednesdays
-- 02-18, 02-25 done, 03-04 on pending; rent 02-23 done; flights 03-07 pending; location task
-- created 03-03 23:02 local (03-04 in UTC), pending.
select tests.authenticate_as('sam');
-- Today: Spanish and choir still to come. Streak: 03-03 (Spanish, podcast), 03-02, 03-01, 02-28
-- (Spanish) done; 02-27 only misses (Spanish and meditation): 4 days, not including today.
select is(analytics_overview(7),
  '{"timezone": "America/New_York",
    "today": {"date": "2026-03-04", "done": 0, "total": 2, "percent": 0.0},
    "streak": {"days": 4, "includes_today": false},
    "heatmap": [{"date": "2026-02-26", "done": 1, "total": 3}, {"date": "2026-02-27", "done": 0, "total": 2},
                {"date": "2026-02-28", "done": 1, "total": 1}, {"date": "2026-03-01", "done": 1, "total": 1},
                {"date": "2026-03-02", "done": 1, "total": 1}, {"date": "2026-03-03", "done": 2, "total": 3},
                {"date": "2026-03-04", "done": 0, "total": 2}]}',
  'Sam overview: today not done yet keeps a 4-day streak; the 23:02 location task is on 03-03, his local day');
select results_eq(
  $$ select h.date, h.done, h.total
     from jsonb_to_recordset(analytics_overview(91) -> 'heatmap') as h (date date, done integer, total integer) $$,
  $$ select d, dn, tot from (
       select (coalesce(t.scheduled_at, t.completed_at, t.created_at) at time zone 'America/New_York')::date as d,
              (count(*) filter (where t.status = 'done'))::integer as dn, count(*)::integer as tot
       from tasks t where t.status in ('pending', 'done', 'missed') group by 1) x
     where d between date '2026-03-04' - 90 and date '2026-03-04' order by d $$,
  'Sam heatmap over 91 days equals a recount of his tasks');
select results_eq(
  $$ select goal_id, title, status::text, parent_goal_id, pipeline_order, done, missed, pending, total, percent
     from analytics_goal_progress() $$,
  $$ values
     ('2a000000-0000-4000-8000-000000000001'::uuid, 'Learn conversational Spanish', 'active', null::uuid, null::integer, 12, 3, 39, 54, 22.2),
     ('2a000000-0000-4000-8000-000000000002', 'Spanish foundations: 500 words and the present tense', 'active', '2a000000-0000-4000-8000-000000000001', 1, 12, 3, 39, 54, 22.2),
     ('2a000000-0000-4000-8000-000000000003', 'Weekly conversations with a tutor', 'pipeline', '2a000000-0000-4000-8000-000000000001', 2, 0, 0, 0, 0, null) $$,
  'Sam goal progress: the abandoned meditation goal is left out');
select results_eq(
  $$ select category, missed, total, missed_percent from analytics_missed_by_category() $$,
  $$ values ('Health', 10, 13, 76.9), ('Mental Health', 10, 13, 76.9), ('Learning', 3, 54, 5.6), ('Travel', 3, 54, 5.6) $$,
  'Sam missed by category: the abandoned goal''s misses still count (10/13); standalone choir, rent, flights in none');
-- 02-09: meditation 02-15 done. 02-16..22: meditation 02-16 d, 02-17..20 m, 02-21 d, 02-22 m,
-- choir 02-18 d, Spanish 02-20 m, 02-21 d, 02-22 d: 5 done of 11. 02-23..03-01: meditation 5 missed,
-- Spanish 6 done + 02-27 missed, rent, podcast d + m, choir: 9 of 16 (56.25 -> 56.3). 03-02..08:
-- Spanish 03-02, 03-03 done + 5 pending, podcasts 03-03 done + 03-05 pending, location, choir,
-- flights: 3 of 12.
select results_eq(
  $$ select week_start, done, total, percent from analytics_weekly_completion(4) $$,
  $$ values ('2026-02-09'::date, 1, 1, 100.0), ('2026-02-16', 5, 11, 45.5), ('2026-02-23', 9, 16, 56.3), ('2026-03-02', 3, 12, 25.0) $$,
  'Sam weekly completion: 4 weeks, percent rounded half up');
select tests.clear_authentication();

-- Streaks on local days. Kenji lives in Tokyo (UTC+9); the clock is 19:00 there on 03-04.
-- Done: 02-28 12:00, 03-02 00:30 (03-01 15:30 UTC, a Sunday in UTC), 03-02 23:50 and 03-03 00:10
-- (both on 03-02 in UTC), 03-04 09:00. Missed: 03-01 12:00.
select tests.create_user('kenji', 'Asia/Tokyo');
insert into tasks (id, user_id, title, status, scheduled_at) values
  ('00000000-0000-4000-8000-0000000000a1', tests.uid('kenji'), 'k 02-28', 'done', '2026-02-28 03:00Z'),
  ('00000000-0000-4000-8000-0000000000a2', tests.uid('kenji'), 'k 03-01', 'missed', '2026-03-01 03:00Z'),
  ('00000000-0000-4000-8000-0000000000a3', tests.uid('kenji'), 'k 03-02 00:30', 'done', '2026-03-01 15:30Z'),
  ('00000000-0000-4000-8000-0000000000a4', tests.uid('kenji'), 'k 03-02 23:50', 'done', '2026-03-02 14:50Z'),
  ('00000000-0000-4000-8000-0000000000a5', tests.uid('kenji'), 'k 03-03 00:10', 'done', '2026-03-02 15:10Z'),
  ('00000000-0000-4000-8000-0000000000a6', tests.uid('kenji'), 'k 03-04', 'done', '2026-03-04 00:00Z');
select is((select count(distinct (scheduled_at at time zone 'UTC')::date)::integer from tasks
           where id in ('00000000-0000-4000-8000-0000000000a4', '00000000-0000-4000-8000-0000000000a5')), 1,
  'the 23:50 and 00:10 tasks share one UTC day: read in UTC, 03-03 would have nothing and the streak would be 1');
select tests.authenticate_as('kenji');
select is(analytics_overview() -> 'streak', '{"days": 3, "includes_today": true}',
  'local days 03-02, 03-03 (across midnight) and today are a 3-day streak; the missed-only 03-01 ends it');
select results_eq(
  $$ select week_start, done, total, percent from analytics_weekly_completion(2) $$,
  $$ values ('2026-02-23'::date, 1, 2, 50.0), ('2026-03-02', 4, 4, 100.0) $$,
  'weeks start on local Mondays: 00:30 Monday in Tokyo is in the new week, though it is Sunday in UTC');
select tests.clear_authentication();
update flux.clock set warp = timestamptz '2026-03-04 15:10Z' - now(); -- 00:10 on 03-05 in Tokyo
select tests.authenticate_as('kenji');
select is(analytics_overview() -> 'today', '{"date": "2026-03-05", "done": 0, "total": 0, "percent": null}',
  'ten minutes past local midnight it is a new, empty day (in UTC it is still 03-04)');
select is(analytics_overview() -> 'streak', '{"days": 3, "includes_today": false}',
  'a today without a done task yet does not break the streak');
select tests.clear_authentication();
update flux.clock set warp = timestamptz '2026-03-05 15:10Z' - now(); -- 00:10 on 03-06 in Tokyo
select tests.authenticate_as('kenji');
select is(analytics_overview() -> 'streak', '{"days": 0, "includes_today": false}',
  'a whole day without tasks (03-05) breaks it');
select tests.clear_authentication();
update flux.clock set warp = timestamptz '2026-03-04 10:00Z' - now();
update tasks set status = 'done' where id = '00000000-0000-4000-8000-0000000000a2';
select tests.authenticate_as('kenji');
select is(analytics_overview() -> 'streak', '{"days": 5, "includes_today": true}',
  'with 03-01 done the streak reaches back to 02-28: the missed day was what broke it');
select tests.clear_authentication();
update tasks set status = 'cancelled' where id = '00000000-0000-4000-8000-0000000000a5';
select tests.authenticate_as('kenji');
select is(analytics_overview() -> 'streak', '{"days": 1, "includes_today": true}',
  'a day whose only task was cancelled has no tasks: it breaks the streak');

-- Parameters.
select throws_ok($$ select analytics_overview(0) $$, '22023', null, 'p_days 0 is refused');
select throws_ok($$ select analytics_overview(367) $$, '22023', null, 'p_days 367 is refused');
select throws_ok($$ select * from analytics_weekly_completion(0) $$, '22023', null, 'p_weeks 0 is refused');
select throws_ok($$ select * from analytics_weekly_completion(105) $$, '22023', null, 'p_weeks 105 is refused');
select is((select count(*)::integer from analytics_weekly_completion(104)), 104, 'p_weeks 104 gives 104 weeks');
select tests.clear_authentication();

-- Who may call: anon not at all, a session without a user is refused, a user sees only their own.
select tests.authenticate_as_anon();
select throws_ok($$ select analytics_overview() $$, '42501', null, 'anon cannot call analytics_overview');
select throws_ok($$ select * from analytics_goal_progress() $$, '42501', null, 'anon cannot call analytics_goal_progress');
select throws_ok($$ select * from analytics_missed_by_category() $$, '42501', null, 'anon cannot call analytics_missed_by_category');
select throws_ok($$ select * from analytics_weekly_completion() $$, '42501', null, 'anon cannot call analytics_weekly_completion');
select tests.clear_authentication();
select set_config('role', 'authenticated', true);
select throws_ok($$ select analytics_overview() $$, 'PT401', 'analytics_overview: not signed in', 'no user: analytics_overview refuses');
select throws_ok($$ select * from analytics_goal_progress() $$, 'PT401', null, 'no user: analytics_goal_progress refuses');
select throws_ok($$ select * from analytics_missed_by_category() $$, 'PT401', null, 'no user: analytics_missed_by_category refuses');
select throws_ok($$ select * from analytics_weekly_completion() $$, 'PT401', null, 'no user: analytics_weekly_completion refuses');
select tests.clear_authentication();

-- Bea (UTC): a goal with one missed task yesterday, one done and one open task today.
select tests.create_user('bea');
insert into goals (id, user_id, title, class_tags) values ('00000000-0000-4000-8000-0000000000b0', tests.uid('bea'), 'Fix the shelf', '{Home}');
insert into tasks (user_id, goal_id, title, status, scheduled_at) values
  (tests.uid('bea'), '00000000-0000-4000-8000-0000000000b0', 'buy screws', 'missed', '2026-03-03 17:00Z'),
  (tests.uid('bea'), null, 'water plants', 'done', '2026-03-04 08:00Z'),
  (tests.uid('bea'), null, 'call the landlord', 'pending', '2026-03-04 18:00Z');
select tests.authenticate_as('bea');
select is(analytics_overview(),
  '{"timezone": "UTC", "today": {"date": "2026-03-04", "done": 1, "total": 2, "percent": 50.0},
    "streak": {"days": 1, "includes_today": true},
    "heatmap": [{"date": "2026-03-03", "done": 0, "total": 1}, {"date": "2026-03-04", "done": 1, "total": 2}]}',
  'another user sees only her own days');
select results_eq($$ select goal_id, done, missed, pending, total, percent from analytics_goal_progress() $$,
  $$ values ('00000000-0000-4000-8000-0000000000b0'::uuid, 0, 1, 0, 1, 0.0) $$, 'and only her own goals');
select results_eq($$ select category, missed, total, missed_percent from analytics_missed_by_category() $$,
  $$ values ('Home', 1, 1, 100.0) $$, 'and only her own categories');
select results_eq($$ select week_start, done, total from analytics_weekly_completion(1) $$,
  $$ values ('2026-03-02'::date, 1, 3) $$, 'and only her own weeks');
select tests.clear_authentication();

-- The rate limit (30 a minute, shared by the four functions) and what a call writes: only the
-- counter. pg_stat_xact_user_tables counts this transaction's row writes per table as they happen.
select tests.create_user('rita');
insert into goals (user_id, title, class_tags) values (tests.uid('rita'), 'Read more', '{Learning}');
insert into tasks (user_id, title, scheduled_at) values (tests.uid('rita'), 'read', '2026-03-04 20:00Z');
update flux.settings set rate_limits = true;
create temp table writes_before as
  select relid, n_tup_ins + n_tup_upd + n_tup_del as n from pg_stat_xact_user_tables
  where schemaname in ('public', 'flux', 'auth');
select tests.authenticate_as('rita');
select lives_ok($$
  do $do$
  begin
    for i in 1..27 loop
      perform public.analytics_overview();
    end loop;
    perform public.analytics_goal_progress();
    perform public.analytics_missed_by_category();
    perform public.analytics_weekly_completion();
  end
  $do$ $$, '30 analytics calls in a minute are fine');
select tests.clear_authentication();
select is(
  (select array_agg(x.relid::regclass::text order by 1) from pg_stat_xact_user_tables x
   join writes_before b using (relid)
   where x.n_tup_ins + x.n_tup_upd + x.n_tup_del <> b.n),
  array['flux.rate_counters'],
  'the calls wrote nothing but the rate counter');
select tests.authenticate_as('rita');
select throws_ok($$ select * from analytics_weekly_completion() $$, 'PGRST', null, 'the 31st is refused (PostgREST error form)');
select throws_like($$ select * from analytics_goal_progress() $$,
  '%Too many analytics requests: at most 30 per minute%', 'with a clear message');
select tests.clear_authentication();
create function pg_temp.rate_error() returns jsonb language plpgsql as $$
declare
  d text;
begin
  perform tests.authenticate_as('rita');
  perform public.analytics_overview();
  return null;
exception when sqlstate 'PGRST' then
  get stacked diagnostics d = pg_exception_detail;
  return d::jsonb;
end $$;
-- The clock stands at 10:00:00 sharp, the start of the window: a full minute to wait.
select is(pg_temp.rate_error() - 'status_text', '{"status": 429, "headers": {"Retry-After": "60"}}',
  'PostgREST answers 429 with Retry-After');
select tests.clear_authentication();
select is((select hits from flux.rate_counters where user_id = tests.uid('rita') and action = 'analytics requests'), 30,
  'refused calls do not count');
update flux.settings set rate_limits = false;

select * from finish();
rollback;
