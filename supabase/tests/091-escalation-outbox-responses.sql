-- The outbox (lease, retry, permanent failure, collapse after downtime) and responses (each
-- stage stops what follows, replays change nothing, the RPC checks ownership).
begin;
set local search_path = extensions, public, tests;
select plan(57);
delete from auth.users; -- claims are global: no seeded task may join in (rolled back at the end)

create function pg_temp.warp_to(p_at timestamptz) returns timestamptz language sql
as $$ select flux.set_time_warp(p_at - now()) $$;
create function pg_temp.claim() returns integer language sql as $$ select flux.claim_escalations(1000) $$;
create temporary table t0 as select date_trunc('hour', now()) + interval '2 hours' as t;

select tests.create_user('ann'), tests.create_user('ben');
update users set phone_number = '+4915100000002' where id = tests.uid('ann');
update users set phone_verified = true, whatsapp_opt_in_at = now() where id = tests.uid('ann');
insert into push_subscriptions (user_id, endpoint, p256dh, auth)
values (tests.uid('ann'), 'https://push.example.invalid/ann', repeat('B', 87), repeat('a', 22));

-- Outbox lease and outcomes -------------------------------------------------------------------
insert into tasks (id, user_id, title, scheduled_at) values
  ('00000000-0000-4000-8000-0000000000b1', tests.uid('ann'), 'lease', (select t from t0));
select pg_temp.warp_to((select t from t0) - interval '10 min');
select is(pg_temp.claim(), 1, 'the push rung is due');
select results_eq($$ select channel, attempts from flux.claim_outbox(10, interval '30 seconds', 'worker-a') $$,
  $$ values ('push', 1) $$, 'a worker takes the push row');
select is((select count(*)::int from flux.claim_outbox(10, interval '30 seconds', 'worker-b')), 0, 'a leased row is not handed out twice');
select pg_temp.warp_to((select t from t0) - interval '10 min' + interval '31 seconds');
select results_eq($$ select channel, attempts from flux.claim_outbox(10, interval '30 seconds', 'worker-b') $$,
  $$ values ('push', 2) $$, 'after the lease expires (worker-a died) another worker takes it: attempt 2');
select is(flux.finish_dispatch((select id from dispatch_log where task_id = '00000000-0000-4000-8000-0000000000b1'), 'worker-a', 'sent', null), false,
  'the worker that lost its lease cannot record an outcome');
select is(flux.finish_dispatch((select id from dispatch_log where task_id = '00000000-0000-4000-8000-0000000000b1'), 'worker-b', 'retry', null, 'push service: 503', flux.now() + interval '5 seconds'), true,
  'a retryable failure goes back to pending');
select is((select count(*)::int from flux.claim_outbox(10, interval '30 seconds', 'worker-b')), 0, 'not before its retry time');
select pg_temp.warp_to((select t from t0) - interval '10 min' + interval '37 seconds');
select is((select attempts from flux.claim_outbox(10, interval '30 seconds', 'worker-b')), 3, 'then it is retried');
select is(flux.finish_dispatch((select id from dispatch_log where task_id = '00000000-0000-4000-8000-0000000000b1'), 'worker-b', 'sent', null), true, 'sent');
select results_eq($$ select status::text, error from dispatch_log where task_id = '00000000-0000-4000-8000-0000000000b1' $$,
  $$ values ('dispatched', null::text) $$, 'the row is dispatched');
select is((select count(*)::int from notification_log where task_id = '00000000-0000-4000-8000-0000000000b1' and channel = 'push'), 1, 'and the notification is logged once');

insert into tasks (id, user_id, title, scheduled_at) values
  ('00000000-0000-4000-8000-0000000000b2', tests.uid('ann'), 'fails', (select t from t0));
select pg_temp.claim();
select is((select count(*)::int from flux.claim_outbox(10, interval '30 seconds', 'worker-c')), 1, 'the next push row is taken');
select flux.finish_dispatch((select id from dispatch_log where task_id = '00000000-0000-4000-8000-0000000000b2'), 'worker-c', 'failed', null, 'push service: 400 bad request');
select results_eq($$ select status::text, error from dispatch_log where task_id = '00000000-0000-4000-8000-0000000000b2' $$,
  $$ values ('failed', 'push service: 400 bad request') $$, 'a permanent failure is recorded with its error');
