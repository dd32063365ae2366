-- Analytics rollups, kept by triggers so that a task change costs O(1).
--
-- The original design refreshed materialized views on every status change: that grows with the
-- whole table and materialized views have no RLS. Instead two small tables in the private schema
-- hold per-user counters, each task change adjusts at most two rows of each, and the analytics RPC
-- functions (which check auth.uid()) read them. Nothing here is granted to the API roles.
--
-- A task counts on the user's local day of its due time (location tasks: of their completion, or
-- creation while open). Buckets are pending, done and missed; rescheduled and cancelled tasks
-- count nowhere (the rescheduled occurrence counts where it moved to).

create table flux.task_day_stats (
  user_id uuid not null references auth.users (id) on delete cascade,
  day date not null,
  pending integer not null default 0 check (pending >= 0),
  done integer not null default 0 check (done >= 0),
  missed integer not null default 0 check (missed >= 0),
  primary key (user_id, day)
);
comment on table flux.task_day_stats is
  'Per user and local day: open, done and missed tasks. Heatmap, streak, today, weekly completion.';

create table flux.goal_task_stats (
  goal_id uuid primary key references public.goals (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  pending integer not null default 0 check (pending >= 0),
  done integer not null default 0 check (done >= 0),
  missed integer not null default 0 check (missed >= 0)
);
create index goal_task_stats_user_idx on flux.goal_task_stats (user_id);
comment on table flux.goal_task_stats is
  'Per goal: open, done and missed tasks. Per-goal progress and missed by category.';

revoke all on flux.task_day_stats, flux.goal_task_stats from public, anon, authenticated;
grant select on flux.task_day_stats, flux.goal_task_stats to service_role;

-- The local day a task counts on, in the owner's timezone.
create function flux.task_local_day(t public.tasks, tz text) returns date
language sql stable
as $$ select (coalesce(t.scheduled_at, t.completed_at, t.created_at) at time zone tz)::date $$;

create function flux.task_stats_apply() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  tz text;
  v_day date;
begin
  select u.timezone into tz from public.users u
  where u.id = coalesce(new.user_id, old.user_id);
  -- The owner's row is gone only while their account is being erased: nothing left to count.
  if tz is null then
    return null;
  end if;

  -- The common change, a status change between counted buckets on the same day and goal (a task
  -- done, missed, or reopened): one row of each moves a count between buckets, half the writes
  -- of the general path below, on the path every answered reminder takes. A rollup row that is
  -- missing (it cannot be, short of a concurrent erasure) is left to the general path, which
  -- recreates it.
  if tg_op = 'UPDATE' and old.status in ('pending', 'done', 'missed') and new.status in ('pending', 'done', 'missed')
     and new.user_id = old.user_id and new.goal_id is not distinct from old.goal_id then
    v_day := flux.task_local_day(new, tz);
    if v_day = flux.task_local_day(old, tz) then
      update flux.task_day_stats s
      set pending = s.pending - (old.status = 'pending')::int + (new.status = 'pending')::int,
          done    = s.done    - (old.status = 'done')::int    + (new.status = 'done')::int,
          missed  = s.missed  - (old.status = 'missed')::int  + (new.status = 'missed')::int
      where s.user_id = new.user_id and s.day = v_day;
      if found then
        if new.goal_id is not null then
          update flux.goal_task_stats s
          set pending = s.pending - (old.status = 'pending')::int + (new.status = 'pending')::int,
              done    = s.done    - (old.status = 'done')::int    + (new.status = 'done')::int,
              missed  = s.missed  - (old.status = 'missed')::int  + (new.status = 'missed')::int
          where s.goal_id = new.goal_id;
          if not found then
            insert into flux.goal_task_stats (goal_id, user_id, pending, done, missed)
            values (new.goal_id, new.user_id,
                    (new.status = 'pending')::int, (new.status = 'done')::int, (new.status = 'missed')::int);
          end if;
        end if;
        return null;
      end if;
    end if;
  end if;

  -- Take the old row out. Plain UPDATEs: when the rollup row is already gone (cascade), no-op.
  if tg_op in ('UPDATE', 'DELETE') and old.status in ('pending', 'done', 'missed') then
    update flux.task_day_stats s
    set pending = s.pending - (old.status = 'pending')::int,
        done    = s.done    - (old.status = 'done')::int,
        missed  = s.missed  - (old.status = 'missed')::int
    where s.user_id = old.user_id and s.day = flux.task_local_day(old, tz);
    if old.goal_id is not null then
      update flux.goal_task_stats s
      set pending = s.pending - (old.status = 'pending')::int,
          done    = s.done    - (old.status = 'done')::int,
          missed  = s.missed  - (old.status = 'missed')::int
      where s.goal_id = old.goal_id;
    end if;
  end if;

  -- Put the new row in.
  if tg_op in ('INSERT', 'UPDATE') and new.status in ('pending', 'done', 'missed') then
    insert into flux.task_day_stats as s (user_id, day, pending, done, missed)
    values (new.user_id, flux.task_local_day(new, tz),
            (new.status = 'pending')::int, (new.status = 'done')::int, (new.status = 'missed')::int)
    on conflict (user_id, day) do update
    set pending = s.pending + excluded.pending,
        done    = s.done    + excluded.done,
        missed  = s.missed  + excluded.missed;
    if new.goal_id is not null then
      insert into flux.goal_task_stats as s (goal_id, user_id, pending, done, missed)
      values (new.goal_id, new.user_id,
              (new.status = 'pending')::int, (new.status = 'done')::int, (new.status = 'missed')::int)
      on conflict (goal_id) do update
      set pending = s.pending + excluded.pending,
          done    = s.done    + excluded.done,
          missed  = s.missed  + excluded.missed;
    end if;
  end if;
  return null;
end
$$;

create trigger task_stats_insert_delete after insert or delete on public.tasks
  for each row execute function flux.task_stats_apply();
create trigger task_stats_update after update on public.tasks
  for each row
  when (old.status is distinct from new.status
        or old.scheduled_at is distinct from new.scheduled_at
        or old.completed_at is distinct from new.completed_at
        or old.goal_id is distinct from new.goal_id)
  execute function flux.task_stats_apply();

-- The local day of every task moves when the user changes timezone: rebuild that user's day
-- counters (proportional to their own tasks, and a rare event).
create function flux.rebuild_task_day_stats(p_user_id uuid) returns void
language sql security definer set search_path = ''
as $$
  delete from flux.task_day_stats where user_id = p_user_id;
  insert into flux.task_day_stats (user_id, day, pending, done, missed)
  select t.user_id, flux.task_local_day(t, u.timezone),
         count(*) filter (where t.status = 'pending'),
         count(*) filter (where t.status = 'done'),
         count(*) filter (where t.status = 'missed')
  from public.tasks t
  join public.users u on u.id = t.user_id
  where t.user_id = p_user_id and t.status in ('pending', 'done', 'missed')
  group by 1, 2;
$$;

create function flux.users_timezone_changed() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  perform flux.rebuild_task_day_stats(new.id);
  return null;
end
$$;

create trigger users_timezone_changed after update of timezone on public.users
  for each row when (old.timezone is distinct from new.timezone)
  execute function flux.users_timezone_changed();

-- Trigger functions run as triggers only; nobody calls them (see the schema migration).
revoke execute on all functions in schema flux from public;
