-- The reminder ladder on a warped clock: exact rung times for each policy, gating by channel,
-- and nothing early. now() is fixed inside this transaction, so the warp sets flux.now() exactly.
begin;
set local search_path = extensions, public, tests;
select plan(24);

-- Claims are global: start from an empty database (rolled back at the end) so the seed's own
-- due tasks cannot join in.
delete from auth.users;

create function pg_temp.warp_to(p_at timestamptz) returns timestamptz language sql
as $$ select flux.set_time_warp(p_at - now()) $$;
create function pg_temp.claim() returns integer language sql as $$ select flux.claim_escalations(1000) $$;
-- T, the due time shared by every task here: a round hour ahead.
create temporary table t0 as select date_trunc('hour', now()) + interval '2 hours' as t;

-- Users: channels available per user. Lead 10 min, window 2 min (the defaults).
select tests.create_user('full'), tests.create_user('gentle'), tests.create_user('silent'),
       tests.create_user('nopush'), tests.create_user('noopt'), tests.create_user('nophone');
update users set phone_number = '+4915100000001' where id in (tests.uid('full'), tests.uid('gentle'), tests.uid('silent'), tests.uid('nopush'), tests.uid('noopt'));
update users set phone_verified = true where phone_number is not null and id in (tests.uid('full'), tests.uid('gentle'), tests.uid('silent'), tests.uid('nopush'), tests.uid('noopt'));
update users set whatsapp_opt_in_at = now() where id in (tests.uid('full'), tests.uid('gentle'), tests.uid('silent'), tests.uid('nopush'));
update users set notification_preferences = notification_preferences || '{"escalation_policy": "gentle"}' where id = tests.uid('gentle');
update users set notification_preferences = notification_preferences || '{"escalation_policy": "silent"}' where id = tests.uid('silent');
insert into push_subscriptions (user_id, endpoint, p256dh, auth)
select tests.uid(n), 'https://push.example.invalid/' || n, repeat('B', 87), repeat('a', 22)
from unnest(array['full', 'gentle', 'silent', 'noopt', 'nophone']) n;

insert into tasks (user_id, title, scheduled_at)
select tests.uid(n), 'ladder ' || n, (select t from t0)
from unnest(array['full', 'gentle', 'silent', 'nopush', 'noopt', 'nophone']) n;

select results_eq(
  $$ select title, escalation_policy::text, escalation_stage::text, escalation_due_at - (select t from t0) from tasks where title like 'ladder %' order by title $$,
  $$ values ('ladder full', 'full', 'push', interval '-10 min'), ('ladder gentle', 'gentle', 'push', interval '-10 min'),
            ('ladder noopt', 'full', 'push', interval '-10 min'), ('ladder nophone', 'full', 'push', interval '-10 min'),
            ('ladder nopush', 'full', 'push', interval '-10 min'), ('ladder silent', 'silent', 'push', interval '-10 min') $$,
  'a new task snapshots its owner''s policy and waits for the push rung at T - lead');

-- Walk the clock. A second before each rung nothing fires; at the rung exactly what is due fires.
select pg_temp.warp_to((select t from t0) - interval '10 min 1 second');
select is(pg_temp.claim(), 0, 'T - lead - 1s: nothing is due');
select pg_temp.warp_to((select t from t0) - interval '10 min');
select is(pg_temp.claim(), 6, 'T - lead: every task takes its push rung');
select is(pg_temp.claim(), 0, 'claiming again at the same instant takes nothing: no rung fires twice');
select pg_temp.warp_to((select t from t0) + interval '2 min' - interval '1 second');
select is(pg_temp.claim(), 0, 'T + window - 1s: nothing is due');
select pg_temp.warp_to((select t from t0) + interval '2 min');
select is(pg_temp.claim(), 5, 'T + window: the WhatsApp rung of every policy that has one (silent has none)');
select pg_temp.warp_to((select t from t0) + interval '4 min');
select is(pg_temp.claim(), 4, 'T + 2 windows: the call rung of the full-policy tasks only');
select pg_temp.warp_to((select t from t0) + interval '6 min' - interval '1 second');
select is(pg_temp.claim(), 0, 'T + 3 windows - 1s: nothing is due');
select pg_temp.warp_to((select t from t0) + interval '6 min');
select is(pg_temp.claim(), 6, 'T + 3 windows: every task is auto-missed');

