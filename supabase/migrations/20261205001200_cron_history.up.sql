-- pg_cron records every run of every job in cron.job_run_details and never trims it: with the
-- escalation sweep running every minute that is 1,440 rows a day, forever. The nightly purge
-- also drops run records older than a week (the last run of each job stays: the listener's
-- flux_cron_job_last_run_succeeded metric reads it). The job's other statements are those of
-- 20261205000400_reminders; pg_cron replaces a job scheduled again under its name.
do $$
begin
  if current_database() = current_setting('cron.database_name', true)
     and exists (select 1 from pg_catalog.pg_extension where extname = 'pg_cron') then
    perform cron.schedule('flux-outbox-purge', '17 3 * * *', $job$
      delete from public.dispatch_log where status <> 'pending' and created_at < flux.now() - interval '30 days';
      delete from flux.webhook_receipts where received_at < flux.now() - interval '7 days';
      delete from flux.delivery_events where received_at < flux.now() - interval '1 day';
      delete from cron.job_run_details d
      where d.end_time < now() - interval '7 days'
        and d.runid < (select max(l.runid) from cron.job_run_details l where l.jobid = d.jobid);
    $job$);
  end if;
end
$$;
