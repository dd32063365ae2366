-- Closed sets of values become enum types, so Supabase's type generator gives supabase-js
-- clients unions of the values instead of `string` (it reads enums, not CHECK constraints).
-- The types live in public, where the generator looks; the values and their meaning are those
-- of the CHECK constraints they replace.
--
-- Changing a column's type rewrites its table under an ACCESS EXCLUSIVE lock: on a large
-- deployment run this upgrade when a minute of blocked writes is acceptable.

create type public.task_status as enum ('pending', 'done', 'missed', 'rescheduled', 'cancelled');
create type public.goal_status as enum ('active', 'completed', 'abandoned', 'pipeline');
create type public.trigger_type as enum ('time', 'location');
create type public.escalation_policy as enum ('full', 'gentle', 'silent');
-- A rung of the reminder ladder; the outbox's channel is the rung it sends.
create type public.escalation_stage as enum ('push', 'whatsapp', 'call', 'auto_miss');
-- What reached the person: the rungs that send something.
create type public.notification_channel as enum ('push', 'whatsapp', 'call');
create type public.reminder_response as enum ('done', 'reschedule', 'missed', 'no_response', 'acknowledged');
create type public.dispatch_status as enum ('pending', 'dispatched', 'failed', 'skipped');
create type public.message_role as enum ('user', 'assistant', 'system', 'summary');
create type public.context_type as enum ('onboarding', 'goal', 'task', 'reschedule', 'general');
create type public.agent_status as enum ('idle', 'thinking');
create type public.pattern_type as enum ('time_avoidance', 'completion_streak', 'category_performance');

-- What names these columns with text literals is rebuilt around the change: PostgreSQL re-reads
-- a constraint, index predicate, trigger condition or policy with 'x'::text in it, and enum =
-- text has no operator. Each comes back with the same name and meaning.
drop policy messages_insert_own on public.messages;
-- A publication's column list holds its columns as they are: the listener's two tables leave it
-- for the change (in this transaction, so the feed misses no insert) and come back with the same
-- columns.
alter publication flux_listener_inserts drop table public.messages, public.dispatch_log;
drop trigger tasks_status on public.tasks;
drop trigger tasks_escalation on public.tasks;
drop trigger task_stats_update on public.tasks;
drop trigger tasks_observe_miss on public.tasks;
drop trigger tasks_sprint_settled on public.tasks;
drop trigger goals_status on public.goals;
drop index public.tasks_escalation_due_idx;
drop index public.goals_one_active_micro_goal;
drop index public.dispatch_log_pending_idx;

alter table public.tasks
  drop constraint tasks_status_check,
  drop constraint tasks_trigger_type_check,
  drop constraint tasks_escalation_policy_check,
  drop constraint tasks_escalation_stage_check,
  drop constraint tasks_completed_at_check,
  drop constraint tasks_location_needs_trigger,
  drop constraint tasks_time_needs_scheduled_at,
  alter column status drop default,
  alter column trigger_type drop default,
  alter column status type public.task_status using status::public.task_status,
  alter column trigger_type type public.trigger_type using trigger_type::public.trigger_type,
  alter column escalation_policy type public.escalation_policy using escalation_policy::public.escalation_policy,
  alter column escalation_stage type public.escalation_stage using escalation_stage::public.escalation_stage,
  alter column status set default 'pending',
  alter column trigger_type set default 'time',
  add constraint tasks_completed_at_check check ((status = 'done') = (completed_at is not null)),
  add constraint tasks_location_needs_trigger check ((trigger_type = 'location') = (location_trigger is not null)),
  add constraint tasks_time_needs_scheduled_at check (trigger_type <> 'time' or scheduled_at is not null);

alter table public.goals
  drop constraint goals_status_check,
  drop constraint goals_completed_at_check,
  drop constraint goals_pipeline_has_parent,
  alter column status drop default,
  alter column status type public.goal_status using status::public.goal_status,
  alter column status set default 'active',
  add constraint goals_completed_at_check check ((status = 'completed') = (completed_at is not null)),
  add constraint goals_pipeline_has_parent check (status <> 'pipeline' or parent_goal_id is not null);

