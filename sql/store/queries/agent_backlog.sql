-- Agent runs waiting for a runner, and how long the oldest has waited.
select count(*), coalesce(extract(epoch from flux.now() - min(created_at)), 0)::float8
from flux.agent_runs
where status = 'pending'
