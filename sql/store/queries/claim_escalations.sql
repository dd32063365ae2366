-- Take one batch of due escalation rungs, a row per task taken (see flux.claim_escalation_rungs).
-- $1: batch size.
select task_id::text, user_id::text, from_stage, stage, outcome, coalesce(reason, '')
from flux.claim_escalation_rungs($1)
