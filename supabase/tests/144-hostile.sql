-- What the hostile RPC suite found (supabase/hostile_rpc_test.go): a token that outlives its
-- account, a blank pattern description, a null opt-in.
begin;
set local search_path = extensions, public, tests;
select plan(5);

select tests.create_user('ida');
select tests.create_user('gone');
insert into patterns (id, user_id, pattern_type, description, data, confidence)
values ('00000000-0000-4000-8000-0000000000d1', tests.uid('ida'), 'time_avoidance', 'Skips Monday mornings', '{}', 0.5);
update flux.settings set rate_limits = true;

select tests.authenticate_as('gone');
set local role postgres;
delete from auth.users where id = tests.uid('gone');
set local role authenticated;
select throws_ok($$ select set_whatsapp_opt_in(false) $$, 'PT401', null,
  'a token whose account was deleted is not signed in (not a foreign-key error on the rate counter)');

select tests.authenticate_as('ida');
select throws_ok(format($$ select override_pattern('00000000-0000-4000-8000-0000000000d1', null, %L) $$, E'\n\t\u00a0'),
  '22023', null, 'a pattern description of white space is refused');
select is((select description from patterns where id = '00000000-0000-4000-8000-0000000000d1'), 'Skips Monday mornings',
  'and the description is kept');
select throws_ok($$ select set_whatsapp_opt_in(null) $$, '22023', null, 'a null opt-in is not an answer');
select lives_ok($$ select set_whatsapp_opt_in(false) $$, 'false still opts out');

select * from finish();
rollback;
