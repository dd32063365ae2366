-- Outbox rows waiting to be sent, and how late the oldest one is.
select count(*), coalesce(extract(epoch from flux.now() - min(next_attempt_at)), 0)::float8
from public.dispatch_log
where status = 'pending'
