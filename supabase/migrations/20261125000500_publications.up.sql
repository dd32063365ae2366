-- Publications.
--
-- flux_listener: the change feed the listener follows by logical replication (pgoutput). New
-- messages are agent work, tasks carry escalation deadlines, dispatch_log is the outbox.
-- supabase_realtime: the tables a client watches; Realtime applies each table's SELECT policy, so a
-- user only receives their own rows.
do $$
declare
  t text;
begin
  if not exists (select 1 from pg_publication where pubname = 'flux_listener') then
    create publication flux_listener for table public.messages, public.tasks, public.dispatch_log;
  end if;

  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
  foreach t in array array['messages', 'tasks', 'goals'] loop
    if not exists (select 1 from pg_publication_tables
                   where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = t) then
      execute format('alter publication supabase_realtime add table public.%I', t);
    end if;
  end loop;
end
$$;
