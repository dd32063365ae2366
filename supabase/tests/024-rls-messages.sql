-- messages: owner reads and sends role='user' messages to their own conversations; history is
-- append-only.
begin;
set local search_path = extensions, public, tests;
select plan(15);
select tests.create_user('alice'), tests.create_user('bob');
insert into conversations (id, user_id) values
  ('00000000-0000-4000-8000-00000000c001', tests.uid('alice')),
  ('00000000-0000-4000-8000-00000000c002', tests.uid('bob'));
insert into messages (id, conversation_id, user_id, role, content) values
  ('00000000-0000-4000-8000-00000000d001', '00000000-0000-4000-8000-00000000c001', tests.uid('alice'), 'user', 'Remind me to call mom at 5pm'),
  ('00000000-0000-4000-8000-00000000d002', '00000000-0000-4000-8000-00000000c001', tests.uid('alice'), 'assistant', 'Done: today at 17:00.');

-- select
select tests.authenticate_as('alice');
select is((select count(*)::int from messages), 2, 'select: alice reads her history');
select tests.authenticate_as('bob');
select is((select count(*)::int from messages), 0, 'select: bob reads none of alice''s messages');
select tests.authenticate_as_anon();
select throws_ok($$ select * from messages $$, '42501', 'permission denied for table messages', 'select: anon is refused');

-- insert: chat is inserting a row
select tests.authenticate_as('alice');
select lives_ok($$ insert into messages (conversation_id, content) values ('00000000-0000-4000-8000-00000000c001', 'Make it 6pm') $$,
  'insert: alice sends a message');
select tests.clear_authentication();
select is((select role from messages where content = 'Make it 6pm'), 'user', 'insert: it is stored as role user');
select tests.authenticate_as('bob');
select throws_ok($$ insert into messages (conversation_id, user_id, content) values ('00000000-0000-4000-8000-00000000c001', tests.uid('alice'), 'Planted') $$,
  '42501', 'new row violates row-level security policy for table "messages"', 'insert: bob cannot write as alice');
select throws_ok($$ insert into messages (conversation_id, content) values ('00000000-0000-4000-8000-00000000c001', 'Into her thread') $$,
  '23503', null, 'insert: bob cannot post into alice''s conversation');
select tests.authenticate_as_anon();
select throws_ok($$ insert into messages (conversation_id, content) values ('00000000-0000-4000-8000-00000000c001', 'x') $$,
  '42501', 'permission denied for table messages', 'insert: anon is refused');

-- update and delete: nobody rewrites history through the API
select tests.authenticate_as('alice');
select throws_ok($$ update messages set content = 'edited' $$, '42501', 'permission denied for table messages', 'update: alice cannot rewrite history');
select tests.authenticate_as('bob');
select throws_ok($$ update messages set content = 'edited' $$, '42501', 'permission denied for table messages', 'update: bob is refused');
select tests.authenticate_as_anon();
select throws_ok($$ update messages set content = 'edited' $$, '42501', 'permission denied for table messages', 'update: anon is refused');
select tests.authenticate_as('alice');
select throws_ok($$ delete from messages $$, '42501', 'permission denied for table messages', 'delete: alice cannot delete single messages');
select tests.authenticate_as('bob');
select throws_ok($$ delete from messages $$, '42501', 'permission denied for table messages', 'delete: bob is refused');
select tests.authenticate_as_anon();
select throws_ok($$ delete from messages $$, '42501', 'permission denied for table messages', 'delete: anon is refused');

select tests.clear_authentication();
select results_eq($$ select content from messages where conversation_id = '00000000-0000-4000-8000-00000000c001' order by created_at, content $$,
  $$ values ('Done: today at 17:00.'), ('Make it 6pm'), ('Remind me to call mom at 5pm') $$, 'alice''s thread holds exactly her messages and the reply');

select * from finish();
rollback;