alter table public.conversations
  drop constraint conversations_context_type_check,
  drop constraint conversations_agent_status_check,
  alter column context_type drop default,
  alter column agent_status drop default,
  alter column context_type type public.context_type using context_type::public.context_type,
  alter column agent_status type public.agent_status using agent_status::public.agent_status,
  alter column context_type set default 'general',
  alter column agent_status set default 'idle';

alter table public.messages
  drop constraint messages_role_check,
  drop constraint messages_user_content_length,
  alter column role drop default,
  alter column role type public.message_role using role::public.message_role,
  alter column role set default 'user',
  add constraint messages_user_content_length check (role <> 'user' or char_length(content) <= 4000);

alter table public.patterns
  drop constraint patterns_pattern_type_check,
  alter column pattern_type type public.pattern_type using pattern_type::public.pattern_type;

alter table public.notification_log
  drop constraint notification_log_channel_check,
  drop constraint notification_log_response_check,
  alter column channel type public.notification_channel using channel::public.notification_channel,
  alter column response type public.reminder_response using response::public.reminder_response;

alter table public.dispatch_log
  drop constraint dispatch_log_channel_check,
  drop constraint dispatch_log_status_check,
  drop constraint dispatch_log_dispatched_check,
  drop constraint dispatch_log_failed_check,
  alter column status drop default,
  alter column channel type public.escalation_stage using channel::public.escalation_stage,
  alter column status type public.dispatch_status using status::public.dispatch_status,
  alter column status set default 'pending',
  add constraint dispatch_log_dispatched_check check (status <> 'dispatched' or dispatched_at is not null),
  add constraint dispatch_log_failed_check check (status <> 'failed' or error is not null);

create index tasks_escalation_due_idx on public.tasks (escalation_due_at)
  where escalation_due_at is not null and status = 'pending';
create unique index goals_one_active_micro_goal on public.goals (parent_goal_id)
  where status = 'active' and parent_goal_id is not null;
create index dispatch_log_pending_idx on public.dispatch_log (next_attempt_at, id) where status = 'pending';

create trigger tasks_status before insert or update of status on public.tasks
  for each row execute function flux.tasks_status();
create trigger tasks_escalation before insert or update of status, scheduled_at on public.tasks
  for each row execute function flux.tasks_escalation();
create trigger goals_status before insert or update of status on public.goals
  for each row execute function flux.goals_status();
create trigger task_stats_update after update on public.tasks
  for each row
  when (old.status is distinct from new.status
        or old.scheduled_at is distinct from new.scheduled_at
        or old.completed_at is distinct from new.completed_at
        or old.goal_id is distinct from new.goal_id)
  execute function flux.task_stats_apply();
create trigger tasks_observe_miss after update of status on public.tasks
  for each row when (new.status = 'missed' and old.status is distinct from 'missed')
  execute function flux.tasks_observe_miss();
create trigger tasks_sprint_settled after update of status on public.tasks
  for each row when (new.goal_id is not null and old.status = 'pending' and new.status in ('done', 'missed'))
  execute function flux.tasks_sprint_settled();

create policy messages_insert_own on public.messages for insert to authenticated
  with check (user_id = (select auth.uid()) and role = 'user');

alter publication flux_listener_inserts add table public.messages (id, role), public.dispatch_log (id, status);

-- The ladder's helpers take and give the enum types (the columns they read are enums now).
drop function flux.next_stage(text, text);
drop function flux.stage_due(text, timestamptz, jsonb);
drop function flux.location_rung_due(text, timestamptz, jsonb);

create function flux.next_stage(p_policy public.escalation_policy, p_stage public.escalation_stage)
returns public.escalation_stage
language sql immutable
set search_path = ''
as $$
  select l.stages[array_position(l.stages, p_stage) + 1]
  from (select case p_policy
                 when 'full' then array['push', 'whatsapp', 'call', 'auto_miss']::public.escalation_stage[]
                 when 'gentle' then array['push', 'whatsapp', 'auto_miss']::public.escalation_stage[]
                 when 'silent' then array['push', 'auto_miss']::public.escalation_stage[]
               end as stages) l
