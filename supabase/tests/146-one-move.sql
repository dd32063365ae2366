-- One move of a task (flux.move_task): the app's confirm_reschedule and the chat agent's move
-- (the service calls the function, as store.ApplyTurn does) accept the same tasks and times,
-- refuse the same, and change the task the same way.
begin;
set local search_path = extensions, public, tests;
select plan(9);

select tests.create_user('mo');
select tests.create_user('zoe');

-- One task per path and status, numbered: 1xx the app's, 2xx the service's.
insert into tasks (id, user_id, title, scheduled_at, status)
select format('00000000-0000-4000-8000-000000146%s%s', p.n, s.n)::uuid, tests.uid('mo'), s.status || ' task',
       now() + interval '2 hours', s.status::task_status
from (values (1), (2)) p(n),
     (values ('01', 'pending'), ('02', 'missed'), ('03', 'rescheduled'), ('04', 'done'), ('05', 'cancelled')) s(n, status);
-- A location task, a pending task with a reminder waiting for its answer, and zoe's task.
insert into tasks (id, user_id, title, trigger_type, location_trigger)
select format('00000000-0000-4000-8000-000000146%s06', n)::uuid, tests.uid('mo'), 'at the gym', 'location',
       '{"place": "gym", "event": "arrive"}'
from generate_series(1, 2) n;
insert into tasks (id, user_id, title, scheduled_at)
select format('00000000-0000-4000-8000-000000146%s07', n)::uuid, tests.uid('mo'), 'reminded', now() + interval '5 minutes'
from generate_series(1, 2) n;
insert into notification_log (user_id, task_id, channel, sent_at)
select tests.uid('mo'), format('00000000-0000-4000-8000-000000146%s07', n)::uuid, 'push', now() - interval '5 minutes'
from generate_series(1, 2) n;
insert into tasks (id, user_id, title, scheduled_at)
values ('00000000-0000-4000-8000-000000146009', tests.uid('zoe'), 'not yours', now() + interval '2 hours');

-- A move through the app (p_via 1: mo signed in) or the service (2): 'moved', or the SQLSTATE
-- it raised. p_task: the path's task xx, or task xxx.
create function pg_temp.move(p_via int, p_task text, p_at timestamptz) returns text
language plpgsql as $$
declare
  v_task uuid := format('00000000-0000-4000-8000-000000146%s',
                        case when length(p_task) = 2 then p_via || p_task else p_task end)::uuid;
begin
  if p_via = 1 then
    perform tests.authenticate_as('mo');
    perform public.confirm_reschedule(v_task, p_at);
    perform tests.clear_authentication();
  else
    perform flux.move_task(tests.uid('mo'), v_task, p_at, 'reschedule');
  end if;
  return 'moved';
exception when others then
  return sqlstate;
end
$$;

-- Proposing a time (which changes nothing) accepts the tasks a move accepts.
create function pg_temp.propose(p_task text) returns text
language plpgsql as $$
begin
  perform tests.authenticate_as('mo');
  perform public.propose_reschedule(format('00000000-0000-4000-8000-0000001461%s', p_task)::uuid, now() + interval '1 day');
  perform tests.clear_authentication();
  return 'proposed';
exception when others then
  return sqlstate;
end
$$;
select results_eq(
  $$ select s.status, pg_temp.propose(s.n)
     from (values ('01', 'pending'), ('02', 'missed'), ('03', 'rescheduled'), ('04', 'done'), ('05', 'cancelled')) s(n, status)
     order by s.n $$,
  $$ values ('pending', 'proposed'), ('missed', 'proposed'), ('rescheduled', 'proposed'),
            ('done', 'PT409'), ('cancelled', 'PT409') $$,
  'propose_reschedule proposes for the tasks a move accepts, and refuses the others with PT409');

select results_eq(
  $$ select s.status, pg_temp.move(1, s.n, now() + interval '1 day'), pg_temp.move(2, s.n, now() + interval '1 day')
     from (values ('01', 'pending'), ('02', 'missed'), ('03', 'rescheduled'), ('04', 'done'), ('05', 'cancelled')) s(n, status)
     order by s.n $$,
  $$ values ('pending', 'moved', 'moved'), ('missed', 'moved', 'moved'), ('rescheduled', 'moved', 'moved'),
            ('done', 'PT409', 'PT409'), ('cancelled', 'PT409', 'PT409') $$,
  'the app and the service move a pending, missed or rescheduled task, and refuse a done or cancelled one with PT409');
select results_eq(
  $$ select count(*)::int, bool_and(status = 'pending' and scheduled_at > now() + interval '23 hours'
                                    and escalation_stage = 'push')
     from tasks where title in ('pending task', 'missed task', 'rescheduled task') $$,
  $$ values (6, true) $$,
  'each moved task is pending at its new time, with a fresh ladder');

select results_eq(
  $$ select what, pg_temp.move(1, '07', at), pg_temp.move(2, '07', at)
     from (values (1, 'a time in the past', now() - interval '1 minute'), (2, 'now', now()), (3, 'infinity', 'infinity'),
                  (4, '-infinity', '-infinity'), (5, 'two years ahead', now() + interval '2 years'), (6, 'no time', null))
          ts(n, what, at)
     order by n $$,
  $$ values ('a time in the past', '22023', '22023'), ('now', '22023', '22023'), ('infinity', '22023', '22023'),
            ('-infinity', '22023', '22023'), ('two years ahead', '22023', '22023'), ('no time', '22023', '22023') $$,
  'both refuse a time that is not in the future, not finite, or more than a year away');
select results_eq(
  $$ select pg_temp.move(1, '009', now() + interval '1 day'), pg_temp.move(2, '009', now() + interval '1 day') $$,
  $$ values ('PT404', 'PT404') $$,
  'both refuse another user''s task with PT404');

select results_eq(
  $$ select pg_temp.move(1, '06', now() + interval '1 day'), pg_temp.move(2, '06', now() + interval '1 day') $$,
  $$ values ('moved', 'moved') $$,
  'both move a location task to a time');
select results_eq(
  $$ select trigger_type::text, location_trigger is null, escalation_stage::text from tasks where title = 'at the gym' $$,
  $$ values ('time', true, 'push'), ('time', true, 'push') $$,
  'a location task moved to a time becomes a time task, with a time ladder');

select results_eq(
  $$ select pg_temp.move(1, '07', now() + interval '1 day'), pg_temp.move(2, '07', now() + interval '1 day') $$,
  $$ values ('moved', 'moved') $$,
  'both move a task whose reminder waits for an answer');
select results_eq(
  $$ select (select array_agg(response::text) from notification_log where task_id::text like '%146_07'),
            (select count(*)::int from messages where user_id = tests.uid('mo') and metadata ->> 'action' = 'reschedule_task') $$,
  $$ values (array['reschedule', 'reschedule'], 0) $$,
  'both record "reschedule" on the waiting reminder, and ask the agents for no proposal');

select * from finish();
rollback;
