-- Renew a run's lease (see flux.extend_agent_run). $1 message, $2 owner, $3 lease.
select flux.extend_agent_run($1, $2, $3)
