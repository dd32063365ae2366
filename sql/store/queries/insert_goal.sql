-- A goal a turn creates. $1 id, $2 user, $3 title, $4 description, $5 tags, $6 status, $7 parent
-- ('': none), $8 pipeline order (0: none), $9 target weeks, $10 plan.
insert into public.goals (id, user_id, title, description, class_tags, status, parent_goal_id, pipeline_order, target_weeks, plan)
values ($1, $2, $3, nullif($4, ''), $5, $6, nullif($7, '')::uuid, nullif($8, 0), $9, $10)
