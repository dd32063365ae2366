-- Hardening found by the adversarial webhook suite (listener/webhook/adversarial_test.go).
--
-- A refused fourth snooze wrote no receipt. Its WhatsApp message's receipt stayed 'received'
-- (taken up again by a replay, as after a crash half-way), so a replay of the "4", however late,
-- was handled as new: it snoozed whatever reminder waited by then, or settled the receipt as
-- something else. A call's keypress had no receipt at all, and its replay wrote one once the task
-- was settled. Now the refusal is recorded like any answer: the receipt says 'snooze_limit', and
-- its replays change nothing. The app's answers (no provider id) still write nothing.
-- The function is 20261205000400_reminders' but for that branch.

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
  -- A fourth snooze is refused, and changes nothing but its receipt: the provider's id is
  -- recorded as refused (claiming the 'received' receipt of a WhatsApp message), so that a replay
  -- is a replay whenever it comes, and never snoozes the reminder that waits by then.
  if p_response = 'snooze'
     and (select t.snooze_count from public.tasks t where t.id = p_task_id and t.status = 'pending') >= 3 then
    if p_provider_sid is not null then
      insert into flux.webhook_receipts (provider_sid, task_id, response)
      values (p_provider_sid, p_task_id, 'snooze_limit')
      on conflict (provider_sid) do update set task_id = excluded.task_id, response = excluded.response
        where flux.webhook_receipts.response = 'received';
    end if;
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
