-- users: owner reads and updates their profile; rows are provisioned and erased with the auth user.
begin;
set local search_path = extensions, public, tests;
select plan(12);
select tests.create_user('alice'), tests.create_user('bob');

-- select
select tests.authenticate_as('alice');
select results_eq($$ select id from users $$, $$ values (tests.uid('alice')) $$, 'select: alice sees exactly her own row');
select tests.authenticate_as('bob');
select is((select count(*)::int from users where id = tests.uid('alice')), 0, 'select: bob cannot see alice');
select tests.authenticate_as_anon();
select throws_ok($$ select * from users $$, '42501', 'permission denied for table users', 'select: anon is refused');

-- insert: nobody through the API
select tests.authenticate_as('alice');
select throws_ok($$ insert into users (id) values (tests.uid('alice')) $$, '42501', 'permission denied for table users', 'insert: alice cannot insert (provisioned by trigger)');
select tests.authenticate_as('bob');
select throws_ok($$ insert into users (id) values (gen_random_uuid()) $$, '42501', 'permission denied for table users', 'insert: bob cannot insert');
select tests.authenticate_as_anon();
select throws_ok($$ insert into users (id) values (gen_random_uuid()) $$, '42501', 'permission denied for table users', 'insert: anon is refused');

-- update
select tests.authenticate_as('alice');
select is(tests.rows_affected($$ update users set timezone = 'Europe/Paris', profile = '{"name":"Alice","chronotype":"morning"}' where id = tests.uid('alice') $$), 1, 'update: alice updates her timezone and profile');
select tests.authenticate_as('bob');
select is(tests.rows_affected($$ update users set timezone = 'Asia/Tokyo' where id = tests.uid('alice') $$), 0, 'update: bob cannot update alice');
select tests.authenticate_as_anon();
select throws_ok($$ update users set timezone = 'Asia/Tokyo' $$, '42501', 'permission denied for table users', 'update: anon is refused');
select tests.clear_authentication();
select is((select timezone || ' ' || (profile ->> 'name') from users where id = tests.uid('alice')), 'Europe/Paris Alice', 'update: only alice''s own change landed');

-- delete: erasure goes through the account deletion flow, which removes the auth user
select tests.authenticate_as('alice');
select throws_ok($$ delete from users where id = tests.uid('alice') $$, '42501', 'permission denied for table users', 'delete: alice cannot delete her row directly');
select tests.authenticate_as_anon();
select throws_ok($$ delete from users $$, '42501', 'permission denied for table users', 'delete: anon is refused');

select * from finish();
rollback;