select throws_ok($$ select flux.finish_dispatch(1, 'x', 'lost') $$, '22023', 'finish_dispatch: unknown outcome lost', 'an unknown outcome is refused');

-- Collapse after downtime ---------------------------------------------------------------------
update tasks set status = 'cancelled' where id in ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000b2');
insert into tasks (id, user_id, title, scheduled_at) values
  ('00000000-0000-4000-8000-0000000000c1', tests.uid('ann'), 'backlog', (select t from t0) + interval '1 hour'),
  ('00000000-0000-4000-8000-0000000000c2', tests.uid('ann'), 'answered meanwhile', (select t from t0) + interval '1 hour');
-- The service was down: the sweep kept claiming rungs, nobody sent anything.
select pg_temp.warp_to((select t from t0) + interval '1 hour 5 min');
select is(pg_temp.claim() + pg_temp.claim() + pg_temp.claim(), 2,
  'each task goes to its latest due rung (the call) in one claim, not rung by rung');
update tasks set status = 'done' where id = '00000000-0000-4000-8000-0000000000c2';
select results_eq(
  $$ select task_id, channel, skipped from flux.claim_outbox(100, interval '30 seconds', 'worker-d') where task_id::text like '%c_' order by task_id $$,
  $$ values ('00000000-0000-4000-8000-0000000000c1'::uuid, 'call', null),
            ('00000000-0000-4000-8000-0000000000c2'::uuid, 'call', 'task is done before send') $$,
  'after downtime only the latest rung of the open task is sent; the answered one comes back skipped, with why');
select results_eq(
  $$ select task_id, channel::text, status::text, coalesce(error, '') from dispatch_log where task_id::text like '%c_' order by task_id, id $$,
  $$ values ('00000000-0000-4000-8000-0000000000c1'::uuid, 'call', 'pending', ''),
            ('00000000-0000-4000-8000-0000000000c2'::uuid, 'call', 'skipped', 'task is done before send') $$,
  'the rungs the backlog passed wrote nothing; the answered task''s call is skipped');

-- Responses at each stage -----------------------------------------------------------------------
-- Four tasks due at T2; each is answered after a different rung, then the clock runs past the end.
create temporary table t2 as select (select t from t0) + interval '5 hours' as t;
insert into tasks (id, user_id, title, scheduled_at) values
  ('00000000-0000-4000-8000-0000000000d1', tests.uid('ann'), 'done after push', (select t from t2)),
  ('00000000-0000-4000-8000-0000000000d2', tests.uid('ann'), 'missed after whatsapp', (select t from t2)),
  ('00000000-0000-4000-8000-0000000000d3', tests.uid('ann'), 'acknowledged after call', (select t from t2)),
  ('00000000-0000-4000-8000-0000000000d4', tests.uid('ann'), 'reschedule after whatsapp', (select t from t2));
create function pg_temp.send_all() returns void language sql as $$
  select flux.finish_dispatch(o.id, 'w', 'sent',
           case o.channel when 'whatsapp' then 'SM' || md5(o.id::text) when 'call' then 'CA' || md5(o.id::text) end)
  from flux.claim_outbox(100, interval '30 seconds', 'w') o $$;