-- What went out, when (relative to T), per policy.
create function pg_temp.sent(p_user text) returns table (channel text, at interval) language sql
as $$ select d.channel, d.created_at - (select t from t0) from dispatch_log d where d.user_id = tests.uid(p_user) order by d.id $$;
select results_eq($$ select * from pg_temp.sent('full') $$,
  $$ values ('push', interval '-10 min'), ('whatsapp', interval '2 min'), ('call', interval '4 min'), ('auto_miss', interval '6 min') $$,
  'full: push at T - lead, WhatsApp at T + window, call at T + 2 windows, auto-miss at T + 3 windows');
select results_eq($$ select * from pg_temp.sent('gentle') $$,
  $$ values ('push', interval '-10 min'), ('whatsapp', interval '2 min'), ('auto_miss', interval '6 min') $$,
  'gentle: push, WhatsApp, auto-miss at the same rungs');
select results_eq($$ select * from pg_temp.sent('silent') $$,
  $$ values ('push', interval '-10 min'), ('auto_miss', interval '6 min') $$,
  'silent: push, then auto-miss at T + 3 windows');

-- Gating: a stage whose channel is unavailable is skipped; later rungs keep their times.
select results_eq($$ select * from pg_temp.sent('nopush') $$,
  $$ values ('whatsapp', interval '2 min'), ('call', interval '4 min'), ('auto_miss', interval '6 min') $$,
  'no push subscription: the push rung is skipped');
select results_eq($$ select * from pg_temp.sent('noopt') $$,
  $$ values ('push', interval '-10 min'), ('call', interval '4 min'), ('auto_miss', interval '6 min') $$,
  'verified phone without WhatsApp opt-in: WhatsApp skipped, the call still rings');
select results_eq($$ select * from pg_temp.sent('nophone') $$,
  $$ values ('push', interval '-10 min'), ('auto_miss', interval '6 min') $$,
  'unverified phone: neither WhatsApp nor call');

select results_eq(
  $$ select title, reminder_sent_at - (select t from t0), whatsapp_sent_at - (select t from t0), call_sent_at - (select t from t0)
     from tasks where title in ('ladder full', 'ladder nophone') order by title $$,
  $$ values ('ladder full', interval '-10 min', interval '2 min', interval '4 min'), ('ladder nophone', interval '-10 min', null, null) $$,
  'sent-at stamps record exactly the channels that fired');
select is((select array_agg(distinct status) from tasks where title like 'ladder %'), array['missed']::task_status[], 'every unanswered task ends missed');
select is((select count(*)::int from tasks where title like 'ladder %' and escalation_stage is not null), 0, 'and its ladder is cleared');
select is((select array_agg(distinct status) from dispatch_log where channel = 'auto_miss'), array['dispatched']::dispatch_status[], 'the auto-miss is recorded as done at once (nothing to send)');
select results_eq(
  $$ select day, missed from flux.task_day_stats where user_id = tests.uid('full') $$,
  $$ values ((((select t from t0)) at time zone 'UTC')::date, 1) $$,
  'the auto-miss reaches the analytics rollup');

-- The ladder follows the task: moved tasks restart, answered ones stop, preferences move rungs.
insert into tasks (id, user_id, title, scheduled_at) values
  ('00000000-0000-4000-8000-0000000000a1', tests.uid('full'), 'moved', (select t from t0) + interval '1 hour');
select pg_temp.warp_to((select t from t0) + interval '50 min');
select is(pg_temp.claim(), 1, 'the next task takes its push rung');
update tasks set scheduled_at = (select t from t0) + interval '3 hours' where id = '00000000-0000-4000-8000-0000000000a1';
select results_eq(
  $$ select escalation_stage::text, escalation_due_at - (select t from t0), reminder_sent_at from tasks where id = '00000000-0000-4000-8000-0000000000a1' $$,
  $$ values ('push', interval '2 hours 50 min', null::timestamptz) $$,
  'rescheduling restarts the ladder at the push rung of the new time, with clean stamps');
update users set notification_preferences = notification_preferences || '{"reminder_lead_minutes": 30}' where id = tests.uid('full');
select is((select escalation_due_at - (select t from t0) from tasks where id = '00000000-0000-4000-8000-0000000000a1'), interval '2 hours 30 min',
  'a new lead time moves the open rung');
insert into tasks (user_id, title, trigger_type, location_trigger) values (tests.uid('full'), 'at home', 'location', '{"place":"home","event":"arrive"}');
select is((select escalation_stage from tasks where title = 'at home'), null, 'a location task has no ladder until its trigger fires');

select * from finish();
rollback;
