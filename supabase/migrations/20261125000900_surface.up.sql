-- The product surface: what a signed-in user does besides chatting, as RPC functions
-- (supabase-js: supabase.rpc(name, args)). Reads that RLS already answers are plain table reads.
--
-- Conventions of every function here:
--   * exposed to authenticated only (anon and PUBLIC have no EXECUTE);
--   * SECURITY DEFINER only when it must write what the user has no grant on, then with an empty
--     search_path and an explicit auth.uid() check; otherwise SECURITY INVOKER, under RLS;
--   * errors a client can act on, by SQLSTATE (PostgREST passes code, message and hint through,
--     and answers a PTxyz code with HTTP status xyz; P0002 and 55000 would be HTTP 500):
--       PT401  not signed in
--       PT404  no such row for this user (an unknown id and someone else's id look the same, so
--              ids of other users cannot be probed)
--       PT409  the row is not in a state that allows it (completing a task that is not pending)
--       22023  an invalid argument (a time in the past, an unknown event)
--       PGRST  rate limited: HTTP 429 with Retry-After (flux.rate_limit)
--   * writes count against the user's "actions" limit (SPEC: others 100/min).

-- A user-facing call: signed in, and within its rate limit (by default the "others" limit).
-- Returns the caller's id.
create function flux.begin_action(p_name text, p_action text default 'actions', p_limit integer default 100)
returns uuid
language plpgsql
set search_path = ''
as $$
declare
  v_uid uuid := auth.uid();
begin
  if v_uid is null then
    raise exception '%: not signed in', p_name using errcode = 'PT401';
  end if;
  perform flux.rate_limit(v_uid, p_action, p_limit, interval '1 minute');
  return v_uid;
end
$$;

-- The caller's task, whatever its status, locked; PT404 when it is not theirs.
create function flux.own_task(p_uid uuid, p_task_id uuid, p_name text) returns public.tasks
language plpgsql
set search_path = ''
as $$
declare
  v_task public.tasks;
begin
  select t.* into v_task from public.tasks t where t.id = p_task_id and t.user_id = p_uid for update;
  if not found then
    raise exception '%: no task % for this user', p_name, p_task_id using errcode = 'PT404';
  end if;
  return v_task;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Tasks

-- Today's pending tasks in the user's local day, in order; pending location tasks (armed, no
-- time) come last. A read under RLS: no definer, no rate limit (the table read is the same).
create function public.today_tasks() returns setof public.tasks
language sql stable security invoker
set search_path = ''
as $$
  with today as (
    select ((flux.now() at time zone u.timezone)::date)::timestamp at time zone u.timezone as day_start,
           ((flux.now() at time zone u.timezone)::date + 1)::timestamp at time zone u.timezone as day_end
    from public.users u where u.id = (select auth.uid())
  )
  select t.*
  from public.tasks t, today
  where t.user_id = (select auth.uid()) and t.status = 'pending'
    and ((t.scheduled_at >= today.day_start and t.scheduled_at < today.day_end)
         or (t.trigger_type = 'location' and t.scheduled_at is null))
  order by t.scheduled_at nulls last, t.created_at
$$;
comment on function public.today_tasks() is
  'Pending tasks of the caller''s local day (users.timezone), by time; armed location tasks last.';

-- Settle a reminder from the app, through the one function every channel uses: the ladder stops
-- and the latest unanswered notification records the answer in the same transaction.
create function flux.settle_task(p_task_id uuid, p_response text, p_name text) returns public.tasks
language plpgsql
set search_path = ''
as $$
declare
  v_uid uuid := flux.begin_action(p_name);
  v_task public.tasks := flux.own_task(v_uid, p_task_id, p_name);
begin
  if v_task.status <> 'pending' then
    raise exception '%: task % is %, not pending', p_name, p_task_id, v_task.status
      using errcode = 'PT409', hint = 'Only a pending task can be completed or marked missed.';
  end if;
  perform flux.record_response(p_task_id, p_response, null, null);
  select t.* into v_task from public.tasks t where t.id = p_task_id;
  return v_task;
