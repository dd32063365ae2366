-- Reminders through the real providers (migration 20261205000400_reminders): delivery status
-- from status callbacks (a failed rung moves the ladder on at once), WhatsApp's 24-hour window
-- and opt-out, snooze, quiet hours (across a DST change too). Everything on a warped clock, in
-- one transaction rolled back at the end.
begin;
set local search_path = extensions, public, tests;
select plan(143);
delete from auth.users; -- claims are global: no seeded task may join in (rolled back at the end)

create function pg_temp.warp_to(p_at timestamptz) returns timestamptz language sql
as $$ select flux.set_time_warp(p_at - now()) $$;
create function pg_temp.claim() returns integer language sql as $$ select flux.claim_escalations(1000) $$;
-- The provider's id of a send: a WhatsApp message 'SM' + 32 hex digits, a call 'CA' + 32, a push none.
create function pg_temp.sid(p_dispatch bigint, p_channel text) returns text language sql immutable
as $$ select case p_channel when 'whatsapp' then 'SM' when 'call' then 'CA' end || md5(p_dispatch::text) $$;
-- The id of a task's latest send on a channel.
create function pg_temp.sid_of(p_task uuid, p_channel text) returns text language sql stable
as $$ select pg_temp.sid(max(d.id), p_channel) from dispatch_log d where d.task_id = p_task and d.channel::text = p_channel $$;
-- A worker sends everything the outbox hands out (except the given tasks' rows: leased, not finished).
create function pg_temp.send_all(p_except uuid[] default '{}') returns integer language sql as $$
  select count(*)::int from (
    select flux.finish_dispatch(o.id, 'w', 'sent', pg_temp.sid(o.id, o.channel))
    from flux.claim_outbox(100, interval '30 seconds', 'w') o
    where o.task_id <> all (p_except)) x $$;
-- A status callback for a task's latest send on a channel.
create function pg_temp.deliver(p_task uuid, p_channel text, p_status text, p_code integer default null) returns text
language sql as $$ select flux.record_delivery(pg_temp.sid_of(p_task, p_channel), p_status, p_code) $$;
-- What the task's latest send on a channel shows: status and error code.
create function pg_temp.shown(p_task uuid, p_channel text) returns text language sql stable as $$
  select n.delivery_status::text || coalesce(' ' || n.delivery_error_code, '')
  from notification_log n where n.external_id = pg_temp.sid_of(p_task, p_channel) $$;
-- A task's ladder: status, next rung and when, relative to p_t.
create function pg_temp.ladder(p_task uuid, p_t timestamptz) returns text language sql stable as $$
  select t.status || coalesce(' ' || t.escalation_stage || ' ' || (t.escalation_due_at - p_t), '')
  from tasks t where t.id = p_task $$;
-- The sends a task made (outbox rows, any status), each with its time relative to p_t.
create function pg_temp.sends(p_task uuid, p_t timestamptz) returns text language sql stable as $$
  select coalesce(string_agg(d.channel || ' ' || (d.created_at - p_t), ', ' order by d.id), '')
  from dispatch_log d where d.task_id = p_task $$;

-- T: the due time of the first tasks, a round hour ahead. Default rungs: push T - 10 min,
-- WhatsApp T + 2, call T + 4, auto-miss T + 6.
create temporary table t0 as select date_trunc('hour', now()) + interval '2 hours' as t;

-- =============================================================================================
-- 1. Delivery status
-- =============================================================================================
select tests.create_user('ann'), tests.create_user('ben');
update users set phone_number = '+4915100001401' where id = tests.uid('ann');
update users set phone_verified = true, whatsapp_opt_in_at = now() where id = tests.uid('ann');
insert into push_subscriptions (user_id, endpoint, p256dh, auth)
values (tests.uid('ann'), 'https://push.example.invalid/ann', repeat('B', 87), repeat('a', 22));
insert into tasks (id, user_id, title, scheduled_at)
select ('00000000-0000-4000-8000-0000000014' || n)::uuid, tests.uid('ann'), title, (select t from t0)
from (values ('a1', 'delivered and read'), ('a2', 'whatsapp fails'), ('a3', 'fails too late'),
             ('a4', 'callback before the send'), ('a5', 'call not answered'), ('a6', 'call busy'),
             ('a7', 'call answered'), ('a8', 'refused by the provider')) v (n, title);

select pg_temp.warp_to((select t from t0) - interval '10 min');
select is(pg_temp.claim(), 8, 'delivery: eight tasks take their push rung');
select is(pg_temp.send_all(), 8, 'delivery: the pushes are sent');
select pg_temp.warp_to((select t from t0) + interval '2 min');
select is(pg_temp.claim(), 8, 'delivery: T + window: every task takes its WhatsApp rung');
-- The WhatsApp messages of a4 and a8 are with a sender, which has not recorded them yet.
select is(pg_temp.send_all('{00000000-0000-4000-8000-0000000014a4, 00000000-0000-4000-8000-0000000014a8}'), 6,
  'delivery: six WhatsApp messages are sent, two are in flight');

-- The provider refuses a8's message outright: a retry leaves the ladder alone, a permanent failure advances it.
select ok(flux.finish_dispatch((select max(id) from dispatch_log where task_id = '00000000-0000-4000-8000-0000000014a8'), 'w', 'retry', null,
                               'twilio: 503', flux.now()), 'refused: a transient error is a retry');
select is(pg_temp.ladder('00000000-0000-4000-8000-0000000014a8', (select t from t0)), 'pending call 00:04:00', 'refused: a retry does not move the ladder');
select results_eq($$ select channel, attempts from flux.claim_outbox(100, interval '30 seconds', 'w') where task_id = '00000000-0000-4000-8000-0000000014a8' $$,
  $$ values ('whatsapp', 2) $$, 'refused: the message is taken again');
select ok(flux.finish_dispatch((select max(id) from dispatch_log where task_id = '00000000-0000-4000-8000-0000000014a8'), 'w', 'failed', null,
                               'twilio 63016: outside the 24-hour window'), 'refused: then refused for good');
select results_eq(
  $$ select escalation_stage::text, escalation_due_at = flux.now() from tasks where id = '00000000-0000-4000-8000-0000000014a8' $$,
  $$ values ('call', true) $$, 'refused: a WhatsApp that reached nobody brings the call forward to now');

-- queued → sent → delivered → read, never backwards.
select is(pg_temp.deliver('00000000-0000-4000-8000-0000000014a1', 'whatsapp', 'queued'), 'recorded', 'status: queued is recorded');
select is(pg_temp.shown('00000000-0000-4000-8000-0000000014a1', 'whatsapp'), 'queued', 'status: the notification shows queued');
select is(pg_temp.deliver('00000000-0000-4000-8000-0000000014a1', 'whatsapp', 'sent'), 'recorded', 'status: then sent');
select is(pg_temp.deliver('00000000-0000-4000-8000-0000000014a1', 'whatsapp', 'delivered'), 'recorded', 'status: then delivered');
select is(pg_temp.shown('00000000-0000-4000-8000-0000000014a1', 'whatsapp'), 'delivered', 'status: the notification shows delivered');
select is(pg_temp.deliver('00000000-0000-4000-8000-0000000014a1', 'whatsapp', 'sent'), 'stale', 'status: a late "sent" after delivered is stale');
select is(pg_temp.deliver('00000000-0000-4000-8000-0000000014a1', 'whatsapp', 'delivered'), 'stale', 'status: a replayed "delivered" is stale');
select is(pg_temp.shown('00000000-0000-4000-8000-0000000014a1', 'whatsapp'), 'delivered', 'status: neither moved it backwards');
select is(pg_temp.deliver('00000000-0000-4000-8000-0000000014a1', 'whatsapp', 'read'), 'recorded', 'status: then read');
select results_eq(
  $$ select delivery_status::text, delivery_updated_at = flux.now() from notification_log where external_id = pg_temp.sid_of('00000000-0000-4000-8000-0000000014a1', 'whatsapp') $$,
  $$ values ('read', true) $$, 'status: read, stamped with the time of the callback');
select is(pg_temp.ladder('00000000-0000-4000-8000-0000000014a1', (select t from t0)), 'pending call 00:04:00',
  'status: a delivered message does not move the ladder');

-- A failed WhatsApp (63016: outside the 24-hour window without a template) brings the call forward.
select is(pg_temp.deliver('00000000-0000-4000-8000-0000000014a2', 'whatsapp', 'sent'), 'recorded', 'failed: sent first');
select is(pg_temp.deliver('00000000-0000-4000-8000-0000000014a2', 'whatsapp', 'failed', 63016), 'advanced', 'failed: 63016 advances the ladder');
select results_eq(
  $$ select escalation_stage::text, escalation_due_at = flux.now() from tasks where id = '00000000-0000-4000-8000-0000000014a2' $$,
  $$ values ('call', true) $$, 'failed: the call rung is due now instead of at T + 2 windows');
select is(pg_temp.shown('00000000-0000-4000-8000-0000000014a2', 'whatsapp'), 'failed 63016', 'failed: status and error code are recorded');
select is(pg_temp.deliver('00000000-0000-4000-8000-0000000014a2', 'whatsapp', 'failed', 63016), 'stale', 'failed: a replayed failure is stale');
select is(pg_temp.deliver('00000000-0000-4000-8000-0000000014a2', 'whatsapp', 'undelivered', 30003), 'stale', 'failed: an undelivered after it is stale too');
select is(pg_temp.deliver('00000000-0000-4000-8000-0000000014a2', 'whatsapp', 'canceled'), 'stale', 'failed: a final status is never replaced, even by a later one in the order');
select is(pg_temp.shown('00000000-0000-4000-8000-0000000014a2', 'whatsapp'), 'failed 63016', 'failed: the notification still shows the first failure');

-- A callback that overtakes the API answer waits for the send, then takes effect.
select is(pg_temp.deliver('00000000-0000-4000-8000-0000000014a4', 'whatsapp', 'sent'), 'early', 'early: a callback before the send is recorded is kept');
select is(pg_temp.deliver('00000000-0000-4000-8000-0000000014a4', 'whatsapp', 'failed', 63016), 'early', 'early: and its failure too');
select results_eq(
  $$ select e.status::text, e.error_code from flux.delivery_events e where e.external_id = pg_temp.sid_of('00000000-0000-4000-8000-0000000014a4', 'whatsapp') order by e.status $$,
  $$ values ('sent', null::integer), ('failed', 63016) $$, 'early: both wait in flux.delivery_events');
select is(pg_temp.ladder('00000000-0000-4000-8000-0000000014a4', (select t from t0)), 'pending call 00:04:00', 'early: the ladder is untouched so far');
select ok(flux.finish_dispatch((select max(id) from dispatch_log where task_id = '00000000-0000-4000-8000-0000000014a4'), 'w', 'sent',
                               pg_temp.sid_of('00000000-0000-4000-8000-0000000014a4', 'whatsapp')),
  'early: the sender records the send');
select is(pg_temp.shown('00000000-0000-4000-8000-0000000014a4', 'whatsapp'), 'failed 63016', 'early: the waiting statuses are applied on the send');
select results_eq(
  $$ select escalation_stage::text, escalation_due_at = flux.now() from tasks where id = '00000000-0000-4000-8000-0000000014a4' $$,
  $$ values ('call', true) $$, 'early: the failure advanced the ladder: the call is due now');
select is((select count(*)::int from flux.delivery_events where external_id = pg_temp.sid_of('00000000-0000-4000-8000-0000000014a4', 'whatsapp')), 0,
  'early: the applied events are gone');

-- The advanced call fires now; the auto-miss after it keeps its own time.
select is(pg_temp.claim(), 3, 'failed: the claim fires the three advanced calls at once');
select is(pg_temp.send_all(), 3, 'failed: the calls are placed');
select is(pg_temp.sends('00000000-0000-4000-8000-0000000014a2', (select t from t0)), 'push -00:10:00, whatsapp 00:02:00, call 00:02:00',
  'failed: the call went out with the failed WhatsApp, two minutes early');
select is(pg_temp.ladder('00000000-0000-4000-8000-0000000014a2', (select t from t0)), 'pending auto_miss 00:06:00',
  'failed: the auto-miss stays at T + 3 windows');
select is(pg_temp.deliver('00000000-0000-4000-8000-0000000014a2', 'whatsapp', 'undelivered'), 'stale', 'failed: a late second failure callback is stale');
select is(pg_temp.ladder('00000000-0000-4000-8000-0000000014a2', (select t from t0)), 'pending auto_miss 00:06:00',
  'failed: and does not bring the auto-miss forward: the ladder advanced exactly once');

-- The ladder moved on by itself before the failure arrived: nothing moves.
select pg_temp.warp_to((select t from t0) + interval '4 min');
select is(pg_temp.claim(), 5, 'T + 2 windows: the other five tasks take their call rung');
select is(pg_temp.send_all(), 5, 'the calls are placed');
select is(pg_temp.deliver('00000000-0000-4000-8000-0000000014a3', 'whatsapp', 'failed', 63016), 'recorded',
  'late failure: recorded, not advanced (the call it would bring forward is already out)');
select is(pg_temp.ladder('00000000-0000-4000-8000-0000000014a3', (select t from t0)), 'pending auto_miss 00:06:00',
  'late failure: the auto-miss keeps its time');
select is(pg_temp.shown('00000000-0000-4000-8000-0000000014a3', 'whatsapp'), 'failed 63016', 'late failure: the status is shown all the same');

-- Calls: no-answer and busy bring the auto-miss forward, an answered call does not.
select is(pg_temp.deliver('00000000-0000-4000-8000-0000000014a5', 'call', 'initiated'), 'recorded', 'call: initiated');
select is(pg_temp.deliver('00000000-0000-4000-8000-0000000014a5', 'call', 'ringing'), 'recorded', 'call: ringing');
select is(pg_temp.deliver('00000000-0000-4000-8000-0000000014a5', 'call', 'no-answer'), 'advanced', 'call: no-answer advances the ladder');
select is(pg_temp.deliver('00000000-0000-4000-8000-0000000014a6', 'call', 'busy'), 'advanced', 'call: busy advances the ladder');
select is(pg_temp.deliver('00000000-0000-4000-8000-0000000014a7', 'call', 'in-progress'), 'recorded', 'call: answered (in-progress)');
select is(pg_temp.deliver('00000000-0000-4000-8000-0000000014a7', 'call', 'completed'), 'recorded', 'call: completed is recorded');
select is(pg_temp.deliver('00000000-0000-4000-8000-0000000014a7', 'call', 'no-answer'), 'stale', 'call: nothing replaces completed');
select results_eq(
  $$ select id, escalation_stage::text, escalation_due_at = flux.now() from tasks where id::text like '%14a_' and id::text between '00000000-0000-4000-8000-0000000014a5' and '00000000-0000-4000-8000-0000000014a7' order by id $$,
  $$ values ('00000000-0000-4000-8000-0000000014a5'::uuid, 'auto_miss', true), ('00000000-0000-4000-8000-0000000014a6'::uuid, 'auto_miss', true),
            ('00000000-0000-4000-8000-0000000014a7'::uuid, 'auto_miss', false) $$,
  'call: the auto-miss is due now after no-answer and busy, not after an answered call');
select is(pg_temp.claim(), 2, 'call: the claim takes the two auto-misses');
select results_eq(
  $$ select title, status::text from tasks where id::text like '%14a_' order by id $$,
  $$ values ('delivered and read', 'pending'), ('whatsapp fails', 'pending'), ('fails too late', 'pending'),
            ('callback before the send', 'pending'), ('call not answered', 'missed'), ('call busy', 'missed'), ('call answered', 'pending'),
            ('refused by the provider', 'pending') $$,
  'call: the unanswered and the busy call''s tasks are missed now; the others wait for their auto-miss');
select pg_temp.warp_to((select t from t0) + interval '6 min' - interval '1 second');
select is(pg_temp.claim(), 0, 'T + 3 windows - 1s: no auto-miss early');
select pg_temp.warp_to((select t from t0) + interval '6 min');
select is(pg_temp.claim(), 6, 'T + 3 windows: the other six are auto-missed on time');

-- Bad callbacks.
select throws_ok($$ select pg_temp.deliver('00000000-0000-4000-8000-0000000014a1', 'whatsapp', 'bogus') $$, '22023', null,
  'an unknown status is refused');
select throws_ok($$ select pg_temp.deliver('00000000-0000-4000-8000-0000000014a1', 'whatsapp', null) $$, '22023', null,
  'a null status is refused');
select throws_ok($$ select flux.record_delivery(null, 'sent') $$, '22023', null, 'a callback without an id is refused');
select is(pg_temp.shown('00000000-0000-4000-8000-0000000014a1', 'whatsapp'), 'read', 'and none of them changed anything');

-- The user sees why a reminder did not reach them; nobody else does, and nobody writes it.
select tests.authenticate_as('ann');
select results_eq(
  $$ select delivery_status::text, delivery_error_code from notification_log where task_id = '00000000-0000-4000-8000-0000000014a2' and channel = 'whatsapp' $$,
  $$ values ('failed', 63016) $$, 'RLS: the user reads the status and error code of her WhatsApp reminder');
select throws_ok($$ update notification_log set delivery_status = 'read' where task_id = '00000000-0000-4000-8000-0000000014a2' $$, '42501', null,
  'RLS: she cannot write it');
select tests.authenticate_as('ben');
select is((select count(*)::int from notification_log where task_id::text like '%14a_'), 0, 'RLS: another user sees none of it');
select tests.clear_authentication();

-- =============================================================================================
-- 2. WhatsApp window and opt-out
-- =============================================================================================
create temporary table t1 as select (select t from t0) + interval '3 hours' as t;
select tests.create_user('dan'), tests.create_user('cat');
update users set phone_number = '+4915100001402' where id = tests.uid('dan');
update users set phone_verified = true, whatsapp_opt_in_at = now() where id = tests.uid('dan');
update users set phone_number = '+4915100001403' where id = tests.uid('cat'); -- not verified
insert into push_subscriptions (user_id, endpoint, p256dh, auth)
values (tests.uid('dan'), 'https://push.example.invalid/dan', repeat('D', 87), repeat('d', 22));

select pg_temp.warp_to((select t from t1) - interval '1 hour');
select is(flux.note_inbound_whatsapp('+4915100001402'), true, 'window: a message from a verified number is noted');
select is((select whatsapp_window_until from users where id = tests.uid('dan')), flux.now() + interval '24 hours',
  'window: it opens the number''s window for 24 hours');
select is(flux.note_inbound_whatsapp('+4915100009999'), false, 'window: an unknown number is not a user');
select is(flux.note_inbound_whatsapp('+4915100001403'), false, 'window: nor is an unverified one');
select is((select whatsapp_window_until from users where id = tests.uid('cat')), null, 'window: whose window stays closed');

insert into tasks (id, user_id, title, scheduled_at) values
  ('00000000-0000-4000-8000-0000000014b1', tests.uid('dan'), 'inside the window', (select t from t1)),
  ('00000000-0000-4000-8000-0000000014b2', tests.uid('dan'), 'after the window', (select t from t1) + interval '23 hours 28 min');
select pg_temp.warp_to((select t from t1) - interval '10 min');
select pg_temp.claim(), pg_temp.send_all();
select pg_temp.warp_to((select t from t1) + interval '2 min');
select pg_temp.claim();
create temporary table out_b1 as select * from flux.claim_outbox(100, interval '30 seconds', 'w');
select results_eq($$ select channel, whatsapp_window_open from out_b1 where task_id = '00000000-0000-4000-8000-0000000014b1' $$,
  $$ values ('whatsapp', true) $$, 'window: a WhatsApp rung an hour after the person wrote is sent with the window open (free text)');
select flux.finish_dispatch(id, 'w', 'sent', pg_temp.sid(id, channel)) from out_b1;
select is(flux.record_response('00000000-0000-4000-8000-0000000014b1', 'done', 'whatsapp', null), 'recorded', 'window: answered done');

select pg_temp.warp_to((select t from t1) + interval '23 hours 18 min');
select pg_temp.claim(), pg_temp.send_all();
select pg_temp.warp_to((select t from t1) + interval '23 hours 30 min');
select pg_temp.claim();
create temporary table out_b2 as select * from flux.claim_outbox(100, interval '30 seconds', 'w');
select results_eq($$ select channel, whatsapp_window_open from out_b2 where task_id = '00000000-0000-4000-8000-0000000014b2' $$,
  $$ values ('whatsapp', false) $$, 'window: 24 hours 30 minutes after the person wrote it is closed (a template)');
select flux.finish_dispatch(id, 'w', 'sent', pg_temp.sid(id, channel)) from out_b2;
select is(flux.record_response('00000000-0000-4000-8000-0000000014b2', 'done', 'whatsapp', null), 'recorded', 'window: answered done');

-- STOP.
create temporary table t2 as select (select t from t1) + interval '2 days' as t;
select pg_temp.warp_to((select t from t2) - interval '1 hour');
select is(flux.whatsapp_opt_out('+4915100001402'), true, 'opt-out: STOP from a user''s number withdraws the opt-in');
select results_eq($$ select whatsapp_opt_in_at, whatsapp_opted_out_at = flux.now() from users where id = tests.uid('dan') $$,
  $$ values (null::timestamptz, true) $$, 'opt-out: the opt-in is cleared and the opt-out stamped');
select is(flux.whatsapp_opt_out('+4915100009999'), false, 'opt-out: an unknown number withdraws nothing');
insert into tasks (id, user_id, title, scheduled_at) values
  ('00000000-0000-4000-8000-0000000014b3', tests.uid('dan'), 'after STOP', (select t from t2));
select pg_temp.warp_to((select t from t2) - interval '10 min');
select pg_temp.claim(), pg_temp.send_all();
select pg_temp.warp_to((select t from t2) + interval '2 min');
select pg_temp.claim(), pg_temp.send_all();
select is(pg_temp.ladder('00000000-0000-4000-8000-0000000014b3', (select t from t2)), 'pending call 00:04:00',
  'opt-out: the WhatsApp rung passes, the call keeps its time');
select pg_temp.warp_to((select t from t2) + interval '4 min');
select pg_temp.claim(), pg_temp.send_all();
select pg_temp.warp_to((select t from t2) + interval '6 min');
select pg_temp.claim();
select is(pg_temp.sends('00000000-0000-4000-8000-0000000014b3', (select t from t2)), 'push -00:10:00, call 00:04:00, auto_miss 00:06:00',
  'opt-out: no WhatsApp is sent; push, call and auto-miss at their rungs');

-- A new number starts clean.
select flux.note_inbound_whatsapp('+4915100001402');
update users set phone_number = '+4915100001404' where id = tests.uid('dan');
select results_eq(
  $$ select phone_verified, whatsapp_opt_in_at, whatsapp_window_until, whatsapp_opted_out_at from users where id = tests.uid('dan') $$,
  $$ values (false, null::timestamptz, null::timestamptz, null::timestamptz) $$,
  'a new phone number clears verification, opt-in, window and opt-out');

-- Only the service writes these.
select tests.authenticate_as('dan');
select throws_ok($$ update users set whatsapp_window_until = now() + interval '1 year' where id = tests.uid('dan') $$, '42501', null,
  'a user cannot open her own WhatsApp window');
select throws_ok($$ update users set whatsapp_opted_out_at = null where id = tests.uid('dan') $$, '42501', null,
  'a user cannot clear her opt-out stamp');
select throws_ok($$ update tasks set snooze_count = 0 where user_id = tests.uid('dan') $$, '42501', null,
  'a user cannot reset a task''s snooze count');
select throws_ok($$ select flux.note_inbound_whatsapp('+4915100001404') $$, '42501', null, 'a user cannot call note_inbound_whatsapp');
select throws_ok($$ select flux.record_delivery('SM00000000000000000000000000000000', 'read') $$, '42501', null, 'a user cannot call record_delivery');
select tests.clear_authentication();

-- =============================================================================================
-- 3. Snooze
-- =============================================================================================
create temporary table t3 as select (select t from t2) + interval '2 days' as t;
select tests.create_user('eve'), tests.create_user('fay');
update users set phone_number = '+4915100001405' where id = tests.uid('eve');
update users set phone_verified = true, whatsapp_opt_in_at = now() where id = tests.uid('eve');
update users set notification_preferences = notification_preferences || '{"snooze_minutes": 5}' where id = tests.uid('fay');
insert into push_subscriptions (user_id, endpoint, p256dh, auth)
values (tests.uid('eve'), 'https://push.example.invalid/eve', repeat('E', 87), repeat('e', 22)),
       (tests.uid('fay'), 'https://push.example.invalid/fay', repeat('F', 87), repeat('f', 22));
insert into tasks (id, user_id, title, scheduled_at) values
  ('00000000-0000-4000-8000-0000000014c1', tests.uid('eve'), 'snoozed', (select t from t3)),
  ('00000000-0000-4000-8000-0000000014c2', tests.uid('fay'), 'five minutes', (select t from t3)),
  ('00000000-0000-4000-8000-0000000014c3', tests.uid('eve'), 'garbled answer', (select t from t3));
select pg_temp.warp_to((select t from t3) - interval '10 min');
select pg_temp.claim(), pg_temp.send_all();

select pg_temp.warp_to((select t from t3) + interval '1 min');
select tests.authenticate_as('eve');
select is(respond_to_reminder('00000000-0000-4000-8000-0000000014c1', 'snooze'), 'recorded', 'snooze: the push''s snooze button is recorded');
select throws_ok($$ select respond_to_reminder('00000000-0000-4000-8000-0000000014c3', null) $$, '22023', null, 'snooze: a missing answer is refused');
select throws_ok($$ select respond_to_reminder('00000000-0000-4000-8000-0000000014c3', 'later') $$, '22023', null, 'snooze: an unknown answer is refused');
select tests.authenticate_as('fay');
select is(respond_to_reminder('00000000-0000-4000-8000-0000000014c2', 'snooze'), 'recorded', 'snooze: fay snoozes too');
select tests.clear_authentication();
select results_eq(
  $$ select scheduled_at - (select t from t3), escalation_stage::text, escalation_due_at - (select t from t3), snooze_count::int
     from tasks where id = '00000000-0000-4000-8000-0000000014c1' $$,
  $$ values (interval '11 min', 'push', interval '11 min', 1) $$,
  'snooze: due again in 10 minutes (the default), its ladder restarting with a push at that time; one snooze counted');
select results_eq(
  $$ select response::text, responded_at = flux.now() from notification_log where task_id = '00000000-0000-4000-8000-0000000014c1' $$,
  $$ values ('snoozed', true) $$, 'snooze: the push it answers shows snoozed');
select results_eq(
  $$ select scheduled_at - (select t from t3), escalation_stage::text, escalation_due_at - (select t from t3)
     from tasks where id = '00000000-0000-4000-8000-0000000014c2' $$,
  $$ values (interval '6 min', 'push', interval '6 min') $$, 'snooze: the user''s snooze_minutes (5) is honoured');
select is(pg_temp.ladder('00000000-0000-4000-8000-0000000014c3', (select t from t3)), 'pending whatsapp 00:02:00',
  'snooze: the refused answers changed nothing: the ladder keeps going');
select is((select response from notification_log where task_id = '00000000-0000-4000-8000-0000000014c3'), null,
  'snooze: and recorded no answer');

select pg_temp.warp_to((select t from t3) + interval '2 min');
select pg_temp.claim(), pg_temp.send_all();
select is(pg_temp.sends('00000000-0000-4000-8000-0000000014c3', (select t from t3)), 'push -00:10:00, whatsapp 00:02:00',
  'snooze: the garbled answer''s task gets its WhatsApp on time');
select is(pg_temp.sends('00000000-0000-4000-8000-0000000014c1', (select t from t3)), 'push -00:10:00',
  'snooze: the snoozed task''s old WhatsApp rung does not fire');
select flux.record_response('00000000-0000-4000-8000-0000000014c3', 'done');

select pg_temp.warp_to((select t from t3) + interval '11 min');
select pg_temp.claim();
create temporary table out_c1 as select * from flux.claim_outbox(100, interval '30 seconds', 'w');
select results_eq($$ select channel, due_at - (select t from t3), snoozes_left from out_c1 where task_id = '00000000-0000-4000-8000-0000000014c1' $$,
  $$ values ('push', interval '11 min', 2) $$, 'snooze: at the new time the push goes out again, offering two more snoozes');
select flux.finish_dispatch(id, 'w', 'sent', pg_temp.sid(id, channel)) from out_c1;
select is(pg_temp.ladder('00000000-0000-4000-8000-0000000014c1', (select t from t3)), 'pending whatsapp 00:13:00',
  'snooze: and the WhatsApp follows one window after the new time');

-- The snooze races the next rung: claim_escalations has queued the WhatsApp, no sender has it yet.
select pg_temp.warp_to((select t from t3) + interval '13 min');
select pg_temp.claim();
select results_eq($$ select channel::text, status::text, lease_until from dispatch_log where task_id = '00000000-0000-4000-8000-0000000014c1' order by id desc limit 1 $$,
  $$ values ('whatsapp', 'pending', null::timestamptz) $$, 'race: the WhatsApp rung is queued, not leased');
select tests.authenticate_as('eve');
select is(respond_to_reminder('00000000-0000-4000-8000-0000000014c1', 'snooze'), 'recorded', 'race: snoozed (second time) from the push');
select tests.clear_authentication();
select results_eq($$ select status::text, error from dispatch_log where task_id = '00000000-0000-4000-8000-0000000014c1' order by id desc limit 1 $$,
  $$ values ('skipped', 'snoozed') $$, 'race: the queued WhatsApp is skipped as snoozed');
select is((select count(*)::int from flux.claim_outbox(100, interval '30 seconds', 'w') where task_id = '00000000-0000-4000-8000-0000000014c1'), 0,
  'race: and never handed to a sender');
select is(pg_temp.ladder('00000000-0000-4000-8000-0000000014c1', (select t from t3)), 'pending push 00:23:00', 'race: the task is due in 10 minutes again');

-- Third snooze, while the push of the new ladder is with a sender.
select pg_temp.warp_to((select t from t3) + interval '23 min');
select pg_temp.claim();
create temporary table out_c3 as select * from flux.claim_outbox(100, interval '30 seconds', 'w');
select is(flux.record_response('00000000-0000-4000-8000-0000000014c1', 'snooze', 'push', null), 'recorded', 'snooze: a third snooze');
select results_eq($$ select status::text, lease_owner from dispatch_log where id = (select id from out_c3 where task_id = '00000000-0000-4000-8000-0000000014c1') $$,
  $$ values ('pending', 'w') $$, 'snooze: the push already with a sender stays with it');
select ok(flux.finish_dispatch((select id from out_c3 where task_id = '00000000-0000-4000-8000-0000000014c1'), 'w', 'sent'), 'snooze: whose send is recorded');
select results_eq(
  $$ select scheduled_at - (select t from t3), escalation_stage::text, escalation_due_at - (select t from t3), snooze_count::int
     from tasks where id = '00000000-0000-4000-8000-0000000014c1' $$,
  $$ values (interval '33 min', 'push', interval '33 min', 3) $$, 'snooze: three snoozes counted, due at T + 33 min');

-- The fourth is refused.
select is(flux.record_response('00000000-0000-4000-8000-0000000014c1', 'snooze', 'push', null), 'snooze_limit', 'limit: a fourth snooze is refused');
select results_eq(
  $$ select scheduled_at - (select t from t3), escalation_stage::text, escalation_due_at - (select t from t3), snooze_count::int
     from tasks where id = '00000000-0000-4000-8000-0000000014c1' $$,
  $$ values (interval '33 min', 'push', interval '33 min', 3) $$, 'limit: and changes nothing');
select is((select count(*)::int from notification_log where task_id = '00000000-0000-4000-8000-0000000014c1' and response is null), 1,
  'limit: the latest push stays unanswered');
select tests.authenticate_as('eve');
select throws_ok($$ select respond_to_reminder('00000000-0000-4000-8000-0000000014c1', 'snooze') $$, 'PT409',
  'respond_to_reminder: this reminder was snoozed 3 times already', 'limit: the app gets PT409');
select tests.clear_authentication();
select pg_temp.warp_to((select t from t3) + interval '33 min');
select pg_temp.claim();
create temporary table out_c4 as select * from flux.claim_outbox(100, interval '30 seconds', 'w');
select results_eq($$ select channel, snoozes_left from out_c4 where task_id = '00000000-0000-4000-8000-0000000014c1' $$,
  $$ values ('push', 0) $$, 'limit: the next push offers no snooze');
select flux.finish_dispatch(id, 'w', 'sent', pg_temp.sid(id, channel)) from out_c4;
select tests.authenticate_as('eve');
select is(respond_to_reminder('00000000-0000-4000-8000-0000000014c1', 'done'), 'recorded', 'limit: the other answers still work');
select tests.clear_authentication();
select is((select status::text from tasks where id = '00000000-0000-4000-8000-0000000014c1'), 'done', 'limit: done');

-- =============================================================================================
-- 4. Quiet hours
-- =============================================================================================
select tests.create_user('gus', 'Asia/Tokyo'), tests.create_user('hal', 'Asia/Tokyo'),
       tests.create_user('ivy', 'Asia/Tokyo'), tests.create_user('jo', 'Asia/Tokyo');

-- The preferences' CHECK, as the user sets them.
select tests.authenticate_as('gus');
select throws_ok($$ update users set notification_preferences = notification_preferences || '{"quiet_hours": {"start": "25:00", "end": "07:00"}}' $$,
  '23514', null, 'preferences: quiet hours at 25:00 are refused');
select throws_ok($$ update users set notification_preferences = notification_preferences || '{"snooze_minutes": 0}' $$,
  '23514', null, 'preferences: a snooze of 0 minutes is refused');
select throws_ok($$ update users set notification_preferences = notification_preferences || '{"snooze_minutes": 500}' $$,
  '23514', null, 'preferences: a snooze of 500 minutes is refused');
select lives_ok($$ update users set notification_preferences = notification_preferences
                   || '{"quiet_hours": {"start": "22:00", "end": "07:00"}, "snooze_minutes": 240, "escalation_window_minutes": 120}' $$,
  'preferences: quiet hours 22:00-07:00 and a 240-minute snooze are accepted');
select tests.clear_authentication();

-- Tokyo (no DST), Wednesday 2027-03-10. gus: quiet 22:00-07:00, window 2 hours. hal: the same
-- quiet hours, window 10 minutes. ivy: no quiet_hours, the profile's sleep window 22:00-07:00.
-- jo: the same sleep window, quiet hours turned off (start = end).
update users set phone_number = '+8190000014' || lpad(n::text, 2, '0')
from (values ('gus', 1), ('hal', 2), ('ivy', 3), ('jo', 4)) v (name, n) where id = tests.uid(v.name);
update users set phone_verified = true, whatsapp_opt_in_at = now() where id in (tests.uid('gus'), tests.uid('hal'), tests.uid('ivy'), tests.uid('jo'));
update users set notification_preferences = '{"escalation_window_minutes": 10, "quiet_hours": {"start": "22:00", "end": "07:00"}}' where id = tests.uid('hal');
update users set notification_preferences = '{"escalation_window_minutes": 120}', profile = '{"sleep_window": {"start": "22:00", "end": "07:00"}}' where id = tests.uid('ivy');
update users set notification_preferences = '{"escalation_window_minutes": 120, "quiet_hours": {"start": "22:00", "end": "22:00"}}',
                 profile = '{"sleep_window": {"start": "22:00", "end": "07:00"}}' where id = tests.uid('jo');
insert into push_subscriptions (user_id, endpoint, p256dh, auth)
select tests.uid(n), 'https://push.example.invalid/' || n, repeat('Q', 87), repeat('q', 22) from unnest(array['gus', 'hal', 'ivy', 'jo']) n;

create function pg_temp.tokyo(p_local text) returns timestamptz language sql immutable
as $$ select p_local::timestamp at time zone 'Asia/Tokyo' $$;
-- A task's sends at local Tokyo times.
create function pg_temp.sends_tokyo(p_task uuid) returns text language sql stable as $$
  select coalesce(string_agg(d.channel || ' ' || to_char(d.created_at at time zone 'Asia/Tokyo', 'HH24:MI'), ', ' order by d.id), '')
  from dispatch_log d where d.task_id = p_task $$;

update tasks set status = 'cancelled' where status = 'pending'; -- nothing older joins the claims below
select pg_temp.warp_to(pg_temp.tokyo('2027-03-10 12:00'));
insert into tasks (id, user_id, title, scheduled_at) values
  ('00000000-0000-4000-8000-0000000014d1', tests.uid('gus'), 'evening, rungs at night', pg_temp.tokyo('2027-03-10 21:30')),
  ('00000000-0000-4000-8000-0000000014d2', tests.uid('hal'), 'asked for 23:20', pg_temp.tokyo('2027-03-10 23:20')),
  ('00000000-0000-4000-8000-0000000014d3', tests.uid('ivy'), 'sleep window', pg_temp.tokyo('2027-03-10 21:30')),
  ('00000000-0000-4000-8000-0000000014d4', tests.uid('jo'), 'quiet hours off', pg_temp.tokyo('2027-03-10 21:30')),
  ('00000000-0000-4000-8000-0000000014d5', tests.uid('gus'), 'early morning', pg_temp.tokyo('2027-03-11 07:05'));
-- Walk the night, claiming at every rung.
select pg_temp.warp_to(pg_temp.tokyo('2027-03-10 21:20')); select pg_temp.claim();
select pg_temp.warp_to(pg_temp.tokyo('2027-03-10 23:10')); select pg_temp.claim();
select pg_temp.warp_to(pg_temp.tokyo('2027-03-10 23:30')); select pg_temp.claim();
select is(pg_temp.sends_tokyo('00000000-0000-4000-8000-0000000014d1'), 'push 21:20', 'quiet: the WhatsApp rung at 23:30 is held back (no outbox row)');
select is(pg_temp.ladder('00000000-0000-4000-8000-0000000014d1', pg_temp.tokyo('2027-03-10 21:30')), 'pending call 04:00:00',
  'quiet: the ladder keeps its timing: the call rung stays at T + 2 windows');
select is(pg_temp.sends_tokyo('00000000-0000-4000-8000-0000000014d2'), 'push 23:10, whatsapp 23:30',
  'quiet: the same rung at 23:30 is sent for a task due in the quiet hours (the person asked for that time)');
select pg_temp.warp_to(pg_temp.tokyo('2027-03-10 23:40')); select pg_temp.claim();
select pg_temp.warp_to(pg_temp.tokyo('2027-03-10 23:50')); select pg_temp.claim();
select pg_temp.warp_to(pg_temp.tokyo('2027-03-11 01:30')); select pg_temp.claim();
select pg_temp.warp_to(pg_temp.tokyo('2027-03-11 03:29')); select pg_temp.claim();
select is(pg_temp.ladder('00000000-0000-4000-8000-0000000014d1', pg_temp.tokyo('2027-03-10 21:30')), 'pending auto_miss 06:00:00',
  'quiet: the call rung passed too; the auto-miss is not brought forward');
select pg_temp.warp_to(pg_temp.tokyo('2027-03-11 03:30')); select pg_temp.claim();
select pg_temp.warp_to(pg_temp.tokyo('2027-03-11 06:55')); select pg_temp.claim();
select results_eq(
  $$ select title, status::text, pg_temp.sends_tokyo(id) from tasks where id::text like '%14d_' order by id $$,
  $$ values ('evening, rungs at night', 'missed', 'push 21:20, auto_miss 03:30'),
            ('asked for 23:20', 'missed', 'push 23:10, whatsapp 23:30, call 23:40, auto_miss 23:50'),
            ('sleep window', 'missed', 'push 21:20, auto_miss 03:30'),
            ('quiet hours off', 'missed', 'push 21:20, whatsapp 23:30, call 01:30, auto_miss 03:30'),
            ('early morning', 'pending', 'push 06:55') $$,
  'quiet: WhatsApp and call are held back in the quiet hours (by default the sleep window; start = end turns them off), pushes go out');
select is((select whatsapp_sent_at from tasks where id = '00000000-0000-4000-8000-0000000014d1'), null, 'quiet: no WhatsApp stamp for the held-back rung');

-- The functions the claim uses, at the edges.
select is(flux.in_quiet_hours(pg_temp.tokyo('2027-03-10 21:59'), 'Asia/Tokyo', '{"quiet_hours": {"start": "22:00", "end": "07:00"}}', '{}'), false, 'quiet edges: 21:59 is not quiet');
select is(flux.in_quiet_hours(pg_temp.tokyo('2027-03-10 22:00'), 'Asia/Tokyo', '{"quiet_hours": {"start": "22:00", "end": "07:00"}}', '{}'), true, 'quiet edges: 22:00 is');
select is(flux.in_quiet_hours(pg_temp.tokyo('2027-03-11 06:59'), 'Asia/Tokyo', '{"quiet_hours": {"start": "22:00", "end": "07:00"}}', '{}'), true, 'quiet edges: 06:59 is');
select is(flux.in_quiet_hours(pg_temp.tokyo('2027-03-11 07:00'), 'Asia/Tokyo', '{"quiet_hours": {"start": "22:00", "end": "07:00"}}', '{}'), false, 'quiet edges: 07:00 is not');
select is(flux.in_quiet_hours(pg_temp.tokyo('2027-03-11 13:30'), 'Asia/Tokyo', '{"quiet_hours": {"start": "13:00", "end": "14:00"}}', '{}'), true, 'quiet edges: a daytime window 13:00-14:00 holds 13:30');
select is(flux.in_quiet_hours(pg_temp.tokyo('2027-03-11 23:30'), 'Asia/Tokyo', '{"quiet_hours": {"start": "13:00", "end": "14:00"}}', '{}'), false, 'quiet edges: and not 23:30');
select is(flux.in_quiet_hours(pg_temp.tokyo('2027-03-11 23:30'), 'Asia/Tokyo', '{}', '{}'), false, 'quiet edges: no quiet hours and no sleep window: never quiet');

-- Across DST: Europe/Berlin leaves summer time at 03:00 on Sunday 2027-10-31 (back to 02:00) and
-- enters it at 02:00 on Sunday 2027-03-28 (on to 03:00). 06:30 and 07:10 local are read with the
-- offset of that moment.
create function pg_temp.berlin(p_local text) returns timestamptz language sql immutable
as $$ select p_local::timestamp at time zone 'Europe/Berlin' $$;
select is(pg_temp.berlin('2027-10-31 06:30'), '2027-10-31 05:30Z'::timestamptz, 'DST: 06:30 on 2027-10-31 in Berlin is 05:30Z (winter time)');
select is(flux.in_quiet_hours(pg_temp.berlin('2027-10-31 06:30'), 'Europe/Berlin', '{"quiet_hours": {"start": "22:00", "end": "07:00"}}', '{}'), true,
  'DST (October): 06:30 local after the change is quiet');
select is(flux.in_quiet_hours(pg_temp.berlin('2027-10-31 07:10'), 'Europe/Berlin', '{"quiet_hours": {"start": "22:00", "end": "07:00"}}', '{}'), false,
  'DST (October): 07:10 local is not');
select is(flux.in_quiet_hours(pg_temp.berlin('2027-03-28 06:30'), 'Europe/Berlin', '{"quiet_hours": {"start": "22:00", "end": "07:00"}}', '{}'), true,
  'DST (March): 06:30 local after the change is quiet');
select is(flux.in_quiet_hours(pg_temp.berlin('2027-03-28 07:10'), 'Europe/Berlin', '{"quiet_hours": {"start": "22:00", "end": "07:00"}}', '{}'), false,
  'DST (March): 07:10 local (05:10Z, which winter time would call 06:10) is not');

-- Through the claim: kai's task is due at 21:00 on Saturday 2027-10-30 (summer time) with a
-- 4-hour window; the claimer catches up at 06:30 local (05:30Z: at the summer offset that would
-- be 07:30 and not quiet) and again at 07:10.
select tests.create_user('kai', 'Europe/Berlin');
update users set phone_number = '+4915100001406' where id = tests.uid('kai');
update users set phone_verified = true, whatsapp_opt_in_at = now(),
                 notification_preferences = '{"escalation_window_minutes": 240, "quiet_hours": {"start": "22:00", "end": "07:00"}}'
where id = tests.uid('kai');
insert into push_subscriptions (user_id, endpoint, p256dh, auth)
values (tests.uid('kai'), 'https://push.example.invalid/kai', repeat('K', 87), repeat('k', 22));
update tasks set status = 'cancelled' where status = 'pending';
select pg_temp.warp_to(pg_temp.berlin('2027-10-30 12:00'));
insert into tasks (id, user_id, title, scheduled_at) values
  ('00000000-0000-4000-8000-0000000014e1', tests.uid('kai'), 'Saturday evening', pg_temp.berlin('2027-10-30 21:00'));
create function pg_temp.sends_berlin(p_task uuid) returns text language sql stable as $$
  select coalesce(string_agg(d.channel || ' ' || to_char(d.created_at at time zone 'Europe/Berlin', 'MM-DD HH24:MI'), ', ' order by d.id), '')
  from dispatch_log d where d.task_id = p_task $$;
select pg_temp.warp_to(pg_temp.berlin('2027-10-30 20:50'));
select is(pg_temp.claim(), 1, 'DST claim: the push at 20:50');
select pg_temp.warp_to(pg_temp.berlin('2027-10-31 06:30'));
select is(pg_temp.claim(), 1, 'DST claim: at 06:30 local the overdue WhatsApp and call rungs collapse into the call');
select is(pg_temp.sends_berlin('00000000-0000-4000-8000-0000000014e1'), 'push 10-30 20:50', 'DST claim: and it is held back (quiet at 06:30 winter time)');
-- A task that fell due while nobody claimed: caught up at 07:10, at its latest due rung.
insert into tasks (id, user_id, title, scheduled_at) values
  ('00000000-0000-4000-8000-0000000014e2', tests.uid('kai'), 'Saturday evening too', pg_temp.berlin('2027-10-30 21:00'));
select pg_temp.warp_to(pg_temp.berlin('2027-10-31 07:10'));
select is(pg_temp.claim(), 1, 'DST claim: at 07:10 local the late task is taken at its call rung');
select is(pg_temp.sends_berlin('00000000-0000-4000-8000-0000000014e2'), 'call 10-31 07:10', 'DST claim: and sent (07:10 is after the quiet hours)');
select is(pg_temp.ladder('00000000-0000-4000-8000-0000000014e1', pg_temp.berlin('2027-10-30 21:00')), 'pending auto_miss 12:00:00',
  'DST claim: the auto-miss keeps its time, 3 windows after the due time');

select * from finish();
rollback;