$$;

-- The rung of a stage for a task due at p_due: the push a lead time before it (default 10
-- minutes), each later rung one escalation window after the one before (default 2 minutes).
create function flux.stage_due(p_stage public.escalation_stage, p_due timestamptz, p_prefs jsonb)
returns timestamptz
language sql immutable
set search_path = ''
as $$
  select case p_stage
    when 'push' then p_due - make_interval(mins => coalesce((p_prefs ->> 'reminder_lead_minutes')::int, 10))
    else p_due + case p_stage when 'whatsapp' then 1 when 'call' then 2 when 'auto_miss' then 3 end
                 * make_interval(mins => coalesce((p_prefs ->> 'escalation_window_minutes')::int, 2))
  end
$$;

-- A location task's ladder: its last rung (auto-miss) is a restart 2 hours after the trigger fired.
create function flux.location_rung_due(p_stage public.escalation_stage, p_fired timestamptz, p_prefs jsonb)
returns timestamptz
language sql immutable
set search_path = ''
as $$
  select case when p_stage = 'auto_miss' then p_fired + interval '2 hours'
              else flux.stage_due(p_stage, p_fired, p_prefs) end
$$;

-- What wrote or compared these columns as text.

create or replace function flux.queue_agent_action(p_user uuid, p_context text, p_content text, p_metadata jsonb)
returns uuid
language plpgsql
set search_path = ''
as $$
declare
  v_conversation uuid;
  v_id uuid;
begin
  if not coalesce(p_metadata ? 'action', false) then
    raise exception 'queue_agent_action: metadata % names no action', p_metadata using errcode = 'invalid_parameter_value';
  end if;
  select c.id into v_conversation from public.conversations c
  where c.user_id = p_user
  order by c.last_message_at desc nulls last, c.created_at desc
  limit 1;
  if v_conversation is null then
    insert into public.conversations (user_id, context_type) values (p_user, p_context::public.context_type)
    returning id into v_conversation;
  end if;
  insert into public.messages (conversation_id, user_id, role, content, metadata)
  values (v_conversation, p_user, 'system', p_content, p_metadata)
  returning id into v_id;
  return v_id;
end
$$;

create or replace function flux.finish_dispatches(p_owner text, p_ids bigint[], p_outcomes text[],
                                       p_external_ids text[], p_errors text[], p_retry_at timestamptz[])
returns setof bigint
language plpgsql
set search_path = ''
as $$
declare
  v_now timestamptz := flux.now();
  v_bad text;
begin
  select o into v_bad from unnest(p_outcomes) o where o is null or o not in ('sent', 'retry', 'failed') limit 1;
  if found then
    raise exception 'finish_dispatch: unknown outcome %', v_bad using errcode = 'invalid_parameter_value';
  end if;
  return query
  with input as (
    select * from unnest(p_ids, p_outcomes, p_external_ids, p_errors, p_retry_at)
      as i(id, outcome, external_id, error, retry_at)
  ),
  done as (
    update public.dispatch_log d
    set status = (case i.outcome when 'sent' then 'dispatched' when 'retry' then 'pending' else 'failed' end)::public.dispatch_status,
        dispatched_at = case when i.outcome = 'sent' then v_now end,
        next_attempt_at = coalesce(i.retry_at, d.next_attempt_at),
        error = case when i.outcome = 'failed' then left(coalesce(i.error, 'failed without a reason'), 2000)
                     else left(i.error, 2000) end,
        lease_until = null
    from input i
    where d.id = i.id and d.status = 'pending' and d.lease_owner = p_owner
    returning d.id, d.user_id, d.task_id, d.channel, i.outcome, i.external_id
  ),
  logged as (
    insert into public.notification_log (user_id, task_id, channel, external_id, sent_at)
    select done.user_id, done.task_id, done.channel::text::public.notification_channel, done.external_id, v_now from done where done.outcome = 'sent'
    on conflict (external_id) do nothing
  )
  select done.id from done;
