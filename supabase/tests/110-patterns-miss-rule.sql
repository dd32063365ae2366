-- The Pattern Observer's miss rule: 3 misses in a row in the same slot (local weekday, +-1 hour)
-- over 3 consecutive weeks make one time_avoidance pattern, whichever path missed the task.
-- The clock is fixed (Wednesday 2026-11-04 15:00 UTC); the Mondays before it are M0 = 2 Nov
-- (EST, UTC-5), M1 = 26 Oct, M2 = 19 Oct ... (EDT, UTC-4): 07:00 in New York is 12:00 UTC on M0
-- and 11:00 UTC before, so the slot is local time, not UTC.
begin;
set local search_path = extensions, public, tests;
-- A session zone with DST changes of its own (Sydney: 4 Oct): the rule must not depend on it.
set local timezone = 'Australia/Sydney';
select plan(36);

select flux.set_time_warp(timestamptz '2026-11-04 15:00+00' - now());

-- The local Monday k weeks before the clock's week at a local time, in the user's zone.
create function pg_temp.mon(p_weeks integer, p_time time, p_tz text default 'America/New_York') returns timestamptz
language sql immutable
as $$ select (date '2026-11-02' - 7 * p_weeks + p_time) at time zone p_tz $$;
create function pg_temp.task(p_user text, p_at timestamptz, p_status text default 'pending') returns uuid
language sql
as $$ insert into tasks (user_id, title, scheduled_at, status) values (tests.uid(p_user), 'Morning run', p_at, p_status::task_status) returning id $$;
create function pg_temp.miss(p_task uuid) returns void
language sql
as $$ update tasks set status = 'missed' where id = p_task $$;
create function pg_temp.patterns_of(p_user text) returns setof patterns
language sql stable
as $$ select * from patterns where user_id = tests.uid(p_user) order by created_at, id $$;
create temporary table ids (name text primary key, id uuid);
grant select on ids to authenticated; -- read while acting as a user

-- The rule fires: 3 Mondays in a row at 07:00 New York time, written in UTC.
select tests.create_user('alice', 'America/New_York');
select pg_temp.task('alice', '2026-09-21 11:00+00', 'done');   -- M6: older than 6 weeks, not counted
select pg_temp.task('alice', '2026-09-28 10:00+00', 'missed'); -- M5 06:00: an hour early is the same slot
select pg_temp.task('alice', '2026-10-12 11:00+00', 'done');   -- M3
select pg_temp.task('alice', '2026-10-19 11:00+00', 'missed'); -- M2
select pg_temp.task('alice', '2026-10-26 11:00+00', 'missed'); -- M1
select pg_temp.task('alice', '2026-10-27 11:00+00', 'missed'); -- a Tuesday: another slot
select pg_temp.task('alice', '2026-10-26 16:00+00', 'done');   -- M1 12:00: another slot
insert into ids select 'alice M0', pg_temp.task('alice', '2026-11-02 12:00+00');
select pg_temp.miss((select id from ids where name = 'alice M0'));
select results_eq(
  $$ select pattern_type::text, description, confidence, data - 'last_missed_at', (data ->> 'last_missed_at')::timestamptz
     from pg_temp.patterns_of('alice') $$,
  $$ values ('time_avoidance', 'Tasks on Mondays around 07:00 were missed 3 weeks in a row.', 0.800::numeric(4,3),
             '{"rule": "miss", "day": "Mon", "from": "06:00", "to": "08:00", "misses": 3, "weeks": 3, "occurrences": 5}'::jsonb,
             timestamptz '2026-11-02 12:00+00') $$,
  'three Mondays at 07:00 local make one time_avoidance pattern: Mon 06:00-08:00, 3 misses, confidence 4 missed / 5 settled in 6 weeks');

