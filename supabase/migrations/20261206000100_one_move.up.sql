-- One move of a task, for the app and the chat agent. public.confirm_reschedule moved pending or
-- missed tasks; the chat agent (store.ApplyTurn) moved pending or rescheduled ones with its own
-- statement, and recorded no answer on the reminder it made moot. Both now call flux.move_task.

-- Moves p_user_id's task p_task_id to p_at (named p_name in errors) and returns it:
--   * the task must be the user's (PT404 otherwise) and open for a move (PT409 otherwise):
--     pending; missed (the app's "reschedule" tries a missed task again, and a task answered
--     "reschedule" is auto-missed at the end of its day if the move comes later); or rescheduled
--     (an open status: the calendar, the free-slot search and the conflicts count it, so it must
--     not be stuck). Done and cancelled tasks stay where they are;
--   * p_at follows flux.check_reschedule_at (22023: not a time in the future, or more than a
--     year away);
--   * a pending task's latest unanswered reminder records "reschedule" (no agent run is queued:
--     this is the move);
--   * the task becomes pending at p_at with a fresh ladder (the tasks_escalation trigger), and a
--     location task becomes a time task, or the trigger would start no ladder for it.
-- Not a definer: its callers are the service and confirm_reschedule, which is one.
--
-- flux.check_movable is the status rule alone, which propose_reschedule checks too.
create function flux.check_movable(p_task public.tasks, p_name text) returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_task.status not in ('pending', 'missed', 'rescheduled') then
    raise exception '%: task % is %', p_name, p_task.id, p_task.status
      using errcode = 'PT409', hint = 'Only a pending, missed or rescheduled task can be moved.';
  end if;
end
$$;
revoke execute on function flux.check_movable(public.tasks, text) from public;

create function flux.move_task(p_user_id uuid, p_task_id uuid, p_at timestamptz, p_name text)
returns public.tasks
language plpgsql
set search_path = ''
as $$
declare
  v_task public.tasks := flux.own_task(p_user_id, p_task_id, p_name);
begin
  perform flux.check_movable(v_task, p_name);
  perform flux.check_reschedule_at(p_at, p_name);
  if v_task.status = 'pending' then
    perform flux.record_response(p_task_id, 'reschedule', null, null, p_moving => true);
  end if;
  update public.tasks t set scheduled_at = p_at, status = 'pending', trigger_type = 'time', location_trigger = null
  where t.id = p_task_id
  returning t.* into v_task;
  return v_task;
end
$$;
revoke execute on function flux.move_task(uuid, uuid, timestamptz, text) from public;

create or replace function public.confirm_reschedule(p_task_id uuid, p_at timestamptz) returns public.tasks
language plpgsql security definer
set search_path = ''
as $$
begin
  return flux.move_task(flux.begin_action('confirm_reschedule'), p_task_id, p_at, 'confirm_reschedule');
end
$$;
comment on function public.confirm_reschedule(uuid, timestamptz) is
  'Move a pending, missed or rescheduled task to a confirmed future time; its reminders start again.';

-- Proposing a time follows the same status rule as the move (it refused a rescheduled task the
-- move accepts). Only the status check changes.
create or replace function public.propose_reschedule(p_task_id uuid, p_at timestamptz default null) returns jsonb
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
  perform flux.check_movable(v_task, 'propose_reschedule');
  if p_at is not null then
    perform flux.check_reschedule_at(p_at, 'propose_reschedule');
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
