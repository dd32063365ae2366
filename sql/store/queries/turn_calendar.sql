-- A user's booked time from a day ago to $2 (the planning horizon), for the slot finder.
-- $1 user, $2 until.
select t.id::text, t.title, t.scheduled_at, t.duration_minutes, t.status, coalesce(t.goal_id::text, '')
from public.tasks t
where t.user_id = $1 and t.status in ('pending', 'rescheduled')
  and t.scheduled_at > flux.now() - interval '1 day' and t.scheduled_at < $2
order by t.scheduled_at
