-- Lease outbox rows for sending, with what a sender needs to compose the message: all of it
-- comes from the function (see flux.claim_outbox on snapshots). $1: batch size, $2: lease,
-- $3: lease owner.
select id, user_id::text, task_id::text, channel, attempts, due_at,
       task_title, scheduled_at, timezone, phone_number, push_subscriptions, offer_reschedule,
       whatsapp_window_open, snoozes_left
from flux.claim_outbox($1, $2, $3)
