-- Settled time tasks of the last 12 weeks with their goal's tags, for the pattern observer.
-- $1 user.
select t.scheduled_at, t.status = 'done', coalesce(g.class_tags, '{}')
from public.tasks t
left join public.goals g on g.id = t.goal_id
where t.user_id = $1 and t.status in ('done', 'missed') and t.trigger_type = 'time'
  and t.scheduled_at > flux.now() - interval '12 weeks' and t.scheduled_at <= flux.now()
order by t.scheduled_at desc
limit 1000
