-- A backlog never sends a rung a later one has superseded. Before, the claim wrote an outbox row
-- for every due rung and the lease skipped all but the latest; a push leased before its task's
-- auto-miss went out 26 ms after it. Now the claim takes a task to its latest due rung in one
-- step and writes nothing for the rungs it passes.

-- The latest rung of the ladder that is due at p_now, from p_stage (itself due) on.
create function flux.latest_due_stage(p_policy public.escalation_policy, p_stage public.escalation_stage,
                                      p_scheduled timestamptz, p_prefs jsonb, p_located boolean, p_now timestamptz)
returns public.escalation_stage
language plpgsql stable
set search_path = ''
as $$
declare
  v_stage public.escalation_stage := p_stage;
  v_next public.escalation_stage;
  v_due timestamptz;
begin
  loop
    v_next := flux.next_stage(p_policy, v_stage);
    exit when v_next is null;
    v_due := case when p_located then flux.location_rung_due(v_next, p_scheduled, p_prefs)
                  else flux.stage_due(v_next, p_scheduled, p_prefs) end;
    exit when v_due > p_now;
    v_stage := v_next;
  end loop;
  return v_stage;
end
$$;
revoke execute on function flux.latest_due_stage(public.escalation_policy, public.escalation_stage, timestamptz, jsonb, boolean, timestamptz) from public;

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
    select j.id, j.user_id, j.latest as stage, j.policy, j.scheduled_at, j.located, j.prefs,
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
           end as available
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
