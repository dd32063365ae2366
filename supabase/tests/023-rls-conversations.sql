-- conversations: owner reads, starts and deletes them; their state is the agents' to change.
begin;
set local search_path = extensions, public, tests;
select plan(13);
select tests.create_user('alice'), tests.create_user('bob');
insert into conversations (id, user_id) values ('00000000-0000-4000-8000-00000000c001', tests.uid('alice'));
insert into messages (conversation_id, user_id, content)
values ('00000000-0000-4000-8000-00000000c001', tests.uid('alice'), 'I want to run a 5K');

-- select
select tests.authenticate_as('alice');
select is((select count(*)::int from conversations), 1, 'select: alice sees her conversation');
select tests.authenticate_as('bob');
select is((select count(*)::int from conversations), 0, 'select: bob sees none of alice''s conversations');
select tests.authenticate_as_anon();
select throws_ok($$ select * from conversations $$, '42501', 'permission denied for table conversations', 'select: anon is refused');

-- insert
select tests.authenticate_as('alice');
select lives_ok($$ insert into conversations (context_type) values ('goal') $$, 'insert: alice starts a conversation');
select tests.authenticate_as('bob');
select throws_ok($$ insert into conversations (user_id) values (tests.uid('alice')) $$, '42501',
  'new row violates row-level security policy for table "conversations"', 'insert: bob cannot start one for alice');
select tests.authenticate_as_anon();
select throws_ok($$ insert into conversations default values $$, '42501', 'permission denied for table conversations', 'insert: anon is refused');

-- update: context and timestamps belong to the agents
select tests.authenticate_as('alice');
select throws_ok($$ update conversations set context_type = 'task' $$, '42501', 'permission denied for table conversations', 'update: alice cannot change agent state');
select tests.authenticate_as('bob');
select throws_ok($$ update conversations set context_type = 'task' $$, '42501', 'permission denied for table conversations', 'update: bob is refused');
select tests.authenticate_as_anon();
select throws_ok($$ update conversations set context_type = 'task' $$, '42501', 'permission denied for table conversations', 'update: anon is refused');

-- delete
select tests.authenticate_as('bob');
select is(tests.rows_affected($$ delete from conversations where id = '00000000-0000-4000-8000-00000000c001' $$), 0, 'delete: bob cannot delete alice''s conversation');
select tests.authenticate_as_anon();
select throws_ok($$ delete from conversations $$, '42501', 'permission denied for table conversations', 'delete: anon is refused');
select tests.authenticate_as('alice');
select is(tests.rows_affected($$ delete from conversations where id = '00000000-0000-4000-8000-00000000c001' $$), 1, 'delete: alice deletes her conversation');
select tests.clear_authentication();
select is((select count(*)::int from messages where conversation_id = '00000000-0000-4000-8000-00000000c001'), 0, 'its messages went with it');

select * from finish();
rollback;
