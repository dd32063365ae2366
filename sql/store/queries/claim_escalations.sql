-- Take one batch of due escalation rungs (see flux.claim_escalations). $1: batch size.
select flux.claim_escalations($1)
