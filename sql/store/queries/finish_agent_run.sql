-- Finish a run its turn is written with; false when the caller lost it. $1 message, $2 owner,
-- $3 trace.
select flux.finish_agent_run($1, $2, $3)
