-- tasks: owner reads, creates, edits text and deletes; status and schedule go through RPCs.
begin;
set local search_path = extensions, public, tests;
select plan(14);
select tests.create_user('alice'), tests.create_user('bob');
insert into tasks (id, user_id, title, scheduled_at)
values ('00000000-0000-4000-8000-00000000b001', tests.uid('alice'), 'Call mom', now() + interval '2 hours'),
       ('00000000-0000-4000-8000-00000000b002', tests.uid('alice'), 'Stretch', now() + interval '3 hours');

-- select
select tests.authenticate_as('alice');
select is((select count(*)::int from tasks), 2, 'select: alice sees her tasks');
select tests.authenticate_as('bob');
select is((select count(*)::int from tasks), 0, 'select: bob sees none of alice''s tasks');
select tests.authenticate_as_anon();
select throws_ok($$ select * from tasks $$, '42501', 'permission denied for table tasks', 'select: anon is refused');

-- insert
select tests.authenticate_as('alice');
select lives_ok($$ insert into tasks (title, scheduled_at) values ('Water plants', now() + interval '1 day') $$, 'insert: alice creates a task');
select tests.authenticate_as('bob');
select throws_ok($$ insert into tasks (user_id, title, scheduled_at) values (tests.uid('alice'), 'Planted', now()) $$, '42501',
  'new row violates row-level security policy for table "tasks"', 'insert: bob cannot create a task for alice');
select tests.authenticate_as_anon();
select throws_ok($$ insert into tasks (title, scheduled_at) values ('x', now()) $$, '42501', 'permission denied for table tasks', 'insert: anon is refused');

-- update
select tests.authenticate_as('alice');
select is(tests.rows_affected($$ update tasks set title = 'Call mom about Sunday' where id = '00000000-0000-4000-8000-00000000b001' $$), 1, 'update: alice edits her task');
select tests.authenticate_as('bob');
select is(tests.rows_affected($$ update tasks set title = 'Hijacked' where id = '00000000-0000-4000-8000-00000000b001' $$), 0, 'update: bob cannot edit alice''s task');
select tests.authenticate_as_anon();
select throws_ok($$ update tasks set title = 'x' $$, '42501', 'permission denied for table tasks', 'update: anon is refused');

-- delete
select tests.authenticate_as('bob');
select is(tests.rows_affected($$ delete from tasks where id = '00000000-0000-4000-8000-00000000b002' $$), 0, 'delete: bob cannot delete alice''s task');
select tests.authenticate_as_anon();
select throws_ok($$ delete from tasks $$, '42501', 'permission denied for table tasks', 'delete: anon is refused');
select tests.authenticate_as('alice');
select is(tests.rows_affected($$ delete from tasks where id = '00000000-0000-4000-8000-00000000b002' $$), 1, 'delete: alice deletes her task');

select tests.clear_authentication();
select results_eq($$ select title from tasks where user_id = tests.uid('alice') order by title $$,
  $$ values ('Call mom about Sunday'), ('Water plants') $$, 'alice''s tasks hold exactly her own changes');
select is((select count(*)::int from tasks where user_id = tests.uid('bob')), 0, 'nothing was created for bob');

select * from finish();
rollback;
