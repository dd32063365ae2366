-- A user's open goals (active and waiting in a pipeline), for routing and the goal modifier.
-- $1 user.
select g.id::text, g.title, g.status, g.class_tags, coalesce(g.parent_goal_id::text, ''),
       coalesce(g.pipeline_order, 0), coalesce(g.plan, 'null'::jsonb)
from public.goals g
where g.user_id = $1 and g.status in ('active', 'pipeline')
order by g.created_at, g.pipeline_order nulls first
limit 50
