-- Replay guards of the user's inbound webhooks. They carry a task id but no user id and no foreign
-- key, so they are found through the user's tasks: before those are gone. $1: user id.
delete from flux.webhook_receipts r
using public.tasks t
where t.id = r.task_id and t.user_id = $1
