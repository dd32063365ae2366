-- patterns: the observer writes them; the owner reads, overrides and deletes them.
begin;
set local search_path = extensions, public, tests;
select plan(14);
select tests.create_user('alice'), tests.create_user('bob');
insert into patterns (id, user_id, pattern_type, description, data, confidence)
values ('00000000-0000-4000-8000-00000000e001', tests.uid('alice'), 'time_avoidance', 'Misses Monday 07:00 runs',
        '{"day":"MO","time_range":["06:30","07:30"]}', 0.8),
       ('00000000-0000-4000-8000-00000000e002', tests.uid('alice'), 'completion_streak', 'Strong on weekends', '{}', 0.6);

-- select
select tests.authenticate_as('alice');
select is((select count(*)::int from patterns), 2, 'select: alice sees her patterns');
select tests.authenticate_as('bob');
select is((select count(*)::int from patterns), 0, 'select: bob sees none of alice''s patterns');
select tests.authenticate_as_anon();
select throws_ok($$ select * from patterns $$, '42501', 'permission denied for table patterns', 'select: anon is refused');

-- insert: patterns come from the observer, not the client
select tests.authenticate_as('alice');
select throws_ok($$ insert into patterns (pattern_type, description, confidence) values ('time_avoidance', 'x', 0.5) $$,
  '42501', 'permission denied for table patterns', 'insert: alice cannot invent patterns');
select tests.authenticate_as('bob');
select throws_ok($$ insert into patterns (pattern_type, description, confidence) values ('time_avoidance', 'x', 0.5) $$,
  '42501', 'permission denied for table patterns', 'insert: bob is refused');
select tests.authenticate_as_anon();
select throws_ok($$ insert into patterns (pattern_type, description, confidence) values ('time_avoidance', 'x', 0.5) $$,
  '42501', 'permission denied for table patterns', 'insert: anon is refused');

-- update (override)
select tests.authenticate_as('alice');
select is(tests.rows_affected($$ update patterns set confidence = 0.3, description = 'Mondays are fine now' where id = '00000000-0000-4000-8000-00000000e001' $$), 1, 'update: alice overrides her pattern');
select tests.authenticate_as('bob');
select is(tests.rows_affected($$ update patterns set confidence = 1 where id = '00000000-0000-4000-8000-00000000e001' $$), 0, 'update: bob cannot override alice''s pattern');
select tests.authenticate_as_anon();
select throws_ok($$ update patterns set confidence = 1 $$, '42501', 'permission denied for table patterns', 'update: anon is refused');
select tests.clear_authentication();
select is((select (confidence, data ->> 'user_overridden', data ->> 'day')::text from patterns where id = '00000000-0000-4000-8000-00000000e001'),
  '(0.300,true,MO)', 'update: the override is kept and marked user_overridden, data preserved');

-- delete
select tests.authenticate_as('bob');
select is(tests.rows_affected($$ delete from patterns where id = '00000000-0000-4000-8000-00000000e002' $$), 0, 'delete: bob cannot delete alice''s pattern');
select tests.authenticate_as_anon();
select throws_ok($$ delete from patterns $$, '42501', 'permission denied for table patterns', 'delete: anon is refused');
select tests.authenticate_as('alice');
select is(tests.rows_affected($$ delete from patterns where id = '00000000-0000-4000-8000-00000000e002' $$), 1, 'delete: alice deletes her pattern');
select tests.clear_authentication();
select is((select count(*)::int from patterns where user_id = tests.uid('alice')), 1, 'one pattern left');

select * from finish();
rollback;
