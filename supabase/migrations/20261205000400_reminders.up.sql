-- Reminders that reach people through the real providers, and the controls people expect of a
-- reminder system: delivery status from the providers' callbacks (a failed rung moves the ladder
-- on at once), WhatsApp's 24-hour customer-service window, snooze, quiet hours and opt-out. The
-- ladder stays a state machine in SQL; the listener's webhooks call these functions.

-- ---------------------------------------------------------------------------------------------
-- Delivery status

-- Twilio's message and call statuses, in the order they can follow each other: a status never
-- replaces a later one, and the final ones (from completed on) are never replaced.
create type public.delivery_status as enum (
  'queued', 'initiated', 'ringing', 'sent', 'in-progress', 'delivered', 'read',
  'completed', 'undelivered', 'failed', 'busy', 'no-answer', 'canceled');

-- What the provider last said about a WhatsApp message or call, readable by its user (why a
-- reminder did not reach them).
alter table public.notification_log
  add column delivery_status public.delivery_status,
  add column delivery_error_code integer
    constraint notification_log_delivery_error_code_check check (delivery_error_code between 0 and 99999),
  add column delivery_updated_at timestamptz;

-- Callbacks for a message whose send is not recorded yet (Twilio may call back before the API
-- answer reaches the database); finish_dispatches applies and removes them. Provider ids only,
-- kept a day at most (the purge below).
create table flux.delivery_events (
  external_id text not null constraint delivery_events_external_id_length check (char_length(external_id) between 1 and 64),
  status public.delivery_status not null,
  error_code integer constraint delivery_events_error_code_check check (error_code between 0 and 99999),
  received_at timestamptz not null default flux.now(),
  primary key (external_id, status)
);
revoke all on flux.delivery_events from public, anon, authenticated;

