-- Every rung's outcome reaches the service (a log line each): queued, skipped with why, passed in
-- a backlog, auto-missed.
begin;
set local search_path = extensions, public, tests;
select plan(7);
delete from auth.users; -- claims are global: no seeded task may join in (rolled back at the end)

-- kit has nothing but the app: no browser subscribed, no verified phone.
select tests.create_user('kit');
insert into tasks (id, user_id, title, scheduled_at)
values ('00000000-0000-4000-8000-000000001451', tests.uid('kit'), 'water the plants', now() + interval '1 hour');
-- ned has a browser and a verified phone, but gave no WhatsApp consent.
select tests.create_user('ned');
update users set phone_number = '+4915100001452' where id = tests.uid('ned');
update users set phone_verified = true where id = tests.uid('ned');
insert into push_subscriptions (user_id, endpoint, p256dh, auth)
values (tests.uid('ned'), 'https://push.example.invalid/ned', repeat('N', 87), repeat('n', 22));
insert into tasks (id, user_id, title, scheduled_at)
values ('00000000-0000-4000-8000-000000001452', tests.uid('ned'), 'stretch', now() + interval '1 hour');

create function pg_temp.claim() returns table (task text, from_stage text, stage text, outcome text, reason text)
language sql as $$
  select right(task_id::text, 4), from_stage, stage, outcome, reason from flux.claim_escalation_rungs(1000) order by 1 $$;

select flux.set_time_warp(interval '50 minutes'); -- the push rung: ten minutes before
select results_eq($$ select * from pg_temp.claim() $$,
  $$ values ('1451', 'push', 'push', 'skipped', 'no push subscription'),
            ('1452', 'push', 'push', 'queued', null) $$,
  'a push rung without a browser is skipped, with why; one with a browser is queued');
select flux.set_time_warp(interval '62 minutes');
select results_eq($$ select * from pg_temp.claim() $$,
  $$ values ('1451', 'whatsapp', 'whatsapp', 'skipped', 'phone not verified'),
            ('1452', 'whatsapp', 'whatsapp', 'skipped', 'not opted in to WhatsApp') $$,
  'a WhatsApp rung says whether the phone or the consent is missing');
select flux.set_time_warp(interval '64 minutes');
select results_eq($$ select * from pg_temp.claim() $$,
  $$ values ('1451', 'call', 'call', 'skipped', 'phone not verified'),
            ('1452', 'call', 'call', 'queued', null) $$,
  'a call needs a verified phone only');
select flux.set_time_warp(interval '66 minutes');
select results_eq($$ select * from pg_temp.claim() $$,
  $$ values ('1451', 'auto_miss', 'auto_miss', 'auto_missed', null),
            ('1452', 'auto_miss', 'auto_miss', 'auto_missed', null) $$,
  'the last rung is the auto-miss');
select is((select count(*)::int from tasks where status = 'missed'), 2, 'both tasks are missed');

-- A backlog: every rung of a new task fell due at once; the claim names the rung it started from.
insert into tasks (id, user_id, title, scheduled_at)
values ('00000000-0000-4000-8000-000000001453', tests.uid('ned'), 'long ago', flux.now() + interval '1 hour');
select flux.set_time_warp(interval '131 minutes'); -- T + 5: past the call, before the auto-miss
select results_eq($$ select * from pg_temp.claim() $$,
  $$ values ('1453', 'push', 'call', 'queued', null) $$,
  'a backlog goes from the push to the call in one step, and says so');
select is(flux.claim_escalations(1000), 0, 'claim_escalations counts what the rungs function takes');

select * from finish();
rollback;
