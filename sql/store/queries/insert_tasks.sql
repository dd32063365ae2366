-- The tasks a turn creates, in one statement (a plan approval writes dozens). $1 user, then one
-- array per column: $2 goal ('': none), $3 title, $4 description, $5 time, $6 minutes, $7 rule.
insert into public.tasks (user_id, goal_id, title, description, scheduled_at, duration_minutes, recurrence_rule)
select $1, nullif(g, '')::uuid, ti, nullif(d, ''), a, m, nullif(r, '')
from unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::int[], $7::text[]) as x(g, ti, d, a, m, r)
