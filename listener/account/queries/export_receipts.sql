-- The user's webhook receipts (their replies to reminders), one JSON object per row; see
-- delete_receipts.sql for why they are found through the tasks. $1: user id.
select to_jsonb(r)
from flux.webhook_receipts r
where r.task_id in (select t.id from public.tasks t where t.user_id = $1)
order by r.received_at, r.provider_sid
