-- Escalation: the reminder ladder of SPEC.md as a state machine owned by SQL.
--
-- T is a task's due time. Each stage has a fixed rung: push at T - lead, WhatsApp at T + window,
-- call at T + 2 windows, auto-miss at T + 3 windows. A task's policy (snapshot of the user's
-- preference when the task is created) picks the stages: full = all four, gentle = push,
-- WhatsApp, auto-miss, silent = push, auto-miss. tasks.escalation_stage/escalation_due_at hold
-- the next rung; triggers set them from the due time and clear them when the task leaves pending.
--
-- flux.claim_escalations() takes everything due in one transaction per batch (FOR UPDATE SKIP
-- LOCKED): it advances each task one rung, stamps the channel's sent-at, writes the outbox row
-- (dispatch_log) and auto-misses at the last rung, so no stage can fire twice. A stage whose
-- channel is unavailable when it falls due is skipped without shifting the later rungs.
-- Workers then take outbox rows with flux.claim_outbox() (a lease, so a crashed worker's rows
-- come back) and record the outcome with flux.finish_dispatch(). Responses from any channel go
-- through flux.record_response(), which stops the ladder in the same transaction.

-- The time warp is for local development only: `flux migrate --local` allows it.
alter table flux.clock add column warp_allowed boolean not null default false;

create function flux.set_time_warp(p_warp interval) returns timestamptz
language plpgsql
as $$
begin
  if not (select warp_allowed from flux.clock) then
    raise exception 'time warp is disabled: it exists only on local development databases'
      using errcode = 'insufficient_privilege';
  end if;
  update flux.clock set warp = p_warp;
  -- The service reads the same offset; tell it to reload.
  perform pg_notify('flux_clock', p_warp::text);
  return flux.now();
end
$$;

-- Outbox: a lease for the worker that took a row, the earliest next attempt, and 'skipped' for
-- rows collapsed after downtime (their task was answered, or a later rung superseded them).
alter table public.dispatch_log
  -- When the rung fell due: the lag to dispatched_at is how late the reminder went out.
  add column due_at timestamptz,
  add column next_attempt_at timestamptz not null default flux.now(),
  add column lease_until timestamptz,
  add column lease_owner text constraint dispatch_log_lease_owner_length check (char_length(lease_owner) <= 100),
  drop constraint dispatch_log_status_check,
  add constraint dispatch_log_status_check check (status in ('pending', 'dispatched', 'failed', 'skipped')),
  -- Room on each page, so the lease (attempts, lease_until, lease_owner: none indexed) is a HOT
  -- update in place rather than a new row version with an entry in each of the four indexes.
  set (fillfactor = 70);
drop index public.dispatch_log_pending_idx;
-- In the order workers take rows, so a lease reads the first rows of the index and stops
-- (without id, every lease sorted the whole backlog: the benchmark found it).
create index dispatch_log_pending_idx on public.dispatch_log (next_attempt_at, id) where status = 'pending';

-- An explicit acknowledgement (a tap on the push, say) stops the ladder without a verdict.
alter table public.notification_log
  drop constraint notification_log_response_check,
  add constraint notification_log_response_check
    check (response in ('done', 'reschedule', 'missed', 'no_response', 'acknowledged'));
create index notification_log_task_channel_idx on public.notification_log (task_id, channel, sent_at desc);
-- Its leading column serves lookups and cascades by task: the single-column index is redundant,
-- and every logged send paid for both.
drop index public.notification_log_task_idx;
-- WhatsApp replies are matched to their reminder by the sender's number.
create index users_phone_number_idx on public.users (phone_number) where phone_number is not null;

-- Replayed webhooks: the provider's id of every processed inbound event (MessageSid, or CallSid
-- plus digits), kept a week.
create table flux.webhook_receipts (
  provider_sid text primary key check (char_length(provider_sid) between 1 and 100),
  task_id uuid,
  response text not null,
  received_at timestamptz not null default flux.now()
);
create index webhook_receipts_received_idx on flux.webhook_receipts (received_at);
revoke all on flux.webhook_receipts from public, anon, authenticated;

