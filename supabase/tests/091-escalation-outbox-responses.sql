-- The outbox (lease, retry, permanent failure, collapse after downtime) and responses (each
-- stage stops what follows, replays change nothing, the RPC checks ownership).
begin;
set local search_path = extensions, public, tests;
select plan(32);
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
select results_eq($$ select status, error from dispatch_log where task_id = '00000000-0000-4000-8000-0000000000b1' $$,
  $$ values ('dispatched', null::text) $$, 'the row is dispatched');
select is((select count(*)::int from notification_log where task_id = '00000000-0000-4000-8000-0000000000b1' and channel = 'push'), 1, 'and the notification is logged once');

insert into tasks (id, user_id, title, scheduled_at) values
  ('00000000-0000-4000-8000-0000000000b2', tests.uid('ann'), 'fails', (select t from t0));
select pg_temp.claim();
select is((select count(*)::int from flux.claim_outbox(10, interval '30 seconds', 'worker-c')), 1, 'the next push row is taken');
select flux.finish_dispatch((select id from dispatch_log where task_id = '00000000-0000-4000-8000-0000000000b2'), 'worker-c', 'failed', null, 'push service: 400 bad request');
select results_eq($$ select status, error from dispatch_log where task_id = '00000000-0000-4000-8000-0000000000b2' $$,
  $$ values ('failed', 'push service: 400 bad request') $$, 'a permanent failure is recorded with its error');
select throws_ok($$ select flux.finish_dispatch(1, 'x', 'lost') $$, '22023', 'finish_dispatch: unknown outcome lost', 'an unknown outcome is refused');

-- Collapse after downtime ---------------------------------------------------------------------
update tasks set status = 'cancelled' where id in ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000b2');
insert into tasks (id, user_id, title, scheduled_at) values
  ('00000000-0000-4000-8000-0000000000c1', tests.uid('ann'), 'backlog', (select t from t0) + interval '1 hour'),
  ('00000000-0000-4000-8000-0000000000c2', tests.uid('ann'), 'answered meanwhile', (select t from t0) + interval '1 hour');
-- The service was down: the sweep kept claiming rungs, nobody sent anything.
select pg_temp.warp_to((select t from t0) + interval '1 hour 5 min');
select is(pg_temp.claim() + pg_temp.claim() + pg_temp.claim(), 6, 'three rungs of two tasks piled up in the outbox');
update tasks set status = 'done' where id = '00000000-0000-4000-8000-0000000000c2';
select results_eq(
  $$ select task_id, channel from flux.claim_outbox(100, interval '30 seconds', 'worker-d') where task_id::text like '%c_' order by task_id $$,
  $$ values ('00000000-0000-4000-8000-0000000000c1'::uuid, 'call') $$,
  'after downtime only the latest rung of the open task is sent');
select results_eq(
  $$ select task_id, channel, status, error from dispatch_log where task_id::text like '%c_' and status = 'skipped' order by task_id, id $$,
  $$ values ('00000000-0000-4000-8000-0000000000c1'::uuid, 'push', 'skipped', 'superseded by a later rung'),
            ('00000000-0000-4000-8000-0000000000c1'::uuid, 'whatsapp', 'skipped', 'superseded by a later rung'),
            ('00000000-0000-4000-8000-0000000000c2'::uuid, 'push', 'skipped', 'task is done before send'),
            ('00000000-0000-4000-8000-0000000000c2'::uuid, 'whatsapp', 'skipped', 'task is done before send'),
            ('00000000-0000-4000-8000-0000000000c2'::uuid, 'call', 'skipped', 'task is done before send') $$,
  'the rest is skipped, each with the reason');

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
select pg_temp.warp_to((select t from t2) + interval '1 hour');
select is(pg_temp.claim(), 0, 'with every task answered, nothing is left to fire');

select results_eq(
  $$ select t.title, t.status, t.escalation_stage, (select string_agg(d.channel, ',' order by d.id) from dispatch_log d where d.task_id = t.id)
     from tasks t where t.id::text like '%d_' order by t.id $$,
  $$ values ('done after push', 'done', null::text, 'push'),
            ('missed after whatsapp', 'missed', null, 'push,whatsapp'),
            ('acknowledged after call', 'pending', null, 'push,whatsapp,call'),
            ('reschedule after whatsapp', 'pending', null, 'push,whatsapp') $$,
  'a response at each stage stops every rung after it');
select results_eq(
  $$ select t.title, n.channel, n.response from notification_log n join tasks t on t.id = n.task_id
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

-- The warp is development-only.
update flux.clock set warp_allowed = false;
select throws_ok($$ select flux.set_time_warp(interval '1 day') $$, '42501',
  'time warp is disabled: it exists only on local development databases', 'without the local flag the clock cannot be warped');

select * from finish();
rollback;