end
$$;

-- plpgsql rather than sql: PostgreSQL cannot inline a SECURITY DEFINER sql function and plans its
-- body again on every call, where plpgsql keeps the plan for the session.
create function public.complete_task(p_task_id uuid) returns public.tasks
language plpgsql security definer
set search_path = ''
as $$ begin return flux.settle_task(p_task_id, 'done', 'complete_task'); end $$;
comment on function public.complete_task(uuid) is
  'Mark a pending task done. The last settled task of a sprint completes its goal and starts the next micro-goal.';

create function public.mark_missed(p_task_id uuid) returns public.tasks
language plpgsql security definer
set search_path = ''
as $$ begin return flux.settle_task(p_task_id, 'missed', 'mark_missed'); end $$;
comment on function public.mark_missed(uuid) is
  'Mark a pending task missed: the miss signal the Pattern Observer learns from.';

-- The earliest start at or after p_from, on a quarter hour, for p_minutes that ends by the end of
-- p_from's local day (or the user's bedtime, if earlier) and keeps the planner's 15-minute buffer
-- around every other open task. Null when the day has no such room. The same gap walk as
-- flux.users_with_free_slot, for one user and a chosen start.
create function flux.first_free_slot(p_user uuid, p_minutes integer, p_from timestamptz, p_exclude uuid default null)
returns timestamptz
language sql stable
set search_path = ''
as $$
  with u as (
    select u.timezone as tz, (p_from at time zone u.timezone) as local_from,
           u.profile #>> '{sleep_window,start}' as bedtime
    from public.users u where u.id = p_user
  ),
  bounds as (
    select date_bin(interval '15 minutes', p_from + interval '15 minutes' - interval '1 microsecond',
                    timestamptz '2000-01-01') as first_start,
           least((u.local_from::date + 1)::timestamp,
                 coalesce(case when u.local_from::date + u.bedtime::time > u.local_from
                               then u.local_from::date + u.bedtime::time end,
                          'infinity'::timestamp)) at time zone u.tz as day_end
    from u
  ),
  busy as (
    select t.scheduled_at - interval '15 minutes' as s,
           t.scheduled_at + make_interval(mins => t.duration_minutes + 15) as e
    from bounds b
    join public.tasks t on t.user_id = p_user
    where t.status in ('pending', 'rescheduled') and t.id is distinct from p_exclude
      and t.scheduled_at > b.first_start - interval '1 day 15 minutes'
      and t.scheduled_at < b.day_end + interval '15 minutes'
  ),
  gaps as (
    select coalesce(max(e) over w, '-infinity'::timestamptz) as opens, s as closes
    from busy window w as (order by s rows between unbounded preceding and 1 preceding)
    union all
    select coalesce(max(e), '-infinity'::timestamptz), 'infinity'::timestamptz from busy
  )
  select min(c.start)
  from gaps g, bounds b,
       lateral (select date_bin(interval '15 minutes',
                                greatest(g.opens, b.first_start) + interval '15 minutes' - interval '1 microsecond',
                                timestamptz '2000-01-01') as start) c
  where c.start + make_interval(mins => p_minutes) <= least(g.closes, b.day_end)
$$;

-- Step one of a reschedule: where the task could go. Nothing changes. p_at is the time the user
-- asked for (null: the next free time today); when it collides with another task (or its buffer)
-- the nearest free time later that day is proposed instead, and the collision is named.
-- Returns {task_id, requested_at, proposed_at (null: no room left that day), conflict, conflicts[]}.
create function public.propose_reschedule(p_task_id uuid, p_at timestamptz default null) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_uid uuid := flux.begin_action('propose_reschedule');
  v_task public.tasks := flux.own_task(v_uid, p_task_id, 'propose_reschedule');
  v_now timestamptz := flux.now();
  -- Without a wish, the next quarter hour that has not started yet.
  v_from timestamptz := coalesce(p_at, v_now + interval '1 minute');
  v_conflicts jsonb;
  v_proposed timestamptz;