-- The policy is snapshotted by the trigger below (the service may still set one explicitly).
alter table public.tasks alter column escalation_policy drop default;

create function flux.policy_stages(p_policy text) returns text[]
language sql immutable
as $$
  select case p_policy
    when 'full' then array['push', 'whatsapp', 'call', 'auto_miss']
    when 'gentle' then array['push', 'whatsapp', 'auto_miss']
    when 'silent' then array['push', 'auto_miss']
  end
$$;

create function flux.next_stage(p_policy text, p_stage text) returns text
language sql immutable
as $$ select (flux.policy_stages(p_policy))[array_position(flux.policy_stages(p_policy), p_stage) + 1] $$;

create function flux.lead_time(p_prefs jsonb) returns interval
language sql immutable
as $$ select make_interval(mins => coalesce((p_prefs ->> 'reminder_lead_minutes')::int, 10)) $$;

create function flux.escalation_window(p_prefs jsonb) returns interval
language sql immutable
as $$ select make_interval(mins => coalesce((p_prefs ->> 'escalation_window_minutes')::int, 2)) $$;

-- The rung of a stage for a task due at p_due.
create function flux.stage_due(p_stage text, p_due timestamptz, p_prefs jsonb) returns timestamptz
language sql immutable
as $$
  select case p_stage
    when 'push' then p_due - flux.lead_time(p_prefs)
    when 'whatsapp' then p_due + flux.escalation_window(p_prefs)
    when 'call' then p_due + 2 * flux.escalation_window(p_prefs)
    when 'auto_miss' then p_due + 3 * flux.escalation_window(p_prefs)
  end
$$;

-- Ladder state follows the task: snapshot the policy on insert, start at the push rung when a
-- time task becomes pending or moves, clear everything when it leaves pending. A moved task gets
-- a fresh ladder, so its sent-at stamps are cleared too. Location tasks start their ladder when
-- their trigger fires (not here).
create function flux.tasks_escalation() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  prefs jsonb;
begin
  select u.notification_preferences into prefs from public.users u where u.id = new.user_id;
  if tg_op = 'INSERT' and new.escalation_policy is null then
    new.escalation_policy := coalesce(prefs ->> 'escalation_policy', 'full');
  end if;

  if new.status <> 'pending' then
    new.escalation_stage := null;
    new.escalation_due_at := null;
  elsif new.trigger_type = 'time' and new.scheduled_at is not null
        and (tg_op = 'INSERT'
             or old.status <> 'pending'
             or old.scheduled_at is distinct from new.scheduled_at) then
    new.escalation_stage := 'push';
    new.escalation_due_at := flux.stage_due('push', new.scheduled_at, prefs);
    if tg_op = 'UPDATE' then
      new.reminder_sent_at := null;
      new.whatsapp_sent_at := null;
      new.call_sent_at := null;
    end if;
  end if;
  return new;
end
$$;

create trigger tasks_escalation before insert or update of status, scheduled_at on public.tasks
  for each row execute function flux.tasks_escalation();

-- New lead or window: the open rungs of the user's pending tasks move with it (a fired
-- location task's by its own rule). A time task's rung that is not where the old preferences
-- put it was held there on purpose (a reschedule answer's end-of-day auto-miss, see
-- flux.record_response) and keeps its time.
create function flux.users_preferences_changed() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  update public.tasks t
  set escalation_due_at = case when t.trigger_type = 'location'
                               then flux.location_rung_due(t.escalation_stage, t.scheduled_at, new.notification_preferences)
                               else flux.stage_due(t.escalation_stage, t.scheduled_at, new.notification_preferences) end
  where t.user_id = new.id and t.status = 'pending' and t.escalation_stage is not null and t.scheduled_at is not null
    and (t.trigger_type = 'location'
         or t.escalation_due_at = flux.stage_due(t.escalation_stage, t.scheduled_at, old.notification_preferences));
  return null;
end
$$;

