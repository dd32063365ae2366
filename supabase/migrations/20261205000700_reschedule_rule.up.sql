-- One rule for the time a task moves to, in one place: proposing, confirming and the agents'
-- reschedule all check it. propose_reschedule accepted infinity and times years ahead that
-- confirm_reschedule then refused.
create function flux.check_reschedule_at(p_at timestamptz, p_name text) returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_at is null or not pg_catalog.isfinite(p_at) or p_at <= flux.now() then
    raise exception '%: % is not a time in the future', p_name, coalesce(p_at::text, 'null')
      using errcode = '22023', hint = 'Pick a time in the future, within a year (propose_reschedule suggests one).';
  end if;
  if p_at > flux.now() + interval '1 year' then
    raise exception '%: % is more than a year away', p_name, p_at
      using errcode = '22023', hint = 'Pick a time within a year.';
  end if;
end
$$;
revoke execute on function flux.check_reschedule_at(timestamptz, text) from public;

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
  if v_task.status not in ('pending', 'missed') then
    raise exception 'propose_reschedule: task % is %', p_task_id, v_task.status
      using errcode = 'PT409', hint = 'Only a pending or missed task can be rescheduled.';
  end if;
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

create or replace function public.confirm_reschedule(p_task_id uuid, p_at timestamptz) returns public.tasks
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
  perform flux.check_reschedule_at(p_at, 'confirm_reschedule');
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
