-- notification_log, dispatch_log, push_subscriptions: written by the service. The owner reads
-- them (and may remove a push subscription); nobody else sees them.
begin;
set local search_path = extensions, public, tests;
select plan(29);
select tests.create_user('alice'), tests.create_user('bob');
insert into tasks (id, user_id, title, scheduled_at)
values ('00000000-0000-4000-8000-00000000b001', tests.uid('alice'), 'Call mom', now() - interval '1 hour');
insert into notification_log (user_id, task_id, channel, external_id)
values (tests.uid('alice'), '00000000-0000-4000-8000-00000000b001', 'whatsapp', 'SM0123456789abcdef0123456789abcdef');
insert into dispatch_log (user_id, task_id, channel, status, dispatched_at)
values (tests.uid('alice'), '00000000-0000-4000-8000-00000000b001', 'whatsapp', 'dispatched', now());
insert into push_subscriptions (id, user_id, endpoint, p256dh, auth)
values ('00000000-0000-4000-8000-00000000f001', tests.uid('alice'), 'https://push.example.invalid/alice',
        repeat('B', 87), repeat('a', 22));

-- notification_log
select tests.authenticate_as('alice');
select is((select count(*)::int from notification_log), 1, 'notification_log select: alice reads her history');
select tests.authenticate_as('bob');
select is((select count(*)::int from notification_log), 0, 'notification_log select: bob sees nothing of alice''s');
select tests.authenticate_as_anon();
select throws_ok($$ select * from notification_log $$, '42501', 'permission denied for table notification_log', 'notification_log select: anon is refused');
select tests.authenticate_as('alice');
select throws_ok($$ insert into notification_log (user_id, task_id, channel) values (tests.uid('alice'), '00000000-0000-4000-8000-00000000b001', 'push') $$,
  '42501', 'permission denied for table notification_log', 'notification_log insert: alice cannot forge history');
select throws_ok($$ update notification_log set response = 'done' $$, '42501', 'permission denied for table notification_log', 'notification_log update: alice cannot answer by editing the log');
select throws_ok($$ delete from notification_log $$, '42501', 'permission denied for table notification_log', 'notification_log delete: alice is refused');
select tests.authenticate_as('bob');
select throws_ok($$ insert into notification_log (user_id, task_id, channel) values (tests.uid('bob'), '00000000-0000-4000-8000-00000000b001', 'push') $$,
  '42501', 'permission denied for table notification_log', 'notification_log insert: bob is refused');
select throws_ok($$ update notification_log set response = 'done' $$, '42501', 'permission denied for table notification_log', 'notification_log update: bob is refused');
select throws_ok($$ delete from notification_log $$, '42501', 'permission denied for table notification_log', 'notification_log delete: bob is refused');
select tests.authenticate_as_anon();
select throws_ok($$ delete from notification_log $$, '42501', 'permission denied for table notification_log', 'notification_log delete: anon is refused');

-- dispatch_log
select tests.authenticate_as('alice');
select is((select count(*)::int from dispatch_log), 1, 'dispatch_log select: alice reads her dispatches');
select tests.authenticate_as('bob');
select is((select count(*)::int from dispatch_log), 0, 'dispatch_log select: bob sees nothing of alice''s');
select tests.authenticate_as_anon();
select throws_ok($$ select * from dispatch_log $$, '42501', 'permission denied for table dispatch_log', 'dispatch_log select: anon is refused');
select tests.authenticate_as('alice');
select throws_ok($$ insert into dispatch_log (user_id, task_id, channel) values (tests.uid('alice'), '00000000-0000-4000-8000-00000000b001', 'call') $$,
  '42501', 'permission denied for table dispatch_log', 'dispatch_log insert: alice cannot enqueue sends');
select throws_ok($$ update dispatch_log set status = 'pending' $$, '42501', 'permission denied for table dispatch_log', 'dispatch_log update: alice is refused');
select throws_ok($$ delete from dispatch_log $$, '42501', 'permission denied for table dispatch_log', 'dispatch_log delete: alice is refused');
select tests.authenticate_as('bob');
select throws_ok($$ insert into dispatch_log (user_id, task_id, channel) values (tests.uid('bob'), '00000000-0000-4000-8000-00000000b001', 'call') $$,
  '42501', 'permission denied for table dispatch_log', 'dispatch_log insert: bob is refused');
select throws_ok($$ update dispatch_log set status = 'pending' $$, '42501', 'permission denied for table dispatch_log', 'dispatch_log update: bob is refused');
select throws_ok($$ delete from dispatch_log $$, '42501', 'permission denied for table dispatch_log', 'dispatch_log delete: bob is refused');
select tests.authenticate_as_anon();
select throws_ok($$ insert into dispatch_log (user_id, task_id, channel) values (gen_random_uuid(), gen_random_uuid(), 'call') $$,
  '42501', 'permission denied for table dispatch_log', 'dispatch_log insert: anon is refused');

-- push_subscriptions
select tests.authenticate_as('alice');
select is((select count(*)::int from push_subscriptions), 1, 'push_subscriptions select: alice sees her browser');
select tests.authenticate_as('bob');
select is((select count(*)::int from push_subscriptions), 0, 'push_subscriptions select: bob sees nothing of alice''s');
select tests.authenticate_as_anon();
select throws_ok($$ select * from push_subscriptions $$, '42501', 'permission denied for table push_subscriptions', 'push_subscriptions select: anon is refused');
select tests.authenticate_as('alice');
select throws_ok($$ insert into push_subscriptions (user_id, endpoint, p256dh, auth) values (tests.uid('alice'), 'https://push.example.invalid/x', repeat('B', 87), repeat('a', 22)) $$,
  '42501', 'permission denied for table push_subscriptions', 'push_subscriptions insert: through the service only');
select throws_ok($$ update push_subscriptions set endpoint = 'https://evil.example.invalid/' $$, '42501', 'permission denied for table push_subscriptions', 'push_subscriptions update: alice is refused');
select tests.authenticate_as('bob');
select is(tests.rows_affected($$ delete from push_subscriptions where id = '00000000-0000-4000-8000-00000000f001' $$), 0, 'push_subscriptions delete: bob cannot unsubscribe alice');
select throws_ok($$ insert into push_subscriptions (user_id, endpoint, p256dh, auth) values (tests.uid('alice'), 'https://push.example.invalid/y', repeat('B', 87), repeat('a', 22)) $$,
  '42501', 'permission denied for table push_subscriptions', 'push_subscriptions insert: bob is refused');
select tests.authenticate_as_anon();
select throws_ok($$ delete from push_subscriptions $$, '42501', 'permission denied for table push_subscriptions', 'push_subscriptions delete: anon is refused');
select tests.authenticate_as('alice');
select is(tests.rows_affected($$ delete from push_subscriptions where id = '00000000-0000-4000-8000-00000000f001' $$), 1, 'push_subscriptions delete: alice unsubscribes her browser');

select * from finish();
rollback;