-- A rung that reached nobody (the provider refused the send, or reported it failed): the
-- ladder's next rung is due now instead of a window later. Only once, and only for the ladder
-- that sent it, still waiting on its next rung at that rung's own time: not after the ladder
-- moved on, not for a rung of a ladder a snooze or a move has since restarted (p_rung_at, when
-- the failed rung was claimed or sent, is older than the rung's stamp on the task), and not when
-- an answer holds the ladder (a reschedule holds it on its auto-miss). The rungs after it keep
-- their own times. The caller holds the task's row lock. Returns whether the ladder moved.
create function flux.advance_after_failure(p_task public.tasks, p_failed public.escalation_stage, p_rung_at timestamptz)
returns boolean
language plpgsql
set search_path = ''
as $$
declare
  v_next public.escalation_stage := flux.next_stage(p_task.escalation_policy, p_failed);
  v_prefs jsonb;
  v_stamp timestamptz;
  v_own timestamptz;
begin
  v_stamp := case p_failed when 'whatsapp' then p_task.whatsapp_sent_at when 'call' then p_task.call_sent_at end;
  if p_task.status <> 'pending' or p_task.escalation_stage is distinct from v_next
     or p_task.escalation_due_at <= flux.now() or v_stamp is null or p_rung_at < v_stamp then
    return false;
  end if;
  select u.notification_preferences into v_prefs from public.users u where u.id = p_task.user_id;
  v_own := case when p_task.trigger_type = 'location' then flux.location_rung_due(v_next, p_task.scheduled_at, v_prefs)
                else flux.stage_due(v_next, p_task.scheduled_at, v_prefs) end;
  if p_task.escalation_due_at is distinct from v_own then
    return false;
  end if;
  update public.tasks t set escalation_due_at = flux.now() where t.id = p_task.id;
  return true;
end
$$;

-- Record a status on its notification. A WhatsApp that ends failed or undelivered, or a call
-- that ends no-answer, busy, failed or canceled, brings the ladder's next rung forward to now,
-- once: only while the ladder still waits on that very rung (its later rungs keep their times).
-- Returns 'recorded', 'advanced' (recorded, and the next rung is due now) or 'stale' (a
-- replay, or older than what is recorded).
create function flux.apply_delivery(p_notification uuid, p_status public.delivery_status, p_error_code integer)
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_channel public.notification_channel;
  v_task_id uuid;
  v_sent_at timestamptz;
  v_failed boolean;
  v_task public.tasks;
begin
  select n.channel, n.task_id into v_channel, v_task_id from public.notification_log n where n.id = p_notification;
  v_failed := (v_channel = 'whatsapp' and p_status in ('failed', 'undelivered'))
              or (v_channel = 'call' and p_status in ('no-answer', 'busy', 'failed', 'canceled'));
  -- Only a failure may move the ladder, and only then is the task locked (first: the order
  -- record_response locks task and notification in). Most callbacks (sent, delivered, read)
  -- touch the notification alone and never hold up a claim of the task.
  if v_failed then
    select t.* into v_task from public.tasks t where t.id = v_task_id for update;
  end if;
  update public.notification_log n
  set delivery_status = p_status, delivery_error_code = p_error_code, delivery_updated_at = flux.now()
  where n.id = p_notification
    and (n.delivery_status is null or (n.delivery_status < 'completed' and n.delivery_status < p_status))
  returning n.sent_at into v_sent_at;
  if not found then
    return 'stale';
  end if;
  if v_failed and flux.advance_after_failure(v_task, v_channel::text::public.escalation_stage, v_sent_at) then
    return 'advanced';
  end if;
  return 'recorded';
end
$$;

-- A provider's status callback. $1 the message or call SID, $2 Twilio's status, $3 its error code.
-- Returns what apply_delivery returns, or 'early' when the send is not recorded yet.
create function flux.record_delivery(p_external_id text, p_status text, p_error_code integer default null)
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_status public.delivery_status;
  v_notification uuid;
begin
  if p_external_id is null or p_status is null
     or p_status not in (select unnest(enum_range(null::public.delivery_status))::text) then
    raise exception 'record_delivery: unknown status % for %', p_status, p_external_id using errcode = 'invalid_parameter_value';
  end if;
  v_status := p_status::public.delivery_status;
  -- One SID at a time with the send's own record (finish_dispatches takes the same lock), so a
  -- callback is either applied to the notification or kept for finish_dispatches to apply,
  -- never left between the two.
  perform pg_catalog.pg_advisory_xact_lock(1685482614, pg_catalog.hashtext(p_external_id));
  select n.id into v_notification from public.notification_log n where n.external_id = p_external_id;
  if v_notification is null then
    insert into flux.delivery_events (external_id, status, error_code)
    values (p_external_id, v_status, p_error_code)
    on conflict do nothing;
    return 'early';
  end if;
  return flux.apply_delivery(v_notification, v_status, p_error_code);
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
  v_event record;
  v_failed record;
  v_task public.tasks;
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

  -- The sent SIDs are locked as record_delivery locks them, and before any task, as it does
  -- (in one order: no deadlock between two finishers, or with a callback).
  perform pg_catalog.pg_advisory_xact_lock(1685482614, pg_catalog.hashtext(x))
  from (select distinct x from unnest(p_external_ids) x where x is not null order by x) s;

  -- A WhatsApp or call the provider refused for good reached nobody: the next rung now.
  for v_failed in
    select d.task_id, d.channel, d.created_at from public.dispatch_log d
    join unnest(p_ids, p_outcomes) as i(id, outcome) on i.id = d.id
    where i.outcome = 'failed' and d.status = 'failed' and d.channel in ('whatsapp', 'call')
      and d.lease_owner = p_owner
    order by d.task_id
  loop
    select t.* into v_task from public.tasks t where t.id = v_failed.task_id for update;
    perform flux.advance_after_failure(v_task, v_failed.channel, v_failed.created_at);
  end loop;

  -- Status callbacks that arrived before this send was recorded (Twilio answers the API call
  -- and may call back at once) take effect now, in the order of their statuses.
  for v_event in
    select e.*, n.id as notification_id from flux.delivery_events e
    join public.notification_log n on n.external_id = e.external_id
    where e.external_id = any (p_external_ids)
    order by e.external_id, e.status
  loop
    perform flux.apply_delivery(v_event.notification_id, v_event.status, v_event.error_code);
    delete from flux.delivery_events e where e.external_id = v_event.external_id and e.status = v_event.status;
  end loop;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- WhatsApp's 24-hour window and opt-out

-- WhatsApp lets a business write freely only within 24 hours of the person's last message; any
-- other reminder must be an approved template. Both stamps belong to the number: a new number
-- clears them, as it clears verification and opt-in.
alter table public.users
  add column whatsapp_window_until timestamptz,
  add column whatsapp_opted_out_at timestamptz;

create or replace function flux.users_phone_changed() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.phone_verified := false;
  new.whatsapp_opt_in_at := null;
  new.whatsapp_window_until := null;
  new.whatsapp_opted_out_at := null;
  return new;
end
$$;

-- An inbound WhatsApp message from a verified number opens its window for 24 hours. Returns
-- whether the number belongs to a user.
create function flux.note_inbound_whatsapp(p_phone text) returns boolean
language plpgsql
set search_path = ''
as $$
begin
  update public.users u set whatsapp_window_until = flux.now() + interval '24 hours'
  where u.phone_number = p_phone and u.phone_verified;
  return found;
end
$$;

-- STOP: no more WhatsApp reminders to this number until its user opts in again in the app.
-- Returns whether a user's opt-in was withdrawn.
create function flux.whatsapp_opt_out(p_phone text) returns boolean
language plpgsql
set search_path = ''
as $$
begin
  update public.users u set whatsapp_opt_in_at = null, whatsapp_opted_out_at = flux.now()
  where u.phone_number = p_phone and u.phone_verified;
  return found;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Snooze

-- How often this reminder was snoozed (at most 3 times; a moved task keeps its count) and when
-- last: rungs the earlier ladder queued before that are not sent (claim_outbox).
alter table public.tasks
  add column snooze_count smallint not null default 0
    constraint tasks_snooze_count_check check (snooze_count between 0 and 3),
  add column snoozed_at timestamptz;

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
  v_snooze_until timestamptz;
begin
  if p_response is null or p_response not in ('done', 'missed', 'reschedule', 'acknowledge', 'snooze') then
    raise exception 'record_response: unknown response %', p_response using errcode = 'invalid_parameter_value';
  end if;
  -- A fourth snooze is refused before anything is written, its replays alike.
  if p_response = 'snooze'
     and (select t.snooze_count from public.tasks t where t.id = p_task_id and t.status = 'pending') >= 3 then
    return 'snooze_limit';
  end if;
  -- The task first: a receipt belongs to its task's user (flux.webhook_receipts_owner).
  select t.* into v_task from public.tasks t where t.id = p_task_id for update;
  if not found then
    raise exception 'record_response: no task %', p_task_id using errcode = 'no_data_found';
  end if;
  if p_provider_sid is not null then
    -- A webhook records every inbound message first (flux.receive_whatsapp: 'received'); the
    -- answer claims that receipt once. Any other receipt of the id is a replay.
    insert into flux.webhook_receipts (provider_sid, task_id, response)
    values (p_provider_sid, p_task_id, p_response)
    on conflict (provider_sid) do update set task_id = excluded.task_id, response = excluded.response
      where flux.webhook_receipts.response = 'received';
    if not found then
      return 'duplicate';
    end if;
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
    set response = (case p_response when 'acknowledge' then 'acknowledged' when 'snooze' then 'snoozed'
                    else p_response end)::public.reminder_response,
        responded_at = flux.now()
    where id = v_notification;
  end if;
  if p_moving then
    return 'recorded';
  end if;

  if p_response = 'snooze' then
    -- Reminded again in the user's snooze minutes: the ladder starts over from a push at that
    -- time (the person has just seen this reminder), and the task is due then unless it is due
    -- later anyway (a snooze never brings a task forward). What the old ladder queued is not
    -- sent: skipped here while no sender holds it, and by claim_outbox when it comes back.
    select flux.now() + make_interval(mins => coalesce((u.notification_preferences ->> 'snooze_minutes')::int, 10))
    into v_snooze_until
    from public.users u where u.id = v_task.user_id;
    update public.tasks t
    set scheduled_at = greatest(t.scheduled_at, v_snooze_until), snooze_count = t.snooze_count + 1,
        snoozed_at = flux.now()
    where t.id = p_task_id;
    update public.tasks t
    set escalation_stage = 'push', escalation_due_at = v_snooze_until
    where t.id = p_task_id;
    update public.dispatch_log d
    set status = 'skipped', error = 'snoozed', lease_until = null
    where d.task_id = p_task_id and d.status = 'pending' and (d.lease_until is null or d.lease_until < flux.now());
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

-- The app's answer to a reminder (the push notification's buttons): done, missed, reschedule,
-- snooze (or acknowledge). A snooze beyond the third is refused with PT409.
create or replace function public.respond_to_reminder(p_task_id uuid, p_response text) returns text
language plpgsql security definer set search_path = ''
as $$
declare
  v_uid uuid := auth.uid();
  v_result text;
