-- Active top-level goals of a user (the cap of three counts these).
select count(*)::int from public.goals where user_id = $1 and status = 'active' and parent_goal_id is null