begin
  if v_task.status not in ('pending', 'missed') then
    raise exception 'propose_reschedule: task % is %', p_task_id, v_task.status
      using errcode = 'PT409', hint = 'Only a pending or missed task can be rescheduled.';
  end if;
  if p_at is not null and p_at <= v_now then
    raise exception 'propose_reschedule: % is in the past', p_at
      using errcode = '22023', hint = 'Pick a time in the future.';
  end if;
  select coalesce(jsonb_agg(jsonb_build_object('task_id', t.id, 'title', t.title, 'scheduled_at', t.scheduled_at)
                            order by t.scheduled_at), '[]')
  into v_conflicts
  from public.tasks t
  where p_at is not null and t.user_id = v_uid and t.id <> p_task_id and t.status in ('pending', 'rescheduled')
    and t.scheduled_at < p_at + make_interval(mins => v_task.duration_minutes + 15)
    and t.scheduled_at + make_interval(mins => t.duration_minutes + 15) > p_at;
  if p_at is not null and jsonb_array_length(v_conflicts) = 0 then
    v_proposed := p_at;
  else
    v_proposed := flux.first_free_slot(v_uid, v_task.duration_minutes, v_from, p_task_id);
  end if;
  return jsonb_build_object('task_id', p_task_id, 'requested_at', p_at, 'proposed_at', v_proposed,
                            'conflict', jsonb_array_length(v_conflicts) > 0, 'conflicts', v_conflicts);
end
$$;
comment on function public.propose_reschedule(uuid, timestamptz) is
  'Propose a new time for a task (the one asked for when free, else the nearest free time that day). Changes nothing.';

-- Step two: move the task to the confirmed time. The reminder ladder starts again for it, and the
-- latest unanswered reminder records "reschedule". A missed task becomes pending again.
create function public.confirm_reschedule(p_task_id uuid, p_at timestamptz) returns public.tasks
language plpgsql security definer
set search_path = ''
as $$
declare
  v_uid uuid := flux.begin_action('confirm_reschedule');
  v_task public.tasks := flux.own_task(v_uid, p_task_id, 'confirm_reschedule');
begin
  if v_task.status not in ('pending', 'missed') then
    raise exception 'confirm_reschedule: task % is %', p_task_id, v_task.status
      using errcode = 'PT409', hint = 'Only a pending or missed task can be rescheduled.';
  end if;
  if p_at is null or p_at <= flux.now() then
    raise exception 'confirm_reschedule: % is not in the future', p_at
      using errcode = '22023', hint = 'Pick a time in the future (propose_reschedule suggests one).';
  end if;
  if p_at > flux.now() + interval '1 year' then
    raise exception 'confirm_reschedule: % is more than a year away', p_at using errcode = '22023';
  end if;
  if v_task.status = 'pending' then
    -- Moving: the answer is recorded, and the update below restarts the ladder (no hold, no
    -- proposal in chat).
    perform flux.record_response(p_task_id, 'reschedule', null, null, p_moving => true);
  end if;
  update public.tasks t set scheduled_at = p_at, status = 'pending',
         -- A location task that was moved to a time becomes a time task.
         trigger_type = 'time', location_trigger = null
  where t.id = p_task_id
  returning t.* into v_task;
  return v_task;
end
$$;
comment on function public.confirm_reschedule(uuid, timestamptz) is
  'Move a pending or missed task to a confirmed future time; its reminders start again.';

-- ---------------------------------------------------------------------------------------------
-- Goals

-- Abandon a goal (an umbrella takes its micro-goals with it). Its pending tasks are cancelled,
-- except those shared with another active goal, which stay. Returns {goal_id, abandoned_goals,
-- cancelled_tasks, kept_shared_tasks}.
create function public.abandon_goal(p_goal_id uuid) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_uid uuid := flux.begin_action('abandon_goal');
  v_goal public.goals;
  v_goals uuid[];
  v_cancelled integer;
  v_kept integer;
