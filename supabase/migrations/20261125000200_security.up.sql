-- Row Level Security and grants.
--
-- Access is decided here, explicitly, whatever default privileges the project has: every table is
-- first revoked from the API roles, then granted command by command (column by column where a user
-- may set only some columns). RLS policies are per command, TO authenticated, and compare the owner
-- column with (select auth.uid()) so Postgres evaluates auth.uid() once per statement.
--
-- What the owner may do, and why the rest is not granted:
--   users               select; update timezone, phone_number, profile, notification_preferences.
--                       Rows are provisioned by trigger and erased with the auth user. A new
--                       phone_number clears verification and WhatsApp opt-in (trigger).
--   goals               select; insert; update title, description. Status changes (abandon,
--                       complete) have side effects and go through RPC functions.
--   tasks               select; insert; update title, description, duration_minutes; delete.
--                       Status, schedule and escalation state change through RPC functions.
--   conversations       select; insert; delete (removes its messages).
--   messages            select; insert own role='user' messages. History is append-only.
--   patterns            select; update description, confidence, data; delete.
--   notification_log,
--   dispatch_log        select: history written by the service.
--   push_subscriptions  select; delete. Subscribing goes through the service, which holds the
--                       VAPID keys and moves an endpoint between accounts on one browser.
-- anon gets nothing. service_role (Supabase's server key) keeps full access and bypasses RLS.

do $$
declare
  t text;
begin
  foreach t in array array['users', 'goals', 'tasks', 'conversations', 'messages', 'patterns',
                           'notification_log', 'dispatch_log', 'push_subscriptions']
  loop
    execute format('alter table public.%I enable row level security', t);
    execute format('revoke all on table public.%I from public, anon, authenticated', t);
    execute format('grant all on table public.%I to service_role', t);
    execute format('grant select on table public.%I to authenticated', t);
    execute format(
      'create policy %I on public.%I for select to authenticated using (%I = (select auth.uid()))',
      t || '_select_own', t, case t when 'users' then 'id' else 'user_id' end);
  end loop;
end
$$;

revoke all on sequence public.dispatch_log_id_seq from public, anon, authenticated;
grant usage, select on sequence public.dispatch_log_id_seq to service_role;

-- users
grant update (timezone, phone_number, profile, notification_preferences) on public.users to authenticated;
create policy users_update_own on public.users for update to authenticated
  using (id = (select auth.uid())) with check (id = (select auth.uid()));

-- goals
grant insert (user_id, title, description, class_tags, target_weeks) on public.goals to authenticated;
grant update (title, description) on public.goals to authenticated;
create policy goals_insert_own on public.goals for insert to authenticated
  with check (user_id = (select auth.uid()));
create policy goals_update_own on public.goals for update to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));

-- tasks
grant insert (user_id, goal_id, title, description, scheduled_at, duration_minutes, trigger_type,
              location_trigger, recurrence_rule) on public.tasks to authenticated;
grant update (title, description, duration_minutes) on public.tasks to authenticated;
grant delete on public.tasks to authenticated;
create policy tasks_insert_own on public.tasks for insert to authenticated
  with check (user_id = (select auth.uid()));
create policy tasks_update_own on public.tasks for update to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy tasks_delete_own on public.tasks for delete to authenticated
  using (user_id = (select auth.uid()));

-- conversations
grant insert (user_id, context_type) on public.conversations to authenticated;
grant delete on public.conversations to authenticated;
create policy conversations_insert_own on public.conversations for insert to authenticated
  with check (user_id = (select auth.uid()));
create policy conversations_delete_own on public.conversations for delete to authenticated
  using (user_id = (select auth.uid()));

-- messages: role is not granted, so it takes its default 'user'; the policy says so again.
grant insert (user_id, conversation_id, content) on public.messages to authenticated;
create policy messages_insert_own on public.messages for insert to authenticated
  with check (user_id = (select auth.uid()) and role = 'user');

-- patterns
grant update (description, confidence, data) on public.patterns to authenticated;
grant delete on public.patterns to authenticated;
create policy patterns_update_own on public.patterns for update to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy patterns_delete_own on public.patterns for delete to authenticated
  using (user_id = (select auth.uid()));

-- push_subscriptions
grant delete on public.push_subscriptions to authenticated;
create policy push_subscriptions_delete_own on public.push_subscriptions for delete to authenticated
  using (user_id = (select auth.uid()));
