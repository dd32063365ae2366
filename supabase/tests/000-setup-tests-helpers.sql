-- Test helpers, installed before the other files run (pg_prove takes files in name order, as does
-- `supabase test db`). Unlike the other files this one commits: it creates the pgTAP extension and
-- a `tests` schema the suite shares.
begin;
create extension if not exists pgtap with schema extensions;
create schema if not exists tests;
grant usage on schema tests to anon, authenticated;
set local search_path = extensions, public, tests;

select plan(1);

-- Users created by a test, by name, for the length of its transaction.
create table if not exists tests.named_users (name text primary key, id uuid not null);
grant select on tests.named_users to anon, authenticated;

-- An auth user (and through the provisioning trigger a public.users row). Email <name>@test.flux.local.
create or replace function tests.create_user(p_name text, p_timezone text default 'UTC') returns uuid
language plpgsql
as $$
declare
  v_id uuid := gen_random_uuid();
begin
  insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
  values ('00000000-0000-0000-0000-000000000000', v_id, 'authenticated', 'authenticated',
          p_name || '@test.flux.local', '{"provider":"email"}', jsonb_build_object('timezone', p_timezone), now(), now());
  insert into tests.named_users (name, id) values (p_name, v_id);
  return v_id;
end
$$;

create or replace function tests.uid(p_name text) returns uuid
language sql stable
as $$ select id from tests.named_users where name = p_name $$;

-- Act as a signed-in user exactly as PostgREST does: role and JWT claims, local to the transaction.
create or replace function tests.authenticate_as(p_name text) returns void
language plpgsql
as $$
declare
  v_id uuid := tests.uid(p_name);
begin
  if v_id is null then
    raise exception 'tests.authenticate_as: no test user named %', p_name;
  end if;
  perform set_config('role', 'authenticated', true);
  perform set_config('request.jwt.claims',
    jsonb_build_object('sub', v_id, 'role', 'authenticated', 'aud', 'authenticated')::text, true);
end
$$;

-- Act as a visitor without a session (the anon key).
create or replace function tests.authenticate_as_anon() returns void
language sql
as $$
  select set_config('role', 'anon', true), set_config('request.jwt.claims', '{"role":"anon"}', true);
$$;

-- Back to the session user (the service's own privileged connection).
create or replace function tests.clear_authentication() returns void
language sql
as $$
  select set_config('role', 'none', true), set_config('request.jwt.claims', '', true);
$$;

-- Rows touched by a statement, run as the current role (RLS hides rows silently on UPDATE/DELETE).
create or replace function tests.rows_affected(p_sql text) returns integer
language plpgsql
as $$
declare
  n integer;
begin
  execute p_sql;
  get diagnostics n = row_count;
  return n;
end
$$;

-- Every table that holds a user's rows, found from the catalog so new tables are covered
-- without editing the tests: public and flux tables with a user_id column, and public.users.
create or replace function tests.user_tables()
returns table (schema_name text, table_name text, owner_column text)
language sql stable
as $$
  select c.table_schema::text, c.table_name::text, c.column_name::text
  from information_schema.columns c
  join information_schema.tables t using (table_schema, table_name)
  where t.table_type = 'BASE TABLE'
    and c.table_schema in ('public', 'flux')
    and (c.column_name = 'user_id' or (c.table_schema = 'public' and c.table_name = 'users' and c.column_name = 'id'))
  order by 1, 2
$$;

-- Rows of one user in a table from tests.user_tables().
create or replace function tests.count_rows_of(p_schema text, p_table text, p_column text, p_user uuid)
returns bigint
language plpgsql
as $$
declare
  n bigint;
begin
  execute format('select count(*) from %I.%I where %I = $1', p_schema, p_table, p_column) into n using p_user;
  return n;
end
$$;

grant execute on all functions in schema tests to anon, authenticated;

select pass('test helpers installed');
select * from finish();
commit;
