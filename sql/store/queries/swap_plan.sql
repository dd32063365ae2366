-- A plan swap's new plan for an active goal of the user. $1 goal, $2 user, $3 plan, $4 title,
-- $5 description ('': none), $6 tags.
update public.goals set plan = $3, title = $4, description = nullif($5, ''), class_tags = $6
where id = $1 and user_id = $2 and status = 'active'