begin
  if v_uid is null then
    raise exception 'respond_to_reminder: not signed in' using errcode = 'PT401';
  end if;
  if not exists (select 1 from public.tasks where id = p_task_id and user_id = v_uid) then
    raise exception 'respond_to_reminder: no task % for this user', p_task_id using errcode = 'PT404';
  end if;
  v_result := flux.record_response(p_task_id, p_response, 'push', null);
  if v_result = 'snooze_limit' then
    raise exception 'respond_to_reminder: this reminder was snoozed 3 times already'
      using errcode = 'PT409', hint = 'Answer done, reschedule or missed.';
  end if;
  return v_result;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Quiet hours

-- Preferences: snooze_minutes (1-240, default 10) and quiet_hours {start, end} (HH:MM, local;
-- default the profile's sleep window; start = end turns them off).
create or replace function flux.notification_preferences_ok(p jsonb) returns boolean
language sql immutable
set search_path = ''
as $$
  select jsonb_typeof(p) = 'object'
    and flux.json_int_in(p, 'reminder_lead_minutes', 0, 1440)
    and flux.json_int_in(p, 'escalation_window_minutes', 1, 240)
    and flux.json_int_in(p, 'snooze_minutes', 1, 240)
    and (not p ? 'escalation_policy' or p ->> 'escalation_policy' in ('full', 'gentle', 'silent'))
    and (not p ? 'quiet_hours'
         or coalesce(flux.is_hhmm(p #> '{quiet_hours,start}') and flux.is_hhmm(p #> '{quiet_hours,end}'), false))
$$;

-- Whether a WhatsApp or call rung is held back at p_now: now is in the user's quiet hours, in
-- their zone (so across DST changes too), and the task is not itself due in them (the person
-- asked for that time; a null p_due is not). One function for the claim's sake: it runs for every
-- WhatsApp and call rung, and each call of a function switches search_path twice.
create function flux.quiet_for(p_due timestamptz, p_now timestamptz, p_tz text, p_prefs jsonb, p_profile jsonb)
returns boolean
language sql stable
set search_path = ''
as $$
  select case when w.s is null or w.e is null or w.s = w.e then false
              else (case when w.s < w.e then l.now_t >= w.s and l.now_t < w.e else l.now_t >= w.s or l.now_t < w.e end)
                   and not coalesce(case when w.s < w.e then l.due_t >= w.s and l.due_t < w.e
                                         else l.due_t >= w.s or l.due_t < w.e end, false)
         end
  from (select coalesce(p_prefs #>> '{quiet_hours,start}', p_profile #>> '{sleep_window,start}')::time as s,
               coalesce(p_prefs #>> '{quiet_hours,end}', p_profile #>> '{sleep_window,end}')::time as e) w,
       (select (p_now at time zone p_tz)::time as now_t, (p_due at time zone p_tz)::time as due_t) l
$$;

-- Whether p_at falls in the user's quiet hours.
create function flux.in_quiet_hours(p_at timestamptz, p_tz text, p_prefs jsonb, p_profile jsonb) returns boolean
language sql stable
set search_path = ''
as $$ select flux.quiet_for(null, p_at, p_tz, p_prefs, p_profile) $$;

-- A backlog never sends a rung a later one has superseded: the claim takes a task to its latest
-- due rung in one step and writes nothing for the rungs it passes. (The lease used to skip all
-- but the latest row; a push leased before its task's auto-miss went out 26 ms after it.)

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

-- ---------------------------------------------------------------------------------------------
-- The outbox claim also tells the sender whether the person's WhatsApp window is open (free text)
-- or closed (a template), and how many snoozes are left (to offer one or not).
drop function flux.claim_outbox(integer, interval, text);
create function flux.claim_outbox(p_limit integer, p_lease interval, p_owner text)
returns table (id bigint, user_id uuid, task_id uuid, channel text, attempts integer, due_at timestamptz,
               task_title text, scheduled_at timestamptz, timezone text, phone_number text,
               push_subscriptions jsonb, offer_reschedule boolean, whatsapp_window_open boolean,
               snoozes_left integer)
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
         l.window_open, l.snoozes_left
  from leased l;
end
$$;

-- Service-side only, like everything in flux: nothing here is granted to the API roles.
revoke execute on all functions in schema flux from public;

-- The nightly purge also drops status callbacks that never met their send (a day is plenty:
-- Twilio calls back within seconds). pg_cron replaces a job scheduled again under its name.
do $$
begin
  if current_database() = current_setting('cron.database_name', true)
     and exists (select 1 from pg_catalog.pg_extension where extname = 'pg_cron') then
    perform cron.schedule('flux-outbox-purge', '17 3 * * *', $job$
      delete from public.dispatch_log where status <> 'pending' and created_at < flux.now() - interval '30 days';
      delete from flux.webhook_receipts where received_at < flux.now() - interval '7 days';
      delete from flux.delivery_events where received_at < flux.now() - interval '1 day';
    $job$);
  end if;
end
$$;
