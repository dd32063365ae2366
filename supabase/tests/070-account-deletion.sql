-- Deleting an auth user leaves zero rows of theirs in any table. The tables are found from the
-- catalog (tests.user_tables), so a table added later is covered without editing this file.
-- Runs on the seed, which gives both demo users rows in every user table.
begin;
set local search_path = extensions, public, tests;
select plan(5);

create temporary table alex as select '11111111-1111-4111-8111-111111111111'::uuid as id;
create temporary table sam as select '22222222-2222-4222-8222-222222222222'::uuid as id;

select is(
  (select array_agg(format('%s.%s', schema_name, table_name) order by 1) from tests.user_tables()
   where tests.count_rows_of(schema_name, table_name, owner_column, (select id from alex)) = 0),
  null,
  'before: the demo user has rows in every user table');

select cmp_ok((select count(*)::int from tests.user_tables()), '>=', 11,
  'the discovery covers public and the private rollups');

delete from auth.users where id = (select id from alex);

select is(
  (select array_agg(format('%s.%s: %s', schema_name, table_name,
                           tests.count_rows_of(schema_name, table_name, owner_column, (select id from alex)))) from tests.user_tables()
   where tests.count_rows_of(schema_name, table_name, owner_column, (select id from alex)) > 0),
  null,
  'after: zero rows of theirs in any table');

select is(
  (select array_agg(format('%s.%s', schema_name, table_name) order by 1) from tests.user_tables()
   where tests.count_rows_of(schema_name, table_name, owner_column, (select id from sam)) = 0),
  null,
  'the other user keeps every row');

-- Idempotent: erasing someone already gone changes nothing and raises nothing.
select is(tests.rows_affected($$ delete from auth.users where id = '11111111-1111-4111-8111-111111111111' $$), 0,
  'deleting again is a no-op');

select * from finish();
rollback;
