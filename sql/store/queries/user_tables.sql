-- Every table that holds one user's rows, read from the catalog at run time so that a table added
-- by a later migration is exported and erased without a code change: the base tables of public and
-- flux with a uuid user_id column, and public.users keyed by id (1:1 with auth.users).
-- Partitions are reached through their parent (listing both would count rows twice).
-- key_columns (the primary key, possibly empty) gives the export a stable row order.
select n.nspname::text as schema_name,
       c.relname::text as table_name,
       a.attname::text as owner_column,
       array(
         select ka.attname::text
         from pg_catalog.pg_index i
         cross join lateral unnest(i.indkey) with ordinality as k (attnum, ord)
         join pg_catalog.pg_attribute ka on ka.attrelid = i.indrelid and ka.attnum = k.attnum
         where i.indrelid = c.oid and i.indisprimary
         order by k.ord
       ) as key_columns
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
where n.nspname in ('public', 'flux')
  and c.relkind in ('r', 'p')
  and not c.relispartition
  and a.atttypid = 'pg_catalog.uuid'::pg_catalog.regtype
  and a.attname = case when n.nspname = 'public' and c.relname = 'users' then 'id' else 'user_id' end
order by 1, 2
