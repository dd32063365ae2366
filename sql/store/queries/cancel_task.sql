-- A confirmed cancellation of one open task. $1 task, $2 user.
update public.tasks set status = 'cancelled'
where id = $1 and user_id = $2 and status in ('pending', 'rescheduled')
