-- The rules behind Supabase's database advisor (the splinter lints function_search_path_mutable,
-- extension_in_public, anon_security_definer_function_executable and
-- authenticated_security_definer_function_executable), held for every function and extension
-- the catalog lists, so whatever a later migration adds meets them too.
begin;
set local search_path = extensions, public, tests;
select plan(8);

-- Functions of public and flux, not those an extension owns.
create temporary view own_functions as
  select p.oid, p.oid::regprocedure::text as name, l.lanname as language, p.prosecdef as definer,
         p.pronamespace::regnamespace::text as schema
  from pg_catalog.pg_proc p
  join pg_catalog.pg_language l on l.oid = p.prolang
  where p.pronamespace in ('public'::regnamespace, 'flux'::regnamespace)
    and not exists (select 1 from pg_catalog.pg_depend d where d.objid = p.oid and d.deptype = 'e');

select is(
  (select array_agg(name order by name) from own_functions f
   where not exists (select 1 from pg_catalog.pg_proc p, unnest(p.proconfig) c
                     where p.oid = f.oid and c like 'search_path=%')),
  null,
  'every function in public and flux pins search_path');

-- A pinned path is only safe if the body still resolves under it: every name schema-qualified.
-- SQL bodies go through the language's validator with an empty path; plpgsql bodies through
-- plpgsql_check (what `supabase db lint` runs), in this transaction only.
create extension if not exists plpgsql_check with schema extensions;
create function pg_temp.resolution_errors() returns setof text
language plpgsql
as $$
declare
  f record;
  e record;
begin
  perform set_config('search_path', '', true);
  for f in select * from own_functions loop
    if f.language = 'sql' then
      begin
        perform pg_catalog.fmgr_sql_validator(f.oid);
      exception when others then
        return next f.name || ': ' || sqlerrm;
      end;
    elsif f.language = 'plpgsql' then
      for e in
        select c.message from extensions.plpgsql_check_function_tb(f.oid,
          coalesce((select t.tgrelid from pg_catalog.pg_trigger t where t.tgfoid = f.oid limit 1), 0)) c
        where c.level = 'error'
      loop
        return next f.name || ': ' || e.message;
      end loop;
    end if;
  end loop;
  perform set_config('search_path', 'extensions, public, tests', true);
end
$$;

select is(
  (select array_agg(e order by e) from pg_temp.resolution_errors() e),
  null,
  'every function body in public and flux resolves with an empty search_path');

select is(
  (select array_agg(extname::text order by extname) from pg_catalog.pg_extension
   where extnamespace = 'public'::regnamespace and extname <> 'plpgsql'),
  null,
  'no extension lives in public');

select is(
  (select array_agg(name order by name) from own_functions
   where schema = 'public' and has_function_privilege('anon', oid, 'execute')),
  null,
  'anon can execute no function in public');

select is(
  (select array_agg(name order by name) from own_functions f
   where f.definer and (has_function_privilege('anon', f.oid, 'execute')
     or exists (select 1 from pg_catalog.pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                where p.oid = f.oid and a.grantee = 0 and a.privilege_type = 'EXECUTE'))),
  null,
  'no SECURITY DEFINER function in public or flux is executable by anon or PUBLIC');

select is(
  (select array_agg(name order by name) from own_functions
   where schema = 'flux' and definer and has_function_privilege('authenticated', oid, 'execute')),
  null,
  'no SECURITY DEFINER function in flux is executable by authenticated');

select isnt_empty(
  $$ select 1 from own_functions where schema = 'public' and definer
     and has_function_privilege('authenticated', oid, 'execute') $$,
  'the RPCs that must be definers are reachable by authenticated');

-- Each public definer checks auth.uid() before anything else: called by a role that holds a
-- grant but carries no user (no sub claim), with any arguments, it refuses with PT401.
create function pg_temp.definers_without_uid_check() returns setof text
language plpgsql
as $$
declare
  f record;
  v_state text;
begin
  for f in select o.*, p.pronargs from own_functions o join pg_catalog.pg_proc p on p.oid = o.oid
           where o.schema = 'public' and o.definer loop
    v_state := null;
    begin
      perform set_config('role', 'authenticated', true);
      perform set_config('request.jwt.claims', '{"role":"authenticated"}', true);
      execute format('select %s(%s)', f.oid::regproc,
                     (select string_agg('null', ', ') from generate_series(1, f.pronargs)));
      v_state := 'returned';
    exception when others then
      v_state := sqlstate;
    end;
    perform set_config('role', 'none', true);
    if v_state is distinct from 'PT401' then
      return next f.name || ': ' || v_state;
    end if;
  end loop;
end
$$;

select is(
  (select array_agg(e order by e) from pg_temp.definers_without_uid_check() e),
  null,
  'every SECURITY DEFINER function in public refuses a caller without a user (PT401)');

select * from finish();
rollback;
