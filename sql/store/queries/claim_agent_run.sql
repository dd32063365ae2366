-- Claim the next agent run (see flux.claim_agent_run). $1 owner, $2 lease, $3 conversation or null.
select message_id::text, conversation_id::text, user_id::text, attempts
from flux.claim_agent_run($1, $2, $3::uuid)
