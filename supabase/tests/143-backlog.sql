-- A backlog never sends a rung that a later one already superseded: a task whose every rung fell
-- due while nobody claimed is missed at once, with nothing sent for it.
begin;
set local search_path = extensions, public, tests;
select plan(4);
delete from auth.users; -- claims are global: no seeded task may join in (rolled back at the end)

select tests.create_user('lou');
update users set phone_number = '+4915100001431' where id = tests.uid('lou');
update users set phone_verified = true, whatsapp_opt_in_at = now() where id = tests.uid('lou');
insert into push_subscriptions (user_id, endpoint, p256dh, auth)
values (tests.uid('lou'), 'https://push.example.invalid/lou', repeat('L', 87), repeat('l', 22));
insert into tasks (id, user_id, title, scheduled_at)
values ('00000000-0000-4000-8000-000000001431', tests.uid('lou'), 'long ago', now() + interval '1 hour');

select flux.set_time_warp(interval '3 hours');
select is(flux.claim_escalations(1000), 1, 'one claim takes the task straight to its last due rung');
select is((select status::text from tasks where id = '00000000-0000-4000-8000-000000001431'), 'missed', 'it is missed');
select is((select count(*)::int from dispatch_log where task_id = '00000000-0000-4000-8000-000000001431' and channel <> 'auto_miss'), 0,
  'no push, WhatsApp or call was written for the rungs it passed');
select is((select count(*)::int from flux.claim_outbox(100, interval '30 seconds', 'backlog')), 0, 'and nothing is there to send');

select * from finish();
rollback;
