-- public.users appears with the auth user; lifecycle stamps and the active-goal cap hold.
begin;
set local search_path = extensions, public, tests;
select plan(20);

-- Provisioning
select tests.create_user('dana', 'Asia/Kolkata');
select is((select (email, timezone, onboarded, phone_verified)::text from users where id = tests.uid('dana')),
  '(dana@test.flux.local,Asia/Kolkata,f,f)', 'a new auth user gets a users row with email and sign-up timezone');
select is((select notification_preferences from users where id = tests.uid('dana')),
  '{"reminder_lead_minutes": 10, "escalation_window_minutes": 2, "escalation_policy": "full"}'::jsonb,
  'with the default notification preferences');
select tests.create_user('eve', 'Not/AZone');
select is((select timezone from users where id = tests.uid('eve')), 'UTC', 'an invalid sign-up timezone falls back to UTC');
insert into auth.users (id, email) values ('00000000-0000-4000-8000-0000000000f1', 'bare@test.flux.local');
select is((select timezone from users where id = '00000000-0000-4000-8000-0000000000f1'), 'UTC', 'no metadata at all: UTC');
update auth.users set email = 'dana@new.flux.local' where id = tests.uid('dana');
select is((select email from users where id = tests.uid('dana')), 'dana@new.flux.local', 'an email change in auth follows into users');

-- Task completion stamps
insert into tasks (id, user_id, title, scheduled_at)
values ('00000000-0000-4000-8000-00000000b001', tests.uid('dana'), 'Meditate', now());
update tasks set status = 'done' where id = '00000000-0000-4000-8000-00000000b001';
select isnt((select completed_at from tasks where id = '00000000-0000-4000-8000-00000000b001'), null, 'a done task is stamped completed_at');
update tasks set status = 'pending' where id = '00000000-0000-4000-8000-00000000b001';
select is((select completed_at from tasks where id = '00000000-0000-4000-8000-00000000b001'), null, 'reopening it clears completed_at');
select throws_ok($$ update tasks set completed_at = now() where id = '00000000-0000-4000-8000-00000000b001' $$, '23514',
  'new row for relation "tasks" violates check constraint "tasks_completed_at_check"', 'only done tasks have completed_at');

-- A conversation's last_message_at follows its messages
insert into conversations (id, user_id) values ('00000000-0000-4000-8000-00000000c001', tests.uid('dana'));
insert into messages (conversation_id, user_id, content, created_at)
values ('00000000-0000-4000-8000-00000000c001', tests.uid('dana'), 'hello', '2026-01-02 10:00Z');
select is((select last_message_at from conversations where id = '00000000-0000-4000-8000-00000000c001'), '2026-01-02 10:00Z'::timestamptz,
  'a message moves the conversation''s last_message_at');

-- Goals: at most 3 active root goals per user; micro-goals of an umbrella do not count
select tests.authenticate_as('dana');
select lives_ok($$ insert into goals (title) values ('Run a marathon'), ('Learn Spanish'), ('Save 5000 EUR') $$,
  'three active goals are fine');
select throws_ok($$ insert into goals (title) values ('Write a novel') $$, '23514', 'a user can have at most 3 active goals',
  'a fourth active goal is refused with a clear error');
select tests.clear_authentication();
create temporary table g as select title, id from goals where user_id = tests.uid('dana');
select lives_ok($$ insert into goals (user_id, title, parent_goal_id, pipeline_order, status) values
  (tests.uid('dana'), 'Run 10K', (select id from g where title = 'Run a marathon'), 1, 'active'),
  (tests.uid('dana'), 'Run 21K', (select id from g where title = 'Run a marathon'), 2, 'pipeline') $$,
  'an umbrella''s micro-goals do not count against the cap');
select throws_ok($$ insert into goals (user_id, title, parent_goal_id, pipeline_order, status) values
  (tests.uid('dana'), 'Run 42K', (select id from g where title = 'Run a marathon'), 2, 'pipeline') $$, '23505', null,
  'two micro-goals cannot share a pipeline position');
select throws_ok($$ update goals set status = 'active' where title = 'Run 21K' $$, '23505',
  'duplicate key value violates unique constraint "goals_one_active_micro_goal"', 'only one micro-goal of an umbrella is active at a time');
select throws_ok($$ insert into goals (user_id, title, status) values (tests.uid('dana'), 'Orphan', 'pipeline') $$, '23514',
  'new row for relation "goals" violates check constraint "goals_pipeline_has_parent"', 'a pipeline goal needs an umbrella');
select isnt((select activated_at from goals where id = (select id from g where title = 'Run a marathon')), null, 'an active goal is stamped activated_at');
update goals set status = 'completed' where id = (select id from g where title = 'Save 5000 EUR');
select isnt((select completed_at from goals where id = (select id from g where title = 'Save 5000 EUR')), null, 'a completed goal is stamped completed_at');
select lives_ok($$ insert into goals (user_id, title) values (tests.uid('dana'), 'Write a novel') $$, 'completing one frees a slot');
select throws_ok($$ update goals set status = 'active' where id = (select id from g where title = 'Save 5000 EUR') $$, '23514',
  'a user can have at most 3 active goals', 'reactivating beyond the cap is refused too');
select is((select status from goals where id = (select id from g where title = 'Save 5000 EUR')), 'completed',
  'the refused reactivation changed nothing');

select * from finish();
rollback;
