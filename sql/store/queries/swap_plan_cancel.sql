-- A plan swap cancels the goal's pending tasks from $3 on, except those shared with another
-- active goal. $1 goal, $2 user, $3 from.
update public.tasks t set status = 'cancelled'
where t.goal_id = $1 and t.user_id = $2 and t.status = 'pending' and t.scheduled_at >= $3
  and not exists (select 1 from public.goals g
                  where g.id = any (t.shared_with_goal_ids) and g.id <> $1 and g.status = 'active')