end
$$;

create or replace function flux.record_response(p_task_id uuid, p_response text,
                                     p_channel text default null, p_provider_sid text default null,
                                     p_moving boolean default false)
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_task public.tasks;
  v_notification uuid;
  v_hold timestamptz;
begin
  if p_response not in ('done', 'missed', 'reschedule', 'acknowledge') then
    raise exception 'record_response: unknown response %', p_response using errcode = 'invalid_parameter_value';
  end if;
  if p_provider_sid is not null then
    insert into flux.webhook_receipts (provider_sid, task_id, response)
    values (p_provider_sid, p_task_id, p_response)
    on conflict do nothing;
    if not found then
      return 'duplicate';
    end if;
  end if;

  select t.* into v_task from public.tasks t where t.id = p_task_id for update;
  if not found then
    raise exception 'record_response: no task %', p_task_id using errcode = 'no_data_found';
  end if;
  if v_task.status <> 'pending' then
    return 'not_pending';
  end if;

  select n.id into v_notification
  from public.notification_log n
  where n.task_id = p_task_id and n.response is null and (p_channel is null or n.channel::text = p_channel)
  order by n.sent_at desc
  limit 1;
  if v_notification is not null then
    update public.notification_log
    set response = (case p_response when 'acknowledge' then 'acknowledged' else p_response end)::public.reminder_response,
        responded_at = flux.now()
    where id = v_notification;
  end if;
  if p_moving then
    return 'recorded';
  end if;

  if p_response = 'reschedule' and v_task.trigger_type = 'time' and v_task.scheduled_at is not null then
    select greatest(((v_task.scheduled_at at time zone u.timezone)::date + 1)::timestamp at time zone u.timezone,
                    flux.stage_due('auto_miss', flux.now(), u.notification_preferences))
    into v_hold
    from public.users u where u.id = v_task.user_id;
  end if;
  -- done/missed leave pending (the trigger clears the ladder); the others stop it in place, or
  -- hold it (above).
  update public.tasks t
  set status = case p_response when 'done' then 'done' when 'missed' then 'missed' else t.status end,
      escalation_stage = case when v_hold is not null then 'auto_miss'::public.escalation_stage end,
      escalation_due_at = v_hold
  where t.id = p_task_id;

  if p_response = 'reschedule' and not exists (
       select 1 from flux.agent_runs r join public.messages m on m.id = r.message_id
       where r.user_id = v_task.user_id and r.status in ('pending', 'running')
         and m.metadata @> jsonb_build_object('action', 'reschedule_task', 'task_id', p_task_id)) then
    perform flux.queue_agent_action(v_task.user_id, 'reschedule', format('Reschedule requested: “%s”.', v_task.title),
                                    jsonb_build_object('action', 'reschedule_task', 'task_id', p_task_id));
  end if;
  return 'recorded';
end
$$;

create or replace function flux.claim_outbox(p_limit integer, p_lease interval, p_owner text)
returns table (id bigint, user_id uuid, task_id uuid, channel text, attempts integer, due_at timestamptz,
               task_title text, scheduled_at timestamptz, timezone text, phone_number text,
               push_subscriptions jsonb, offer_reschedule boolean)
language plpgsql
set search_path = ''
-- An ordered scan of the pending index, whatever the statistics say (see lock_due_tasks). Its
-- statements write only dispatch_log, which has no triggers; the free-slot check turns both back on.
set enable_sort = off
set enable_bitmapscan = off
as $$
declare
  v_now timestamptz := flux.now();
