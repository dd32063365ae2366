-- The task a WhatsApp reply answers: the latest WhatsApp reminder to that number that has no
-- answer yet and whose task is still open. $1: the sender's number, E.164.
select n.task_id::text
from public.users u
join public.notification_log n on n.user_id = u.id
join public.tasks t on t.id = n.task_id
where u.phone_number = $1 and u.phone_verified
  and n.channel = 'whatsapp' and n.response is null and t.status = 'pending'
order by n.sent_at desc
limit 1