select pg_temp.warp_to((select t from t2) - interval '10 min');
select pg_temp.claim(); select pg_temp.send_all();
select is(flux.record_response('00000000-0000-4000-8000-0000000000d1', 'done', 'push', null), 'recorded', 'done after the push');
select pg_temp.warp_to((select t from t2) + interval '2 min');
select pg_temp.claim(); select pg_temp.send_all();
select is(flux.record_response('00000000-0000-4000-8000-0000000000d2', 'missed', 'whatsapp', 'SMreply0000000000000000000000000d2'), 'recorded', 'missed by WhatsApp reply');
select is(flux.record_response('00000000-0000-4000-8000-0000000000d2', 'missed', 'whatsapp', 'SMreply0000000000000000000000000d2'), 'duplicate', 'the replayed webhook is recognised');
select is(flux.record_response('00000000-0000-4000-8000-0000000000d4', 'reschedule', 'whatsapp', 'SMreply0000000000000000000000000d4'), 'recorded', 'reschedule by WhatsApp reply');
select pg_temp.warp_to((select t from t2) + interval '4 min');
select pg_temp.claim(); select pg_temp.send_all();
select is(flux.record_response('00000000-0000-4000-8000-0000000000d3', 'acknowledge', 'call', 'CAack00000000000000000000000000d3:9'), 'recorded', 'acknowledged on the call');
-- (Half an hour: T2 is on the hour, so the end of its day is at least an hour away.)
select pg_temp.warp_to((select t from t2) + interval '30 min');
select is(pg_temp.claim(), 0, 'with every task answered, nothing is left to fire');

select results_eq(
  $$ select t.title, t.status::text, t.escalation_stage::text, (select string_agg(d.channel::text, ',' order by d.id) from dispatch_log d where d.task_id = t.id)
     from tasks t where t.id::text like '%d_' order by t.id $$,
  $$ values ('done after push', 'done', null::text, 'push'),
            ('missed after whatsapp', 'missed', null, 'push,whatsapp'),
            ('acknowledged after call', 'pending', null, 'push,whatsapp,call'),
            ('reschedule after whatsapp', 'pending', 'auto_miss', 'push,whatsapp') $$,
  'a response at each stage stops every rung after it (reschedule holds only the auto-miss, see below)');
select results_eq(
  $$ select t.title, n.channel::text, n.response::text from notification_log n join tasks t on t.id = n.task_id
     where t.id::text like '%d_' and n.response is not null order by t.id $$,
  $$ values ('done after push', 'push', 'done'), ('missed after whatsapp', 'whatsapp', 'missed'),
            ('acknowledged after call', 'call', 'acknowledged'), ('reschedule after whatsapp', 'whatsapp', 'reschedule') $$,
  'the answer is recorded on the notification it answers');
select is(flux.record_response('00000000-0000-4000-8000-0000000000d1', 'missed', 'push', null), 'not_pending', 'a settled task is not changed by a late answer');
select is((select status from tasks where id = '00000000-0000-4000-8000-0000000000d1'), 'done', 'it stays done');
select throws_ok($$ select flux.record_response('00000000-0000-4000-8000-0000000000d1', 'maybe') $$, '22023',
  'record_response: unknown response maybe', 'an unknown response is refused');

-- The RPC for the push notification's buttons: owner only.
insert into tasks (id, user_id, title, scheduled_at) values
  ('00000000-0000-4000-8000-0000000000e1', tests.uid('ann'), 'button', (select t from t2) + interval '2 hours');
select tests.authenticate_as('ben');
select throws_ok($$ select respond_to_reminder('00000000-0000-4000-8000-0000000000e1', 'done') $$, 'PT404', null, 'another user cannot answer ann''s reminder');
select tests.authenticate_as_anon();
select throws_ok($$ select respond_to_reminder('00000000-0000-4000-8000-0000000000e1', 'done') $$, '42501', null, 'anon cannot call it');
select tests.authenticate_as('ann');
select is(respond_to_reminder('00000000-0000-4000-8000-0000000000e1', 'done'), 'recorded', 'the owner answers from the notification');
select tests.clear_authentication();