begin
  select g.* into v_goal from public.goals g where g.id = p_goal_id and g.user_id = v_uid for update;
  if not found then
    raise exception 'abandon_goal: no goal % for this user', p_goal_id using errcode = 'PT404';
  end if;
  if v_goal.status not in ('active', 'pipeline') then
    raise exception 'abandon_goal: goal % is already %', p_goal_id, v_goal.status
      using errcode = 'PT409', hint = 'Only an active goal or one waiting in a pipeline can be abandoned.';
  end if;
  with abandoned as (
    update public.goals g set status = 'abandoned'
    where g.user_id = v_uid and g.status in ('active', 'pipeline')
      and (g.id = p_goal_id or g.parent_goal_id = p_goal_id)
    returning g.id
  )
  select array_agg(id) into v_goals from abandoned;

  with open as (
    select t.id,
           exists (select 1 from public.goals o
                   where o.id = any (t.shared_with_goal_ids) and o.user_id = v_uid
                     and o.status = 'active' and o.id <> all (v_goals)) as shared
    from public.tasks t
    where t.user_id = v_uid and t.goal_id = any (v_goals) and t.status = 'pending'
  ),
  cancelled as (
    update public.tasks t set status = 'cancelled'
    from open where t.id = open.id and not open.shared
    returning 1
  )
  select (select count(*) from cancelled), (select count(*) from open where shared)
  into v_cancelled, v_kept;
  return jsonb_build_object('goal_id', p_goal_id, 'abandoned_goals', to_jsonb(v_goals),
                            'cancelled_tasks', v_cancelled, 'kept_shared_tasks', v_kept);
end
$$;
comment on function public.abandon_goal(uuid) is
  'Abandon a goal and its micro-goals; cancels their pending tasks unless shared with another active goal.';

-- The sprint rule: when the last open task of an active goal is done or missed, the goal is
-- complete. For a micro-goal the next one in its pipeline becomes active and a system message
-- asks the agents to plan it (the run is queued in this transaction, so it cannot be lost); after
-- the last micro-goal the umbrella completes too. Cancelled tasks do not end a sprint (a goal
-- being re-planned cancels its future tasks before writing new ones).
-- Reads the goal's counters in flux.goal_task_stats, which the task_stats_update trigger has
-- already adjusted: AFTER triggers fire in name order, and "task_stats_update" sorts before
-- "tasks_sprint_settled".
create function flux.tasks_sprint_settled() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  v_goal public.goals;
  v_next public.goals;
begin
  -- Most settled tasks are not a sprint's last: a read of the counter, no lock. It is exact: this
  -- transaction's own counter update holds that row, so of two tasks settled at once the later
  -- committer sees both.
  if exists (select 1 from flux.goal_task_stats s where s.goal_id = new.goal_id and s.pending > 0) then
    return null;
  end if;
  select g.* into v_goal from public.goals g where g.id = new.goal_id and g.status = 'active' for update;
  if not found then
    return null;
  end if;
  update public.goals set status = 'completed' where id = v_goal.id;
  if v_goal.parent_goal_id is null then
    return null;
  end if;

  select g.* into v_next from public.goals g
  where g.parent_goal_id = v_goal.parent_goal_id and g.status = 'pipeline'
  order by g.pipeline_order
  limit 1
  for update;
  if not found then
    update public.goals set status = 'completed' where id = v_goal.parent_goal_id and status = 'active';
    return null;
  end if;
  update public.goals set status = 'active' where id = v_next.id;

  perform flux.queue_agent_action(new.user_id, 'goal',
    format('Sprint complete: “%s”. Next up: “%s”.', v_goal.title, v_next.title),
    jsonb_build_object('action', 'plan_micro_goal', 'goal_id', v_next.id, 'completed_goal_id', v_goal.id));
  return null;
end
$$;

create trigger tasks_sprint_settled after update of status on public.tasks
  for each row when (new.goal_id is not null and old.status = 'pending' and new.status in ('done', 'missed'))
  execute function flux.tasks_sprint_settled();

