-- goals: owner reads, creates and renames; status changes go through RPC functions.
begin;
set local search_path = extensions, public, tests;
select plan(13);
select tests.create_user('alice'), tests.create_user('bob');
insert into goals (id, user_id, title, class_tags)
values ('00000000-0000-4000-8000-00000000a001', tests.uid('alice'), 'Run a 5K', '{Fitness}');

-- select
select tests.authenticate_as('alice');
select results_eq($$ select title from goals $$, $$ values ('Run a 5K') $$, 'select: alice sees her goal');
select tests.authenticate_as('bob');
select is((select count(*)::int from goals), 0, 'select: bob sees none of alice''s goals');
select tests.authenticate_as_anon();
select throws_ok($$ select * from goals $$, '42501', 'permission denied for table goals', 'select: anon is refused');

-- insert
select tests.authenticate_as('alice');
select lives_ok($$ insert into goals (title, class_tags) values ('Read 12 books', '{Learning}') $$, 'insert: alice creates a goal');
select tests.authenticate_as('bob');
select throws_ok($$ insert into goals (user_id, title) values (tests.uid('alice'), 'Planted') $$, '42501',
  'new row violates row-level security policy for table "goals"', 'insert: bob cannot create a goal for alice');
select tests.authenticate_as_anon();
select throws_ok($$ insert into goals (title) values ('x') $$, '42501', 'permission denied for table goals', 'insert: anon is refused');

-- update
select tests.authenticate_as('alice');
select is(tests.rows_affected($$ update goals set title = 'Run a 5K in May' where id = '00000000-0000-4000-8000-00000000a001' $$), 1, 'update: alice renames her goal');
select tests.authenticate_as('bob');
select is(tests.rows_affected($$ update goals set title = 'Hijacked' where id = '00000000-0000-4000-8000-00000000a001' $$), 0, 'update: bob cannot rename alice''s goal');
select tests.authenticate_as_anon();
select throws_ok($$ update goals set title = 'x' $$, '42501', 'permission denied for table goals', 'update: anon is refused');

-- delete: goals are abandoned or completed, never deleted through the API
select tests.authenticate_as('alice');
select throws_ok($$ delete from goals $$, '42501', 'permission denied for table goals', 'delete: alice cannot delete (abandon instead)');
select tests.authenticate_as('bob');
select throws_ok($$ delete from goals $$, '42501', 'permission denied for table goals', 'delete: bob is refused');
select tests.authenticate_as_anon();
select throws_ok($$ delete from goals $$, '42501', 'permission denied for table goals', 'delete: anon is refused');

select tests.clear_authentication();
select results_eq($$ select title from goals where user_id = tests.uid('alice') order by title $$,
  $$ values ('Read 12 books'), ('Run a 5K in May') $$, 'alice''s goals hold exactly her own changes');

select * from finish();
rollback;