create trigger users_preferences_changed after update of notification_preferences on public.users
  for each row when (old.notification_preferences is distinct from new.notification_preferences)
  execute function flux.users_preferences_changed();

-- The ladder's next rung for a location task: its last rung (auto-miss) is a restart 2 hours
-- after the trigger fired instead.
create function flux.location_rung_due(p_stage text, p_fired timestamptz, p_prefs jsonb) returns timestamptz
language sql immutable
as $$
  select case when p_stage = 'auto_miss' then p_fired + interval '2 hours'
              else flux.stage_due(p_stage, p_fired, p_prefs) end
$$;

-- The claims must take their batch from an ordered index scan that stops after p_limit rows.
-- Right after a burst the tables' statistics still describe them with nothing waiting, and the
-- planner then took a bitmap of every waiting row, joined and sorted them all to keep the first
-- few: 20-40 ms per call with ten thousand rows waiting, a quadratic drain (the benchmark found
-- it; after downtime a production outbox is in exactly that state). Sorts and bitmaps are ruled
-- out where no plan needs them: here, for the due tasks, and in claim_outbox.
--
-- lock_due_tasks locks a batch of due tasks (rows a concurrent claimer holds are skipped, not
-- waited for). It is a statement of its own so that the rest of the claim, and the triggers an
-- auto-miss fires, are planned normally; the claim's next statement takes a newer snapshot, so
-- it reads the rows as locked.
create function flux.lock_due_tasks(p_now timestamptz, p_limit integer) returns setof uuid
language sql
set enable_sort = off
set enable_bitmapscan = off
as $$
  select t.id from public.tasks t
  where t.escalation_due_at <= p_now and t.status = 'pending'
  order by t.escalation_due_at
  limit p_limit
  for update skip locked
$$;

-- Claim one batch of due rungs. Returns the number of rungs taken; callers repeat while a full
-- batch comes back.
create function flux.claim_escalations(p_limit integer default 1000) returns integer
language plpgsql
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
           case when s.stage = 'auto_miss' then 'dispatched' else 'pending' end,
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

-- Everything due, batch after batch: what pg_cron runs every minute as the safety net.
create function flux.sweep_escalations() returns integer
language plpgsql
as $$
declare
  v_total integer := 0;
  v_batch integer;
begin
  loop
    v_batch := flux.claim_escalations(1000);
    v_total := v_total + v_batch;
    exit when v_batch < 1000;
  end loop;
  return v_total;
end
$$;

-- Take outbox rows for sending. Rows of tasks that are no longer pending, and rungs superseded by
-- a later rung of the same task, are collapsed to 'skipped' instead: after downtime nothing is
-- sent for an answered task, and a backlog sends at most the latest rung. The lease brings a row
-- back if its worker dies before recording the outcome. It returns everything a sender needs:
-- a query wrapped around it that read the tables again would see them through an older snapshot
-- than the function's and could miss a row committed just before the claim (leased, never
-- returned, stuck until its lease ran out; the benchmark found it).
create function flux.claim_outbox(p_limit integer, p_lease interval, p_owner text)
returns table (id bigint, user_id uuid, task_id uuid, channel text, attempts integer, due_at timestamptz,
               task_title text, scheduled_at timestamptz, timezone text, phone_number text,
               push_subscriptions jsonb, offer_reschedule boolean)
language plpgsql
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
    returning d.id, d.user_id, d.task_id, d.channel, d.attempts, d.due_at,
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

-- Record what happened to sends, many at once (one statement for a batch of workers' results).
-- outcome: 'sent' (notification_log gets the provider's id), 'retry' (back to pending at its
-- retry time), 'failed' (permanent, with its error). Only the lease holder's outcome counts, so
-- a worker whose lease expired cannot overwrite its successor's. Returns the ids recorded.
create function flux.finish_dispatches(p_owner text, p_ids bigint[], p_outcomes text[],
                                       p_external_ids text[], p_errors text[], p_retry_at timestamptz[])
returns setof bigint
language plpgsql
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
    set status = case i.outcome when 'sent' then 'dispatched' when 'retry' then 'pending' else 'failed' end,
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
    select done.user_id, done.task_id, done.channel, done.external_id, v_now from done where done.outcome = 'sent'
    on conflict (external_id) do nothing
  )
  select done.id from done;
