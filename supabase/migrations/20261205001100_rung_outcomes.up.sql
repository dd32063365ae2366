-- Every rung's outcome reaches the service, so that each is one log line: sent (the dispatcher's
-- line), skipped and why, auto-missed. Until now the claims decided skips and auto-misses in SQL
-- and told nobody: a rung passed over for want of a verified phone, or an outbox row dropped
-- because its task was answered meanwhile, left no trace an operator could read.
--
-- flux.claim_escalation_rungs is flux.claim_escalations (20261205000400_reminders) returning a row
-- per task it took: the rung taken (and the rung the task was at, which differ after a backlog),
-- and its outcome: queued, skipped (with why), auto_missed, or restarted (a location task's
-- ladder). flux.claim_escalations stays, for pg_cron's sweep, as the count of those rows.
-- flux.claim_outbox also returns the rows it skips, with why in `skipped` (their other columns
-- null), so its caller sees them and can count a full batch as full.

create type flux.rung_outcome as (task_id uuid, user_id uuid, from_stage text, stage text, outcome text, reason text);

create function flux.claim_escalation_rungs(p_limit integer default 1000) returns setof flux.rung_outcome
language plpgsql
set search_path = ''
as $$
declare
  v_now timestamptz := flux.now();
  v_ids uuid[] := array(select flux.lock_due_tasks(v_now, p_limit));
  v_rungs flux.rung_outcome[];
  v_missed uuid[];
begin
  with locked as (
    select t.id, t.user_id, t.escalation_stage as stage, t.escalation_policy as policy, t.scheduled_at,
           t.escalation_due_at as due_at, t.trigger_type = 'location' as located,
           u.notification_preferences as prefs, u.phone_verified, u.whatsapp_opt_in_at, u.timezone, u.profile
    from public.tasks t
    join public.users u on u.id = t.user_id
    where t.id = any (v_ids)
  ),
  -- After downtime (or a large warp) several rungs of a task are due at once: the ladder goes to
  -- the latest of them in one step, and the rungs it passes write nothing (each would be a stale
  -- reminder). Only a rung at least a minute late can have a later one due (no window is
  -- shorter), so an on-time claim makes no extra call.
  jumped as (
    select l.*,
           case when l.due_at <= v_now - interval '1 minute'
                then flux.latest_due_stage(l.policy, l.stage, l.scheduled_at, l.prefs, l.located, v_now)
                else l.stage end as latest
    from locked l
  ),
  due as (
    select j.id, j.user_id, j.stage as from_stage, j.latest as stage, j.policy, j.scheduled_at, j.located, j.prefs,
           j.phone_verified, j.whatsapp_opt_in_at, j.timezone, j.profile,
           case when j.latest = j.stage then j.due_at
                when j.located then flux.location_rung_due(j.latest, j.scheduled_at, j.prefs)
                else flux.stage_due(j.latest, j.scheduled_at, j.prefs) end as due_at
    from jumped j
  ),
  step as (
    select d.*,
           flux.next_stage(d.policy, d.stage) as next_stage,
           case d.stage
             when 'push' then exists (select 1 from public.push_subscriptions p where p.user_id = d.user_id)
             when 'whatsapp' then d.phone_verified and d.whatsapp_opt_in_at is not null
                                  and not flux.quiet_for(d.scheduled_at, v_now, d.timezone, d.prefs, d.profile)
             when 'call' then d.phone_verified
                              and not flux.quiet_for(d.scheduled_at, v_now, d.timezone, d.prefs, d.profile)
             else true
           end as available,
           -- Why a rung that is due cannot go out (only read when it cannot).
           case d.stage
             when 'push' then 'no push subscription'
             when 'whatsapp' then case when not d.phone_verified then 'phone not verified'
                                       when d.whatsapp_opt_in_at is null then 'not opted in to WhatsApp'
                                       else 'quiet hours' end
             when 'call' then case when not d.phone_verified then 'phone not verified' else 'quiet hours' end
           end as unavailable
    from due d
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
  -- Data-modifying CTEs run to completion whether or not this reads them.
  select array_agg(row(s.id, s.user_id, s.from_stage::text, s.stage::text,
                       case when s.stage = 'auto_miss' then
                              case when s.located then 'restarted' else 'auto_missed' end
                            when s.available then 'queued' else 'skipped' end,
                       case when not s.available then s.unavailable end)::flux.rung_outcome)
  into v_rungs
  from step s;
  v_missed := array(select r.task_id from unnest(v_rungs) r where r.outcome = 'auto_missed');

  if cardinality(v_missed) > 0 then
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
  return query select * from unnest(v_rungs);
end
$$;

drop function flux.claim_outbox(integer, interval, text);
create function flux.claim_outbox(p_limit integer, p_lease interval, p_owner text)
returns table (id bigint, user_id uuid, task_id uuid, channel text, attempts integer, due_at timestamptz,
               task_title text, scheduled_at timestamptz, timezone text, phone_number text,
               push_subscriptions jsonb, offer_reschedule boolean, whatsapp_window_open boolean,
               snoozes_left integer, skipped text)
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
           coalesce(t.snoozed_at >= d.created_at, false) as snoozed,
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
                     when c.snoozed then 'snoozed'
                     else 'superseded by a later rung' end
    from cand c
    where d.id = c.id and (c.task_status <> 'pending' or c.superseded or c.snoozed)
    returning d.id, d.user_id, d.task_id, d.channel::text, d.attempts, d.due_at, d.error
  ),
  leased as (
    update public.dispatch_log d
    set attempts = d.attempts + 1, lease_until = v_now + p_lease, lease_owner = p_owner
    from cand c, public.tasks t, public.users u
    where d.id = c.id and c.task_status = 'pending' and not c.superseded and not c.snoozed
      and t.id = d.task_id and u.id = d.user_id
    returning d.id, d.user_id, d.task_id, d.channel::text, d.attempts, d.due_at,
              t.title, t.scheduled_at, u.timezone, u.phone_number,
              case when d.channel = 'push' then
                coalesce((select jsonb_agg(jsonb_build_object('endpoint', p.endpoint, 'p256dh', p.p256dh, 'auth', p.auth))
                          from public.push_subscriptions p where p.user_id = d.user_id), '[]'::jsonb)
              end as push_subscriptions,
              coalesce(u.whatsapp_window_until > v_now, false) as window_open,
              3 - t.snooze_count as snoozes_left
  ),
  free as (
    select flux.users_with_free_slot(array(select l.user_id from leased l where l.channel = 'whatsapp'), 30, v_now) as user_id
  )
  select l.id, l.user_id, l.task_id, l.channel, l.attempts, l.due_at, l.title, l.scheduled_at,
         l.timezone, l.phone_number, l.push_subscriptions,
         l.channel = 'whatsapp' and l.user_id in (select free.user_id from free),
         l.window_open, l.snoozes_left, null::text
  from leased l
  union all
  select s.id, s.user_id, s.task_id, s.channel, s.attempts, s.due_at, null, null, null, null, null,
         null, null, null, s.error
  from skipped s;
end
$$;

create or replace function flux.claim_escalations(p_limit integer default 1000) returns integer
language sql
set search_path = ''
as $$ select count(*)::integer from flux.claim_escalation_rungs(p_limit) $$;

-- Service-side only, like everything in flux: nothing here is granted to the API roles.
revoke execute on all functions in schema flux from public;
