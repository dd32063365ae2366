-- Triggers: user provisioning, timestamps, and the invariants a client must not be able to break.
--
-- Trigger functions that write rows the caller has no grant on are SECURITY DEFINER with an empty
-- search_path (every name below is schema-qualified). They take no arguments from the caller and
-- cannot be called outside a trigger, so there is no auth.uid() to check: the row that fired them
-- has already passed RLS and the column grants.

-- public.users appears when an auth.users row does. The timezone comes from the sign-up metadata
-- when it is a valid IANA name (supabase-js: signUp({ options: { data: { timezone } } })).
create function flux.provision_user() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  tz text := new.raw_user_meta_data ->> 'timezone';
begin
  insert into public.users (id, email, timezone)
  values (new.id, new.email, case when flux.is_valid_timezone(tz) then tz else 'UTC' end)
  on conflict (id) do nothing;
  return new;
end
$$;

create trigger flux_provision_user after insert on auth.users
  for each row execute function flux.provision_user();

create function flux.sync_user_email() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  update public.users set email = new.email where id = new.id;
  return new;
end
$$;

create trigger flux_sync_user_email after update of email on auth.users
  for each row when (old.email is distinct from new.email)
  execute function flux.sync_user_email();

-- updated_at
create function flux.touch_updated_at() returns trigger
language plpgsql
as $$
begin
  new.updated_at := flux.now();
  return new;
end
$$;

create trigger touch_updated_at before update on public.users
  for each row execute function flux.touch_updated_at();
create trigger touch_updated_at before update on public.goals
  for each row execute function flux.touch_updated_at();
create trigger touch_updated_at before update on public.tasks
  for each row execute function flux.touch_updated_at();
create trigger touch_updated_at before update on public.conversations
  for each row execute function flux.touch_updated_at();
create trigger touch_updated_at before update on public.patterns
  for each row execute function flux.touch_updated_at();

-- A verified phone and a WhatsApp opt-in belong to a number: changing the number drops both.
create function flux.users_phone_changed() returns trigger
language plpgsql
as $$
begin
  new.phone_verified := false;
  new.whatsapp_opt_in_at := null;
  return new;
end
$$;

create trigger users_phone_changed before update of phone_number on public.users
  for each row when (old.phone_number is distinct from new.phone_number)
  execute function flux.users_phone_changed();

-- Goal lifecycle stamps, and the cap of 3 active goals per user (umbrella goals count, their
-- micro-goals do not: one aspiration is one goal). The advisory lock serializes concurrent
-- activations by the same user so two transactions cannot both take the third slot.
create function flux.goals_status() returns trigger
language plpgsql
as $$
declare
  active_count integer;
begin
  if new.status = 'completed' then
    new.completed_at := coalesce(new.completed_at, flux.now());
  else
    new.completed_at := null;
  end if;

  if new.status = 'active' and (tg_op = 'INSERT' or old.status <> 'active') then
    -- Kept when given on insert (only the service can: the column is not granted), so history
    -- can be imported.
    new.activated_at := case when tg_op = 'INSERT' then coalesce(new.activated_at, flux.now()) else flux.now() end;
    if new.parent_goal_id is null then
      perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('flux.goals:' || new.user_id::text, 0));
      select count(*) into active_count
      from public.goals
      where user_id = new.user_id and status = 'active' and parent_goal_id is null and id <> new.id;
      if active_count >= 3 then
        raise exception 'a user can have at most 3 active goals'
          using errcode = 'check_violation', constraint = 'goals_active_limit',
                hint = 'Complete or abandon an active goal first.';
      end if;
    end if;
  end if;
  return new;
end
$$;

create trigger goals_status before insert or update of status on public.goals
  for each row execute function flux.goals_status();

-- completed_at is the moment a task became done, and only done tasks have one.
create function flux.tasks_status() returns trigger
language plpgsql
as $$
begin
  if new.status = 'done' then
    if tg_op = 'INSERT' or old.status <> 'done' then
      new.completed_at := coalesce(new.completed_at, flux.now());
    end if;
  else
    new.completed_at := null;
  end if;
  return new;
end
$$;

create trigger tasks_status before insert or update of status on public.tasks
  for each row execute function flux.tasks_status();

-- A conversation knows when it last moved (lists sort by it). Users have no update grant on
-- conversations, hence SECURITY DEFINER.
create function flux.conversation_touched() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  update public.conversations
  set last_message_at = greatest(coalesce(last_message_at, new.created_at), new.created_at)
  where id = new.conversation_id;
  return new;
end
$$;

create trigger conversation_touched after insert on public.messages
  for each row execute function flux.conversation_touched();

-- A pattern the user edits is theirs: mark it so the Pattern Observer never overwrites it.
create function flux.patterns_user_edit() returns trigger
language plpgsql
as $$
begin
  new.data := new.data || '{"user_overridden": true}'::jsonb;
  return new;
end
$$;

create trigger patterns_user_edit before update on public.patterns
  for each row when (current_user = 'authenticated')
  execute function flux.patterns_user_edit();

-- Trigger functions run as triggers only; nobody calls them (see the schema migration).
revoke execute on all functions in schema flux from public;
