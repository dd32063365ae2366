-- End a run that cannot be answered (see flux.fail_agent_run). $1 message, $2 owner, $3 why,
-- $4 the reply left for the user ('': the function's default).
select case when $4::text = '' then flux.fail_agent_run($1, $2, $3)
            else flux.fail_agent_run($1, $2, $3, $4) end
