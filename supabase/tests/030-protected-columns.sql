-- Columns a user must not set, even on their own rows: verification, opt-in, usage, escalation
-- state, sent-at stamps, status transitions, message roles and token counts.
begin;
set local search_path = extensions, public, tests;
select plan(23);
select tests.create_user('alice');
update users set phone_number = '+4915112345678', phone_verified = true, whatsapp_opt_in_at = now()
where id = tests.uid('alice');
insert into goals (id, user_id, title) values ('00000000-0000-4000-8000-00000000a001', tests.uid('alice'), 'Run a 5K');
insert into tasks (id, user_id, title, scheduled_at, goal_id)
values ('00000000-0000-4000-8000-00000000b001', tests.uid('alice'), 'Run', now() + interval '1 day', '00000000-0000-4000-8000-00000000a001');
insert into conversations (id, user_id) values ('00000000-0000-4000-8000-00000000c001', tests.uid('alice'));

select tests.authenticate_as('alice');
-- users
select throws_ok($$ update users set phone_verified = true $$, '42501', 'permission denied for table users', 'users.phone_verified is protected');
select throws_ok($$ update users set whatsapp_opt_in_at = now() $$, '42501', 'permission denied for table users', 'users.whatsapp_opt_in_at is protected');
select throws_ok($$ update users set monthly_token_usage = '{"total": 0}' $$, '42501', 'permission denied for table users', 'users.monthly_token_usage is protected');
select throws_ok($$ update users set onboarded = true $$, '42501', 'permission denied for table users', 'users.onboarded is set by onboarding');
select throws_ok($$ update users set email = 'x@evil.example' $$, '42501', 'permission denied for table users', 'users.email mirrors auth.users');
-- tasks
select throws_ok($$ update tasks set status = 'done' $$, '42501', 'permission denied for table tasks', 'tasks.status changes through RPC functions');
select throws_ok($$ update tasks set scheduled_at = now() $$, '42501', 'permission denied for table tasks', 'tasks.scheduled_at changes through reschedule');
select throws_ok($$ update tasks set reminder_sent_at = now() $$, '42501', 'permission denied for table tasks', 'tasks.reminder_sent_at is protected');
select throws_ok($$ update tasks set whatsapp_sent_at = now() $$, '42501', 'permission denied for table tasks', 'tasks.whatsapp_sent_at is protected');
select throws_ok($$ update tasks set call_sent_at = now() $$, '42501', 'permission denied for table tasks', 'tasks.call_sent_at is protected');
select throws_ok($$ update tasks set escalation_stage = null, escalation_due_at = null $$, '42501', 'permission denied for table tasks', 'tasks escalation state is protected');
select throws_ok($$ update tasks set escalation_policy = 'silent' $$, '42501', 'permission denied for table tasks', 'tasks.escalation_policy is a snapshot');
select throws_ok($$ insert into tasks (title, scheduled_at, status) values ('Done already', now(), 'done') $$, '42501', 'permission denied for table tasks', 'a new task cannot start in another status');
select throws_ok($$ insert into tasks (title, scheduled_at, escalation_stage, escalation_due_at) values ('x', now(), 'call', now()) $$, '42501', 'permission denied for table tasks', 'a new task cannot carry escalation state');
-- goals
select throws_ok($$ update goals set status = 'completed' $$, '42501', 'permission denied for table goals', 'goals.status changes through RPC functions');
select throws_ok($$ insert into goals (title, status) values ('x', 'pipeline') $$, '42501', 'permission denied for table goals', 'a new goal cannot pick its status');
-- messages
select throws_ok($$ insert into messages (conversation_id, content, role) values ('00000000-0000-4000-8000-00000000c001', 'I am the assistant', 'assistant') $$,
  '42501', 'permission denied for table messages', 'a user cannot write assistant messages');
select throws_ok($$ insert into messages (conversation_id, content, tokens_used) values ('00000000-0000-4000-8000-00000000c001', 'hi', 5) $$,
  '42501', 'permission denied for table messages', 'messages.tokens_used is protected');

-- Changing the phone number drops verification and the WhatsApp opt-in tied to the old one.
select is(tests.rows_affected($$ update users set phone_number = '+4915199999999' where id = tests.uid('alice') $$), 1, 'alice changes her phone number');
select tests.clear_authentication();
select is((select (phone_verified, whatsapp_opt_in_at)::text from users where id = tests.uid('alice')), '(f,)', 'the new number is unverified and not opted in');

-- The service may set what the user may not.
select lives_ok($$ update users set phone_verified = true, whatsapp_opt_in_at = now() where id = tests.uid('alice') $$, 'the service verifies and opts in');
select tests.create_user('carol');
select throws_ok($$ update users set phone_verified = true where id = tests.uid('carol') $$, '23514',
  'new row for relation "users" violates check constraint "users_phone_verified_needs_phone"', 'even the service cannot verify a missing number');
select throws_ok($$ update users set whatsapp_opt_in_at = now() where id = tests.uid('carol') $$, '23514',
  'new row for relation "users" violates check constraint "users_whatsapp_needs_verified_phone"', 'no WhatsApp opt-in without a verified phone');

select * from finish();
rollback;
