-- Lease outbox rows for sending, with what a sender needs to compose the message: all of it
-- comes from the function (see flux.claim_outbox on snapshots). $1: batch size, $2: lease,
-- $3: lease owner. Rows it skipped instead (task answered, superseded, snoozed) come with why
-- in skipped and nothing to send.
select id, user_id::text, task_id::text, channel, attempts, due_at,
       coalesce(task_title, ''), scheduled_at, coalesce(timezone, ''), phone_number, push_subscriptions,
       coalesce(offer_reschedule, false),
       coalesce(whatsapp_window_open, false), coalesce(snoozes_left, 0), coalesce(skipped, '')
from flux.claim_outbox($1, $2, $3)
