-- Whether pg_cron's tables are here (they are in cron.database_name only).
select to_regclass('cron.job_run_details') is not null