-- ---------------------------------------------------------------------------------------------
-- Patterns

-- Override what the Pattern Observer learned. Under RLS with the column grants; the update
-- trigger marks the pattern user_overridden so the observer never rewrites it. Null arguments
-- keep the current value.
create function public.override_pattern(p_pattern_id uuid, p_confidence numeric default null,
                                        p_description text default null) returns public.patterns
language plpgsql security invoker
set search_path = ''
as $$
declare
  v_pattern public.patterns;
begin
  if auth.uid() is null then
    raise exception 'override_pattern: not signed in' using errcode = 'PT401';
  end if;
  update public.patterns p
  set confidence = coalesce(p_confidence, p.confidence),
      description = coalesce(p_description, p.description)
  where p.id = p_pattern_id and p.user_id = (select auth.uid())
  returning p.* into v_pattern;
  if not found then
    raise exception 'override_pattern: no pattern % for this user', p_pattern_id using errcode = 'PT404';
  end if;
  return v_pattern;
end
$$;
comment on function public.override_pattern(uuid, numeric, text) is
  'Set a pattern''s confidence and/or description; marks it user_overridden so the observer keeps it.';

-- ---------------------------------------------------------------------------------------------
-- Account

-- WhatsApp reminders need an explicit opt-in, recorded with its time, and a verified phone
-- (verification goes through the listener, which holds the Twilio secret). false opts out.
-- Either way this explicit choice replaces a consent still waiting in the profile (see
-- flux.apply_whatsapp_consent), so a later verification cannot opt the user back in.
-- Returns the opt-in time (null after opting out).
create function public.set_whatsapp_opt_in(p_opt_in boolean default true) returns timestamptz
language plpgsql security definer
set search_path = ''
as $$
declare
  v_uid uuid := flux.begin_action('set_whatsapp_opt_in');
  v_at timestamptz;
begin
  if p_opt_in and not (select u.phone_verified from public.users u where u.id = v_uid) then
    raise exception 'set_whatsapp_opt_in: verify your phone number first' using errcode = 'PT409',
      hint = 'POST /v1/phone/verification with your number, then confirm the code.';
  end if;
  update public.users u
  set whatsapp_opt_in_at = case when p_opt_in then coalesce(u.whatsapp_opt_in_at, flux.now()) end,
      profile = u.profile - 'whatsapp_consent'
  where u.id = v_uid
  returning u.whatsapp_opt_in_at into v_at;
  return v_at;
end
$$;
comment on function public.set_whatsapp_opt_in(boolean) is
  'Opt in to WhatsApp reminders (needs a verified phone) or out (false). Returns the opt-in time.';