-- Not enough, or not in a row. (Each case has misses near the time one and two weeks before, so
-- the function's quick pre-check passes and the slot itself decides.)
select tests.create_user('bob', 'America/New_York');
select pg_temp.task('bob', pg_temp.mon(2, '08:30'), 'missed'); -- outside the 07:00 slot
select pg_temp.task('bob', pg_temp.mon(1, '07:00'), 'missed');
insert into ids select 'bob M0', pg_temp.task('bob', pg_temp.mon(0, '07:00'));
select pg_temp.miss((select id from ids where name = 'bob M0'));
select is((select count(*)::int from pg_temp.patterns_of('bob')), 0, 'two misses in the slot make no pattern');
select is(flux.observe_miss((select id from ids where name = 'bob M0')), null, 'and the rule says so: null');

select tests.create_user('carol', 'America/New_York');
select pg_temp.task('carol', pg_temp.mon(2, '07:00'), 'missed');
select pg_temp.task('carol', pg_temp.mon(1, '07:00'), 'missed');
select pg_temp.task('carol', pg_temp.mon(1, '07:30'), 'done');  -- done after the M1 miss
insert into ids select 'carol M0', pg_temp.task('carol', pg_temp.mon(0, '07:00'));
select pg_temp.miss((select id from ids where name = 'carol M0'));
select is((select count(*)::int from pg_temp.patterns_of('carol')), 0,
  'misses in three consecutive weeks with a done between them make no pattern');

select tests.create_user('dave', 'America/New_York');
select pg_temp.task('dave', pg_temp.mon(3, '07:00'), 'missed');
select pg_temp.task('dave', pg_temp.mon(2, '08:30'), 'missed'); -- outside the slot: M2 has none in it
select pg_temp.task('dave', pg_temp.mon(1, '07:00'), 'missed');
insert into ids select 'dave M0', pg_temp.task('dave', pg_temp.mon(0, '07:00'));
select pg_temp.miss((select id from ids where name = 'dave M0'));
select is((select count(*)::int from pg_temp.patterns_of('dave')), 0,
  'three misses in a row over non-consecutive weeks (M3, M1, M0) make no pattern');

-- The slot is +-1 hour around the miss.
select tests.create_user('erin', 'America/New_York');
select pg_temp.task('erin', pg_temp.mon(2, '07:00'), 'missed');
select pg_temp.task('erin', pg_temp.mon(1, '07:00'), 'missed');
insert into ids select 'erin M0', pg_temp.task('erin', pg_temp.mon(0, '07:40'));
select pg_temp.miss((select id from ids where name = 'erin M0'));
select results_eq(
  $$ select data ->> 'day', data ->> 'from', data ->> 'to', (data ->> 'misses')::int, description from pg_temp.patterns_of('erin') $$,
  $$ values ('Mon', '06:00', '08:00', 3, 'Tasks on Mondays around 07:00 were missed 3 weeks in a row.') $$,
  'a miss at 07:40 is in the slot of the 07:00 misses; the window is the hour of the miss +-1');

select tests.create_user('fay', 'America/New_York');
select pg_temp.task('fay', pg_temp.mon(2, '07:00'), 'missed');
select pg_temp.task('fay', pg_temp.mon(1, '09:30'), 'missed'); -- 2.5 h from 07:00
insert into ids select 'fay M0', pg_temp.task('fay', pg_temp.mon(0, '07:00'));
select pg_temp.miss((select id from ids where name = 'fay M0'));
select is((select count(*)::int from pg_temp.patterns_of('fay')), 0, 'a miss at 09:30 is not in the 07:00 slot');

select tests.create_user('edge', 'America/New_York');
select pg_temp.task('edge', pg_temp.mon(2, '07:00'), 'missed');
select pg_temp.task('edge', pg_temp.mon(1, '07:00'), 'missed');
insert into ids select 'edge M0', pg_temp.task('edge', pg_temp.mon(0, '08:00'));
select pg_temp.miss((select id from ids where name = 'edge M0'));
select results_eq($$ select data ->> 'from', data ->> 'to', (data ->> 'misses')::int from pg_temp.patterns_of('edge') $$,
  $$ values ('07:00', '09:00', 3) $$, 'exactly an hour apart is still the same slot');

select tests.create_user('owl', 'America/New_York');
select pg_temp.task('owl', pg_temp.mon(2, '23:30'), 'missed');
select pg_temp.task('owl', pg_temp.mon(1, '23:30'), 'missed');
insert into ids select 'owl M0', pg_temp.task('owl', pg_temp.mon(0, '23:30'));
select pg_temp.miss((select id from ids where name = 'owl M0'));
select results_eq($$ select data ->> 'day', data ->> 'from', data ->> 'to' from pg_temp.patterns_of('owl') $$,
  $$ values ('Mon', '22:00', '00:00') $$, 'the window wraps midnight as HH:MM strings');

select tests.create_user('lark', 'America/New_York');
select pg_temp.task('lark', pg_temp.mon(2, '00:20'), 'missed');
select pg_temp.task('lark', pg_temp.mon(1, '00:20'), 'missed');
insert into ids select 'lark M0', pg_temp.task('lark', pg_temp.mon(0, '00:20'));
select pg_temp.miss((select id from ids where name = 'lark M0'));
select results_eq($$ select data ->> 'day', data ->> 'from', data ->> 'to' from pg_temp.patterns_of('lark') $$,
  $$ values ('Mon', '00:00', '01:00') $$, 'just after midnight the window stays on that weekday');

select tests.create_user('pia', 'America/New_York');
select pg_temp.task('pia', pg_temp.mon(2, '07:00'), 'missed');
select pg_temp.task('pia', pg_temp.mon(1, '07:00'), 'missed');
select pg_temp.task('pia', pg_temp.mon(0, '06:30'), 'missed');
insert into ids select 'pia M0', pg_temp.task('pia', pg_temp.mon(0, '07:00'));
select pg_temp.miss((select id from ids where name = 'pia M0'));
select results_eq($$ select (data ->> 'misses')::int, (data ->> 'weeks')::int, description from pg_temp.patterns_of('pia') $$,
  $$ values (4, 3, 'Tasks on Mondays around 07:00 were missed 3 weeks in a row.') $$,
  'two misses in one week: 4 misses in a row over 3 weeks');

select tests.create_user('ned', 'America/New_York');
select pg_temp.task('ned', pg_temp.mon(2, '23:30'), 'missed');
select pg_temp.task('ned', pg_temp.mon(1, '23:30') + interval '45 minutes', 'missed'); -- Tuesday 00:15
insert into ids select 'ned M0', pg_temp.task('ned', pg_temp.mon(0, '23:30'));
select pg_temp.miss((select id from ids where name = 'ned M0'));
select is((select count(*)::int from pg_temp.patterns_of('ned')), 0, 'within the hour but past midnight is another weekday');

-- A fourth miss updates the same pattern.
select tests.create_user('gil', 'America/New_York');
select pg_temp.task('gil', pg_temp.mon(3, '07:00'), 'missed');
select pg_temp.task('gil', pg_temp.mon(2, '07:00'), 'missed');
insert into ids select 'gil M1', pg_temp.task('gil', pg_temp.mon(1, '07:00'));
insert into ids select 'gil M0', pg_temp.task('gil', pg_temp.mon(0, '07:00'));
select pg_temp.miss((select id from ids where name = 'gil M1'));
insert into ids select 'gil pattern', id from pg_temp.patterns_of('gil');
select results_eq($$ select (data ->> 'misses')::int, (data ->> 'occurrences')::int, confidence from pg_temp.patterns_of('gil') $$,
  $$ values (3, 3, 1.000::numeric(4,3)) $$, 'three misses: a pattern');
update patterns set data = data || '{"suggestion": "evening"}' where user_id = tests.uid('gil'); -- the service's note
select pg_temp.miss((select id from ids where name = 'gil M0'));
select results_eq(
  $$ select id, (data ->> 'misses')::int, (data ->> 'weeks')::int, description, (data ->> 'last_missed_at')::timestamptz,
            data ->> 'suggestion'
     from pg_temp.patterns_of('gil') $$,
  $$ values ((select id from ids where name = 'gil pattern'), 4, 4, 'Tasks on Mondays around 07:00 were missed 4 weeks in a row.',
             pg_temp.mon(0, '07:00'), 'evening') $$,
  'a fourth miss updates that same pattern (still one row): 4 misses, 4 weeks, other data kept');
select is(flux.observe_miss((select id from ids where name = 'gil M0')), (select id from ids where name = 'gil pattern'),
  'observe_miss returns the pattern it updated');

-- A pattern the user overrode is never overwritten.
select tests.create_user('hal', 'America/New_York');
select pg_temp.task('hal', pg_temp.mon(3, '07:00'), 'missed');
select pg_temp.task('hal', pg_temp.mon(2, '07:00'), 'missed');
insert into ids select 'hal M1', pg_temp.task('hal', pg_temp.mon(1, '07:00'));
insert into ids select 'hal M0', pg_temp.task('hal', pg_temp.mon(0, '07:00'));
select pg_temp.miss((select id from ids where name = 'hal M1'));
select tests.authenticate_as('hal');
select is(tests.rows_affected($$ update patterns set description = 'Mondays are fine now', confidence = 0.1 $$), 1,
  'hal overrides the pattern');
select tests.clear_authentication();
select pg_temp.miss((select id from ids where name = 'hal M0'));
select results_eq(
  $$ select description, confidence, data ->> 'user_overridden', (data ->> 'misses')::int from pg_temp.patterns_of('hal') $$,
  $$ values ('Mondays are fine now', 0.100::numeric(4,3), 'true', 3) $$,
  'a further miss leaves the overridden pattern exactly as the user left it');
select is(flux.observe_miss((select id from ids where name = 'hal M0')), null, 'observe_miss returns null for it');

-- Cold start: under 14 days of data, confidence stays below 0.5. In Tokyo (no DST) the first
-- miss at 08:00 two Mondays ago is 13 days 23 hours before the clock, just after the third miss.
select tests.create_user('ivy', 'Asia/Tokyo');
select flux.set_time_warp(pg_temp.mon(0, '07:06', 'Asia/Tokyo') - now());
select pg_temp.task('ivy', pg_temp.mon(2, '08:00', 'Asia/Tokyo'), 'missed');
select pg_temp.task('ivy', pg_temp.mon(1, '07:30', 'Asia/Tokyo'), 'missed');
insert into ids select 'ivy M0', pg_temp.task('ivy', pg_temp.mon(0, '07:00', 'Asia/Tokyo'));
select pg_temp.miss((select id from ids where name = 'ivy M0'));
select results_eq($$ select confidence, (data ->> 'misses')::int, (data ->> 'occurrences')::int from pg_temp.patterns_of('ivy') $$,
  $$ values (0.490::numeric(4,3), 3, 3) $$, 'cold start: 3 of 3 missed, yet the confidence is capped below 0.5');
select flux.set_time_warp(pg_temp.mon(0, '08:00', 'Asia/Tokyo') - now()); -- 14 days after the first miss
select is(flux.observe_miss((select id from ids where name = 'ivy M0')), (select id from pg_temp.patterns_of('ivy')),
  'the same slot is updated once the data is 14 days old');
select is((select confidence from pg_temp.patterns_of('ivy')), 1.000::numeric(4,3), 'and no longer capped');
select flux.set_time_warp(timestamptz '2026-11-04 15:00+00' - now());

-- Every path that misses a task signals the rule: a response (WhatsApp, voice, push)...
select tests.create_user('jo', 'America/New_York');
select pg_temp.task('jo', pg_temp.mon(2, '07:00'), 'missed');
select pg_temp.task('jo', pg_temp.mon(1, '07:00'), 'missed');
insert into ids select 'jo M0', pg_temp.task('jo', pg_temp.mon(0, '07:00'));
select is(flux.record_response((select id from ids where name = 'jo M0'), 'missed', 'whatsapp', null), 'recorded',
  'a "missed" answer is recorded');
select results_eq($$ select pattern_type::text, (data ->> 'misses')::int from pg_temp.patterns_of('jo') $$,
  $$ values ('time_avoidance', 3) $$, 'and the miss rule fired in the same transaction');

-- ... the ladder's auto-miss...
select tests.create_user('kim', 'America/New_York');
select pg_temp.task('kim', pg_temp.mon(2, '07:00'), 'missed');
select pg_temp.task('kim', pg_temp.mon(1, '07:00'), 'missed');
insert into ids select 'kim M0', pg_temp.task('kim', pg_temp.mon(0, '07:00'));
select flux.set_time_warp(pg_temp.mon(0, '07:06') - now()); -- the last rung, T + 3 windows
-- One rung per claim: push, WhatsApp, call (no channel: skipped on time), auto-miss.
select flux.claim_escalations();
select flux.claim_escalations();
select flux.claim_escalations();
select flux.claim_escalations();
select is((select status from tasks where id = (select id from ids where name = 'kim M0')), 'missed', 'the ladder auto-missed the task');
select results_eq($$ select pattern_type::text, (data ->> 'misses')::int from pg_temp.patterns_of('kim') $$,
  $$ values ('time_avoidance', 3) $$, 'and the miss rule fired');
select flux.set_time_warp(timestamptz '2026-11-04 15:00+00' - now());

-- ... and a signed-in user: through the reminder's button, and through a direct update (the
-- status column is granted here for the test only, to run the trigger as authenticated).
select tests.create_user('lee', 'America/New_York');
select pg_temp.task('lee', pg_temp.mon(2, '07:00'), 'missed');
select pg_temp.task('lee', pg_temp.mon(1, '07:00'), 'missed');
insert into ids select 'lee M0', pg_temp.task('lee', pg_temp.mon(0, '07:00'));
select tests.authenticate_as('lee');
select is(respond_to_reminder((select id from ids where name = 'lee M0'), 'missed'), 'recorded', 'lee presses "missed"');
select tests.clear_authentication();
select is((select count(*)::int from pg_temp.patterns_of('lee')), 1, 'the miss rule fired for lee');