-- A reschedule answer ----------------------------------------------------------------------------
-- The ladder stops; a task nobody moves is auto-missed at the end of its local day; the agents
-- are asked (a system message with its run) to propose a new time. cy lives in New York (EST in
-- January, UTC-5): Tuesday 2027-01-12 14:00 local is 19:00Z, and that day ends at 05:00Z.
select pg_temp.warp_to('2027-01-12 12:00Z');
select flux.sweep_escalations(); -- everything older fires now, so the counts below are cy's
select tests.create_user('cy', 'America/New_York');
update users set phone_number = '+12125550100' where id = tests.uid('cy');
update users set phone_verified = true, whatsapp_opt_in_at = flux.now() where id = tests.uid('cy');
insert into push_subscriptions (user_id, endpoint, p256dh, auth)
values (tests.uid('cy'), 'https://push.example.invalid/cy', repeat('C', 87), repeat('c', 22));
insert into tasks (id, user_id, title, scheduled_at) values
  ('00000000-0000-4000-8000-0000000000f1', tests.uid('cy'), 'walk', '2027-01-12 19:00Z'),
  ('00000000-0000-4000-8000-0000000000f2', tests.uid('cy'), 'late stretch', '2027-01-15 04:58Z'),
  ('00000000-0000-4000-8000-0000000000f3', tests.uid('cy'), 'call the bank', '2027-01-16 20:00Z');
create function pg_temp.cy_actions() returns setof jsonb language sql as $$
  select m.metadata from messages m join flux.agent_runs r on r.message_id = m.id
  where m.user_id = tests.uid('cy') and m.role = 'system' order by m.created_at, m.id $$;

select pg_temp.warp_to('2027-01-12 18:50Z');
select is(pg_temp.claim(), 1, 'reschedule: the push rung fires');
select pg_temp.send_all();
select pg_temp.warp_to('2027-01-12 19:02Z');
select is(pg_temp.claim(), 1, 'reschedule: then WhatsApp');
select pg_temp.send_all();
select is(flux.record_response('00000000-0000-4000-8000-0000000000f1', 'reschedule', 'whatsapp', 'SMreply00000000000000000000000000f1'),
  'recorded', 'reschedule: "2" on WhatsApp is recorded');
select is((select escalation_stage || ' ' || escalation_due_at::text from tasks where id = '00000000-0000-4000-8000-0000000000f1'),
  'auto_miss 2027-01-13 05:00:00+00', 'reschedule: the ladder is held at its auto-miss rung, at the end of the task''s local day');
select results_eq($$ select m.role::text, m.content, m.metadata, r.status, c.context_type::text
                    from messages m join flux.agent_runs r on r.message_id = m.id join conversations c on c.id = m.conversation_id
                    where m.user_id = tests.uid('cy') $$,
  $$ values ('system', 'Reschedule requested: “walk”.',
             '{"action": "reschedule_task", "task_id": "00000000-0000-4000-8000-0000000000f1"}'::jsonb, 'pending', 'reschedule') $$,
  'reschedule: a system message asks the agents for a proposal (its run queued; a conversation made for a user without one)');
select is(flux.record_response('00000000-0000-4000-8000-0000000000f1', 'reschedule', 'whatsapp', 'SMreply00000000000000000000000000f1'),
  'duplicate', 'reschedule: the replayed webhook is recognised');
select tests.authenticate_as('cy');
select is(respond_to_reminder('00000000-0000-4000-8000-0000000000f1', 'reschedule'), 'recorded',
  'reschedule: a second answer (the push button) is recorded too');
select tests.clear_authentication();
select is((select count(*)::int from pg_temp.cy_actions()), 1,
  'reschedule: neither the replay nor the second answer queues a second proposal while one is waiting');
select pg_temp.warp_to('2027-01-12 19:06Z');
select is(pg_temp.claim(), 0, 'reschedule: no call, and no auto-miss at the ladder''s usual rung');
select pg_temp.warp_to('2027-01-13 04:59Z');
select is(pg_temp.claim() || ' ' || (select status from tasks where id = '00000000-0000-4000-8000-0000000000f1'), '0 pending',
  'reschedule: the task stays pending until its day ends');
select pg_temp.warp_to('2027-01-13 05:00Z');
select is(pg_temp.claim(), 1, 'reschedule: at the end of the day the held rung is due');
select results_eq(
  $$ select t.status::text, t.escalation_stage::text, (select string_agg(d.channel || ':' || d.status, ',' order by d.id) from dispatch_log d where d.task_id = t.id)
     from tasks t where t.id = '00000000-0000-4000-8000-0000000000f1' $$,
  $$ values ('missed', null::text, 'push:dispatched,whatsapp:dispatched,auto_miss:dispatched') $$,
  'reschedule: not moved, it is auto-missed like any ignored reminder; no rung fired twice');

