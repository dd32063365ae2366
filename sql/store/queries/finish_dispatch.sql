-- Record a send's outcome for the lease holder. $1 id, $2 owner, $3 outcome (sent|retry|failed),
-- $4 provider id, $5 error, $6 retry at.
select flux.finish_dispatch($1, $2, $3, $4, $5, $6)
