-- When the earliest open rung of any task falls (or fell) due; null when no ladder is open.
select min(escalation_due_at) from public.tasks where escalation_due_at is not null and status = 'pending'
