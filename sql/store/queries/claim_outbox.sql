-- Lease outbox rows for sending, with what a sender needs to compose the message.
-- $1: batch size, $2: lease, $3: lease owner.
select o.id, o.user_id::text, o.task_id::text, o.channel, o.attempts, d.due_at,
       t.title, t.scheduled_at, u.timezone, u.phone_number,
       case when o.channel = 'push' then
         coalesce((select jsonb_agg(jsonb_build_object('endpoint', p.endpoint, 'p256dh', p.p256dh, 'auth', p.auth))
                   from public.push_subscriptions p where p.user_id = o.user_id), '[]'::jsonb)
       end as push_subscriptions,
       o.channel = 'whatsapp' and flux.free_slot_today(o.user_id) as offer_reschedule
from flux.claim_outbox($1, $2, $3) o
join public.dispatch_log d on d.id = o.id
join public.tasks t on t.id = o.task_id
join public.users u on u.id = o.user_id