begin
  return query
  with cand as (
    select d.id, d.task_id, d.channel, t.status as task_status,
           exists (select 1 from public.dispatch_log later
                   where later.task_id = d.task_id and later.id > d.id
                     and later.status in ('pending', 'dispatched')) as superseded
    from public.dispatch_log d
    join public.tasks t on t.id = d.task_id
    where d.status = 'pending' and d.next_attempt_at <= v_now
      and (d.lease_until is null or d.lease_until < v_now)
    order by d.next_attempt_at, d.id
    limit p_limit
    for update of d skip locked
  ),
  skipped as (
    update public.dispatch_log d
    set status = 'skipped', lease_until = null,
        error = case when c.task_status <> 'pending' then 'task is ' || c.task_status || ' before send'
                     else 'superseded by a later rung' end
    from cand c
    where d.id = c.id and (c.task_status <> 'pending' or c.superseded)
  ),
  leased as (
    update public.dispatch_log d
    set attempts = d.attempts + 1, lease_until = v_now + p_lease, lease_owner = p_owner
    from cand c, public.tasks t, public.users u
    where d.id = c.id and c.task_status = 'pending' and not c.superseded
      and t.id = d.task_id and u.id = d.user_id
    returning d.id, d.user_id, d.task_id, d.channel::text, d.attempts, d.due_at,
              t.title, t.scheduled_at, u.timezone, u.phone_number,
              case when d.channel = 'push' then
                coalesce((select jsonb_agg(jsonb_build_object('endpoint', p.endpoint, 'p256dh', p.p256dh, 'auth', p.auth))
                          from public.push_subscriptions p where p.user_id = d.user_id), '[]'::jsonb)
              end as push_subscriptions
  ),
  free as (
    select flux.users_with_free_slot(array(select l.user_id from leased l where l.channel = 'whatsapp'), 30, v_now) as user_id
  )
  select l.id, l.user_id, l.task_id, l.channel, l.attempts, l.due_at, l.title, l.scheduled_at,
         l.timezone, l.phone_number, l.push_subscriptions,
         l.channel = 'whatsapp' and l.user_id in (select free.user_id from free)
  from leased l;
end
$$;

create or replace function flux.claim_escalations(p_limit integer default 1000) returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_now timestamptz := flux.now();
  v_ids uuid[] := array(select flux.lock_due_tasks(v_now, p_limit));
  v_advanced integer;
  v_missed uuid[];
begin
  with due as (
    select t.id, t.user_id, t.escalation_stage as stage, t.escalation_policy as policy, t.scheduled_at,
           t.escalation_due_at as due_at, t.trigger_type = 'location' as located
    from public.tasks t
    where t.id = any (v_ids)
  ),
  step as (
    select d.*, u.notification_preferences as prefs,
           flux.next_stage(d.policy, d.stage) as next_stage,
           case d.stage
             when 'push' then exists (select 1 from public.push_subscriptions p where p.user_id = d.user_id)
             when 'whatsapp' then u.phone_verified and u.whatsapp_opt_in_at is not null
             when 'call' then u.phone_verified
             else true
           end as available
    from due d
    join public.users u on u.id = d.user_id
  ),
  outbox as (
    insert into public.dispatch_log (user_id, task_id, channel, status, dispatched_at, created_at, next_attempt_at, due_at)
    select s.user_id, s.id, s.stage,
           (case when s.stage = 'auto_miss' then 'dispatched' else 'pending' end)::public.dispatch_status,
           case when s.stage = 'auto_miss' then v_now end,
           v_now, v_now, s.due_at
    from step s
    where s.available and not (s.located and s.stage = 'auto_miss')
  ),
  -- scheduled_at stays out of this SET list: naming it would fire the tasks_escalation trigger
  -- (update of scheduled_at) for every rung, only for it to find nothing changed.
  advanced as (
    update public.tasks t
    set escalation_stage = s.next_stage,
        escalation_due_at = case
          when s.located then flux.location_rung_due(s.next_stage, s.scheduled_at, s.prefs)
          else flux.stage_due(s.next_stage, s.scheduled_at, s.prefs) end,
        reminder_sent_at = case when s.stage = 'push' and s.available then v_now else t.reminder_sent_at end,
        whatsapp_sent_at = case when s.stage = 'whatsapp' and s.available then v_now else t.whatsapp_sent_at end,
        call_sent_at = case when s.stage = 'call' and s.available then v_now else t.call_sent_at end
    from step s
    where t.id = s.id and s.stage <> 'auto_miss'
    returning 1
  ),
  -- A location task's last rung restarts its ladder: due again from the rung's time, push now.
  restarted as (
    update public.tasks t
    set escalation_stage = 'push', escalation_due_at = s.due_at, scheduled_at = s.due_at
    from step s
    where t.id = s.id and s.stage = 'auto_miss' and s.located
    returning 1
  )
  select (select count(*) from advanced) + (select count(*) from restarted),
         (select array_agg(s.id) from step s where s.stage = 'auto_miss' and not s.located)
  into v_advanced, v_missed;

  if v_missed is not null then
    -- An auto-miss moves analytics counters that other claimers' tasks share (same user and
    -- day, same goal). Lock them in one global order first, or two claimers can deadlock.
    perform 1 from flux.task_day_stats s
    where (s.user_id, s.day) in (
      select t.user_id, flux.task_local_day(t, u.timezone)
      from public.tasks t join public.users u on u.id = t.user_id
      where t.id = any (v_missed))
    order by s.user_id, s.day
    for update;
    perform 1 from flux.goal_task_stats g
    where g.goal_id in (select t.goal_id from public.tasks t where t.id = any (v_missed))
    order by g.goal_id
    for update;
    update public.tasks set status = 'missed' where id = any (v_missed);
  end if;
  return v_advanced + coalesce(cardinality(v_missed), 0);