select tests.create_user('max', 'America/New_York');
select pg_temp.task('max', pg_temp.mon(2, '07:00'), 'missed');
select pg_temp.task('max', pg_temp.mon(1, '07:00'), 'missed');
insert into ids select 'max M0', pg_temp.task('max', pg_temp.mon(0, '07:00'));
grant update (status) on tasks to authenticated;
select tests.authenticate_as('max');
select lives_ok(format('update tasks set status = %L where id = %L', 'missed', (select id from ids where name = 'max M0')),
  'max (role authenticated, who cannot write patterns) sets his task missed');
select throws_ok(format('select flux.observe_miss(%L)', (select id from ids where name = 'max M0')), '42501', null,
  'max cannot run the rule himself');
select throws_ok($$ select flux.tasks_observe_miss() $$, '42501', null, 'nor its trigger function');
select tests.clear_authentication();
revoke update (status) on tasks from authenticated;
select results_eq($$ select pattern_type::text, (data ->> 'misses')::int, data ? 'user_overridden' from pg_temp.patterns_of('max') $$,
  $$ values ('time_avoidance', 3, false) $$, 'the trigger wrote his pattern, not marked as his own override');
select ok(not has_function_privilege('authenticated', 'flux.observe_miss(uuid)', 'execute')
          and not has_function_privilege('service_role', 'flux.observe_miss(uuid)', 'execute'),
  'observe_miss is granted to no API role');

