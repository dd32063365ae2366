-- Escalation deadlines up to a horizon, earliest first. $1: horizon end, $2: limit.
select id::text, escalation_due_at
from public.tasks
where escalation_due_at <= $1 and status = 'pending' -- the index's condition
order by escalation_due_at
limit $2