-- Answered after its day ended (23:58 local, answered at 00:01): one normal auto-miss distance
-- from the answer instead. New preferences do not move a held rung.
select pg_temp.warp_to('2027-01-15 04:48Z');
select is(pg_temp.claim(), 1, 'late: the push rung fires');
select pg_temp.warp_to('2027-01-15 05:01Z');
select tests.authenticate_as('cy');
select is(respond_to_reminder('00000000-0000-4000-8000-0000000000f2', 'reschedule'), 'recorded', 'late: reschedule from the push button');
select tests.clear_authentication();
select is((select escalation_stage || ' ' || escalation_due_at::text from tasks where id = '00000000-0000-4000-8000-0000000000f2'),
  'auto_miss 2027-01-15 05:07:00+00', 'late: held until now + 3 windows, the ladder''s distance from due time to auto-miss');
update users set notification_preferences = '{"reminder_lead_minutes": 10, "escalation_window_minutes": 30, "escalation_policy": "full"}'
where id = tests.uid('cy');
select is((select escalation_due_at from tasks where id = '00000000-0000-4000-8000-0000000000f2'), '2027-01-15 05:07Z'::timestamptz,
  'late: a new escalation window leaves the held rung where it is');
update users set notification_preferences = '{"reminder_lead_minutes": 10, "escalation_window_minutes": 2, "escalation_policy": "full"}'
where id = tests.uid('cy');
select is(pg_temp.claim(), 0, 'late: nothing fires before the held rung');

-- Moved in time: confirm_reschedule (the app) starts a normal ladder for the new time, and asks
-- the agents nothing (it is the answer already).
select pg_temp.warp_to('2027-01-16 19:50Z');
select is(pg_temp.claim(), 2, 'moved: the late task''s held auto-miss and this push fire');
select tests.authenticate_as('cy');
select respond_to_reminder('00000000-0000-4000-8000-0000000000f3', 'reschedule');
select tests.clear_authentication();
select is((select count(*)::int from pg_temp.cy_actions() a where a ->> 'task_id' = '00000000-0000-4000-8000-0000000000f3'), 1,
  'moved: the answer asked for a proposal');
select tests.authenticate_as('cy');
select is((select escalation_stage || ' ' || escalation_due_at::text || ' ' || status
           from confirm_reschedule('00000000-0000-4000-8000-0000000000f3', '2027-01-16 22:00Z')),
  'push 2027-01-16 21:50:00+00 pending', 'moved: confirm_reschedule replaces the hold with a normal ladder for the new time');
select tests.clear_authentication();
select is((select count(*)::int from pg_temp.cy_actions()), 3, 'moved: confirming queues no further proposal');
select pg_temp.warp_to('2027-01-16 21:50Z');
select pg_temp.claim() as moved_push \gset
select pg_temp.warp_to('2027-01-16 22:02Z');
select pg_temp.claim() as moved_whatsapp \gset
select pg_temp.warp_to('2027-01-16 22:04Z');
select is(:moved_push + :moved_whatsapp + pg_temp.claim() + pg_temp.claim(), 3, 'moved: the new ladder runs: push, WhatsApp, call');
select is((select escalation_stage || ' ' || escalation_due_at::text from tasks where id = '00000000-0000-4000-8000-0000000000f3'),
  'auto_miss 2027-01-16 22:06:00+00', 'moved: up to its own auto-miss rung; the old hold is gone');
select is(flux.record_response('00000000-0000-4000-8000-0000000000f1', 'reschedule', 'whatsapp', null), 'not_pending',
  'a reschedule answer for a settled task changes nothing');
select is((select count(*)::int from pg_temp.cy_actions()), 3, 'and queues nothing');

-- The warp is development-only.
update flux.clock set warp_allowed = false;
select throws_ok($$ select flux.set_time_warp(interval '1 day') $$, '42501',
  'time warp is disabled: it exists only on local development databases', 'without the local flag the clock cannot be warped');

select * from finish();
rollback;