-- Only the transition into missed fires, and only time tasks have a slot.
select tests.create_user('nat', 'America/New_York');
select pg_temp.task('nat', pg_temp.mon(2, '07:00'), 'missed');
select pg_temp.task('nat', pg_temp.mon(1, '07:00'), 'missed');
insert into ids select 'nat M0', pg_temp.task('nat', pg_temp.mon(0, '07:00'), 'missed'); -- inserted settled: no signal
select is((select count(*)::int from pg_temp.patterns_of('nat')), 0, 'a task inserted as missed signals nothing');
update tasks set title = 'Morning run (renamed)' where id = (select id from ids where name = 'nat M0');
update tasks set status = 'missed' where id = (select id from ids where name = 'nat M0');
select is((select count(*)::int from pg_temp.patterns_of('nat')), 0, 'nor does updating a task that was already missed');
with t as (
  insert into tasks (user_id, title, trigger_type, location_trigger, scheduled_at)
  values (tests.uid('nat'), 'Return the bottles', 'location', '{"place": "home", "event": "leave"}', pg_temp.mon(0, '07:30')) returning id)
insert into ids select 'nat location', id from t;
select pg_temp.miss((select id from ids where name = 'nat location'));
select is(flux.observe_miss((select id from ids where name = 'nat location')), null, 'a missed location task has no slot, even with a time');
select isnt(flux.observe_miss((select id from ids where name = 'nat M0')), null, 'called on that task, the rule does see the slot');

select * from finish();
rollback;