-- Phone verification (the listener's endpoints, which hold the Twilio Verify secret): the number a
-- code was last sent to. Only that number can be confirmed, and confirming it is the only way
-- phone_verified becomes true. One row per user, replaced by every send.
create table flux.phone_verifications (
  user_id uuid primary key references auth.users (id) on delete cascade,
  phone_number text not null constraint phone_verifications_phone_number_check check (phone_number ~ '^\+[1-9][0-9]{6,14}$'),
  sent_at timestamptz not null default flux.now()
);
revoke all on flux.phone_verifications from public, anon, authenticated;

-- The WhatsApp consent given in onboarding ("May I send reminders on WhatsApp too?"): the agents
-- write the answer as users.profile.whatsapp_consent (a boolean; the user may edit it like the
-- rest of the profile), and it becomes the opt-in once the phone is verified, at that moment.
-- It is used up by that: a later new number (users_phone_changed clears the opt-in) needs a new
-- opt-in, as before. false or absent changes nothing. Called by confirm_phone and after the
-- onboarding writes the profile (the number may have been verified first).
create function flux.apply_whatsapp_consent(p_user uuid) returns void
language sql
set search_path = ''
as $$
  update public.users u
  set whatsapp_opt_in_at = coalesce(u.whatsapp_opt_in_at, flux.now()),
      profile = u.profile - 'whatsapp_consent'
  where u.id = p_user and u.phone_verified and u.profile -> 'whatsapp_consent' = 'true'::jsonb
$$;

-- The code Twilio Verify approved was for p_phone: make it the user's verified number, when it is
-- the number the code was sent to. A different number than before clears the old verification
-- and WhatsApp opt-in first (trigger users_phone_changed), so an opt-in never carries over to a
-- new number; a consent from onboarding still waiting is applied to the verified number. False
-- when no code was sent to p_phone.
create function flux.confirm_phone(p_user uuid, p_phone text) returns boolean
language plpgsql
set search_path = ''
as $$
begin
  delete from flux.phone_verifications v where v.user_id = p_user and v.phone_number = p_phone;
  if not found then
    return false;
  end if;
  update public.users set phone_number = p_phone where id = p_user;
  update public.users set phone_verified = true where id = p_user;
  perform flux.apply_whatsapp_consent(p_user);
  return true;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Location tasks (SPEC: they start their ladder when the trigger fires and repeat every 2 hours
-- until answered). A geofencing client reports the event; the demo simulates "left home".

-- A fired location task: T is the moment it fired, its push goes out at once (no lead: nobody
-- knew in advance), the later rungs follow T like a time task's, and instead of an auto-miss the
-- ladder starts again 2 hours after T (flux.claim_escalations, migration 600).
create function public.simulate_location_trigger(p_place text, p_event text default 'leave') returns setof public.tasks
language plpgsql security definer
set search_path = ''
as $$
declare
  v_uid uuid := flux.begin_action('simulate_location_trigger');
  v_now timestamptz := flux.now();
begin
  if p_event is null or p_event not in ('arrive', 'leave') then
    raise exception 'simulate_location_trigger: event must be arrive or leave, not %', p_event using errcode = '22023';
  end if;
  return query
  update public.tasks t
  set scheduled_at = v_now, escalation_stage = 'push', escalation_due_at = v_now,
      reminder_sent_at = null, whatsapp_sent_at = null, call_sent_at = null
  where t.user_id = v_uid and t.status = 'pending' and t.trigger_type = 'location'
    and lower(t.location_trigger ->> 'place') = lower(p_place) and t.location_trigger ->> 'event' = p_event
  returning t.*;
end
$$;
comment on function public.simulate_location_trigger(text, text) is
  'Report a location event (arrive/leave a place): the matching pending location tasks start their reminders now.';

-- ---------------------------------------------------------------------------------------------
-- Rate limits on what a client inserts directly (SPEC: new goals 5/hour, new tasks 60/hour).
-- Rows the service writes (plans, reminders from chat) are paid for by the chat limit.
create function flux.rate_limit_insert() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  perform flux.rate_limit(new.user_id, tg_argv[0], tg_argv[1]::integer, tg_argv[2]::interval);
  return null;
end
$$;

create trigger goals_rate_limit after insert on public.goals
  for each row when (current_user = 'authenticated')
  execute function flux.rate_limit_insert('new goals', '5', '1 hour');
create trigger tasks_rate_limit after insert on public.tasks
  for each row when (current_user = 'authenticated')
  execute function flux.rate_limit_insert('new tasks', '60', '1 hour');

-- ---------------------------------------------------------------------------------------------
-- Grants: the exposed functions to authenticated only; the helpers to nobody.
revoke execute on all functions in schema flux from public;
do $$
declare
  f text;
begin
  foreach f in array array[
    'public.today_tasks()', 'public.complete_task(uuid)', 'public.mark_missed(uuid)',
    'public.propose_reschedule(uuid, timestamptz)', 'public.confirm_reschedule(uuid, timestamptz)',
    'public.abandon_goal(uuid)', 'public.override_pattern(uuid, numeric, text)',
    'public.set_whatsapp_opt_in(boolean)', 'public.simulate_location_trigger(text, text)']
  loop
    execute format('revoke execute on function %s from public, anon', f);
    execute format('grant execute on function %s to authenticated', f);
  end loop;
end
$$;
