-- Flux's pg_cron jobs and their latest run: succeeded or not, and when it ended (null: never
-- ran, or still running). Only where pg_cron runs (see CronInstalled).
select j.jobname, coalesce(d.status = 'succeeded', false), extract(epoch from d.end_time)::float8
from cron.job j
left join lateral (select r.status, r.end_time from cron.job_run_details r
                   where r.jobid = j.jobid order by r.runid desc limit 1) d on true
where j.jobname like 'flux-%'