end
$$;

-- One send's outcome (for scripts and tests): true when recorded.
create function flux.finish_dispatch(p_id bigint, p_owner text, p_outcome text,
                                     p_external_id text default null, p_error text default null,
                                     p_retry_at timestamptz default null)
returns boolean
language sql
as $$
  select exists (select 1 from flux.finish_dispatches(p_owner, array[p_id], array[p_outcome],
                                                      array[p_external_id], array[p_error], array[p_retry_at]))
$$;

-- The one way a response reaches a task, whatever its channel: WhatsApp and voice webhooks, the
-- push notification's action buttons, RPCs. In one transaction it records the answer on the
-- latest notification, settles the task (done / missed) or stops its ladder (reschedule,
-- acknowledge), so no rung fires after it. p_provider_sid makes a replayed webhook a no-op.
-- Returns 'recorded', 'duplicate' (that provider event was already processed) or 'not_pending'
-- (the task was already settled; nothing changes).
--
-- "Reschedule" asks for a new time, so it must lead somewhere: the ladder of a time task is held
-- at its auto-miss rung, due at the end of the task's local day (or one normal auto-miss distance
-- from now, when that is later). claim_escalations then misses it exactly as the full ladder
-- would, unless a move restarts the ladder first (the tasks_escalation trigger sets the push rung
-- of the new time). The same transaction queues an agent run that proposes the nearest free slot
-- in chat (action reschedule_task), unless one is already waiting for this task. A location task
-- is only stopped, as before: its next trigger arms it again. p_moving: the caller moves the task
-- itself in this transaction (confirm_reschedule), so only the answer is recorded here.
create function flux.record_response(p_task_id uuid, p_response text,
                                     p_channel text default null, p_provider_sid text default null,
                                     p_moving boolean default false)
returns text
language plpgsql
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
  where n.task_id = p_task_id and n.response is null and (p_channel is null or n.channel = p_channel)
  order by n.sent_at desc
  limit 1;
  if v_notification is not null then
    update public.notification_log
    set response = case p_response when 'acknowledge' then 'acknowledged' else p_response end,
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
      escalation_stage = case when v_hold is not null then 'auto_miss' end,
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

-- The push notification's buttons (done / reschedule / missed) and an explicit acknowledgement,
-- for the signed-in user: the same path as the webhooks, behind an ownership check.
create function public.respond_to_reminder(p_task_id uuid, p_response text) returns text
language plpgsql security definer set search_path = ''
as $$
declare
  v_uid uuid := auth.uid();
begin
  if v_uid is null then
    raise exception 'respond_to_reminder: not signed in' using errcode = 'PT401';
  end if;
  if not exists (select 1 from public.tasks where id = p_task_id and user_id = v_uid) then
    raise exception 'respond_to_reminder: no task % for this user', p_task_id using errcode = 'PT404';
  end if;
  return flux.record_response(p_task_id, p_response, 'push', null);
end
$$;
revoke execute on function public.respond_to_reminder(uuid, text) from public, anon;
grant execute on function public.respond_to_reminder(uuid, text) to authenticated, service_role;

