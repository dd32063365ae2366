-- The task a WhatsApp reply answers: the latest WhatsApp reminder to that number that has no
-- answer yet and whose task is still open, with what a reminder to it offers now (reschedule
-- while a free slot remains today, snooze while snoozes are left). $1: the sender's number, E.164.
select n.task_id::text,
       u.id in (select flux.users_with_free_slot(array[u.id], 30, flux.now())) as offer_reschedule,
       3 - t.snooze_count as snoozes_left
from public.users u
join public.notification_log n on n.user_id = u.id
join public.tasks t on t.id = n.task_id
where u.phone_number = $1 and u.phone_verified
  and n.channel = 'whatsapp' and n.response is null and t.status = 'pending'
order by n.sent_at desc
limit 1
