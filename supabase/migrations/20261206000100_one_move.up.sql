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
create function flux.move_task(p_user_id uuid, p_task_id uuid, p_at timestamptz, p_name text)
returns public.tasks
language plpgsql
set search_path = ''
as $$
declare
  v_task public.tasks := flux.own_task(p_user_id, p_task_id, p_name);
begin
  if v_task.status not in ('pending', 'missed', 'rescheduled') then
    raise exception '%: task % is %', p_name, p_task_id, v_task.status
      using errcode = 'PT409', hint = 'Only a pending, missed or rescheduled task can be moved.';
  end if;
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