-- Which of the given users still have a free slot today, so a WhatsApp reminder offers
-- "2 reschedule" only when rescheduling can succeed. A slot is p_minutes starting on a quarter
-- hour, after now and ending by the end of the user's local day (or their bedtime, if earlier),
-- clear of every pending task with the 15-minute buffer the planner keeps. The planner's slot
-- finder makes the actual proposal; this only decides whether to offer. It runs for every
-- WhatsApp reminder, so it is one pass over the batch's users' tasks around today: the gaps
-- between their busy intervals. claim_outbox calls it once per batch with its one reading of
-- the clock (per row, the call and the clock cost more than the leasing itself).
-- (The profile CHECK guarantees the bedtime is HH:MM when present.)
create function flux.users_with_free_slot(p_users uuid[], p_minutes integer, p_now timestamptz)
returns setof uuid
language sql stable
-- Its windows need sorts; claim_outbox, its caller, turns sorts and bitmaps off.
set enable_sort = on
set enable_bitmapscan = on
as $$
  with bounds as (
    select u.id, date_bin(interval '15 minutes', p_now, timestamptz '2000-01-01') + interval '15 minutes' as first_start,
           least(((p_now at time zone u.tz)::date + 1)::timestamp,
                 coalesce(case when ((p_now at time zone u.tz)::date + u.bedtime::time) > (p_now at time zone u.tz)
                               then (p_now at time zone u.tz)::date + u.bedtime::time end,
                          'infinity'::timestamp)) at time zone u.tz as day_end
    from (select id, timezone as tz, profile #>> '{sleep_window,start}' as bedtime
          from public.users where id = any (p_users)) u
  ),
  busy as ( -- on the timeline: a task with its buffer on both sides
    select b.id as user_id, t.scheduled_at - interval '15 minutes' as s,
           t.scheduled_at + make_interval(mins => t.duration_minutes + 15) as e
    from bounds b
    join public.tasks t on t.user_id = b.id
    where t.status in ('pending', 'rescheduled')
      and t.scheduled_at > b.first_start - interval '1 day 15 minutes' -- durations are at most a day
      and t.scheduled_at < b.day_end + interval '15 minutes'
      -- Ended before the first candidate slot: blocks nothing. Reminders go out around tasks
      -- that are due or overdue, so this drops most of what the index range brings.
      and t.scheduled_at + make_interval(mins => t.duration_minutes + 15) > b.first_start
  ),
  gaps as ( -- each gap opens when everything before it has ended and closes at the next start
    select user_id, coalesce(max(e) over w, '-infinity'::timestamptz) as opens, s as closes
    from busy window w as (partition by user_id order by s rows between unbounded preceding and 1 preceding)
    union all
    select b.id, coalesce(max(busy.e), '-infinity'::timestamptz), 'infinity'::timestamptz
    from bounds b left join busy on busy.user_id = b.id
    group by b.id
  )
  select distinct g.user_id
  from gaps g
  join bounds b on b.id = g.user_id,
       lateral (select date_bin(interval '15 minutes', greatest(g.opens, b.first_start) + interval '15 minutes' - interval '1 microsecond',
                                timestamptz '2000-01-01') as start) c
  where c.start + make_interval(mins => p_minutes) <= least(g.closes, b.day_end)
$$;

-- The same question for one user (tests, scripts).
create function flux.free_slot_today(p_user uuid, p_minutes integer default 30, p_now timestamptz default flux.now())
returns boolean
language sql stable
as $$ select exists (select 1 from flux.users_with_free_slot(array[p_user], p_minutes, p_now)) $$;

-- Nothing here is for API callers except the wrapper above.
revoke execute on all functions in schema flux from public;

-- pg_cron: the safety-net sweep every minute, and the outbox purge. pg_cron lives in exactly one
-- database (cron.database_name: "postgres" on Supabase and in `flux dev`); elsewhere (the test
-- databases) the jobs are not scheduled and the service's own timers do the work.
do $$
begin
  if current_database() = current_setting('cron.database_name', true) then
    create extension if not exists pg_cron;
    perform cron.schedule('flux-escalation-sweep', '* * * * *', 'select flux.sweep_escalations()');
    perform cron.schedule('flux-outbox-purge', '17 3 * * *', $job$
      delete from public.dispatch_log where status <> 'pending' and created_at < flux.now() - interval '30 days';
      delete from flux.webhook_receipts where received_at < flux.now() - interval '7 days';
    $job$);
  else
    raise notice 'pg_cron runs in database %, not %: escalation jobs not scheduled here',
      coalesce(current_setting('cron.database_name', true), '(none)'), current_database();
  end if;
end
$$;
