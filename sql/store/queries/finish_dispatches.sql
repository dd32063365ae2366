-- Record the outcomes of many sends for their lease holder; returns the ids recorded.
-- $1 owner, $2 ids, $3 outcomes (sent|retry|failed), $4 provider ids, $5 errors, $6 retry times.
select flux.finish_dispatches($1, $2, $3, $4, $5, $6)
