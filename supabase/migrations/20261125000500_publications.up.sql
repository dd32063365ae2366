-- Publications.
--
-- flux_listener and flux_listener_inserts: the change feed the listener follows by logical
-- replication (pgoutput, both names in publication_names). Tasks carry escalation deadlines, so
-- every change to them counts; of messages (agent work) and dispatch_log (the outbox) only new
-- rows do, and leaving out their updates spares the feed two of every send's five changes.
-- Each table publishes only the columns the listener reads (service.escalation.Handle): less to
-- stream and decode per change, and no title or message content leaves through the slot.
-- The replica identity (the primary key) must be among them where updates and deletes are published.
-- supabase_realtime: the tables a client watches; Realtime applies each table's SELECT policy, so a
-- user only receives their own rows.
do $$
declare
  t text;
begin
  if not exists (select 1 from pg_publication where pubname = 'flux_listener') then
    create publication flux_listener for table public.tasks (id, escalation_due_at);
  end if;
  if not exists (select 1 from pg_publication where pubname = 'flux_listener_inserts') then
    create publication flux_listener_inserts for table public.messages (id, role), public.dispatch_log (id, status)
      with (publish = 'insert');
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