end
$$;

-- Goal progress reports the goal's status as the enum (a return type changes only by drop and create).
drop function public.analytics_goal_progress();
create function public.analytics_goal_progress()
returns table (goal_id uuid, title text, status public.goal_status, class_tags text[], parent_goal_id uuid,
               pipeline_order integer, done integer, missed integer, pending integer, total integer,
               percent numeric)
language plpgsql security definer set search_path = ''
as $$
declare
  v_uid uuid := flux.begin_action('analytics_goal_progress', 'analytics requests', 30);
begin
  -- Every goal with all its descendants (UNION, not UNION ALL: a malformed cycle ends too). An
  -- abandoned micro-goal's tasks still count for its umbrella: they happened.
  return query
  with recursive mine as (
    select g.id, g.parent_goal_id from public.goals g where g.user_id = v_uid
  ),
  tree (root, member) as (
    select m.id, m.id from mine m
    union
    select t.root, m.id from tree t join mine m on m.parent_goal_id = t.member
  ),
  sums as (
    select t.root, coalesce(sum(s.done), 0)::integer as d, coalesce(sum(s.missed), 0)::integer as m,
           coalesce(sum(s.pending), 0)::integer as p
    from tree t left join flux.goal_task_stats s on s.goal_id = t.member
    group by t.root
  )
  select g.id, g.title, g.status, g.class_tags, g.parent_goal_id, g.pipeline_order,
         x.d, x.m, x.p, x.d + x.m + x.p,
         case when x.d + x.m + x.p > 0 then round(100.0 * x.d / (x.d + x.m + x.p), 1) end
  from public.goals g
  join sums x on x.root = g.id
  where g.user_id = v_uid and g.status <> 'abandoned'
  order by g.created_at, g.pipeline_order nulls first, g.id;
end
$$;
revoke execute on function public.analytics_goal_progress() from public, anon;
grant execute on function public.analytics_goal_progress() to authenticated;
comment on function public.analytics_goal_progress() is
  'Progress of each goal of the signed-in user except abandoned ones: done, missed, pending, total = their sum, '
  'percent = done / total rounded to 0.1 (null without tasks). An umbrella goal counts its own tasks plus those of its '
  'micro-goals. Ordered by creation, umbrella before its micro-goals in pipeline order. Rate limit: 30 analytics calls '
  'a minute.';

-- The functions created here start executable by PUBLIC: only what the API roles need is granted.
revoke execute on all functions in schema flux from public;
