-- What Supabase's database advisor (the splinter lints) found in the released schema, fixed.

-- function_search_path_mutable: a function that does not pin search_path resolves names through
-- its caller's path, so a caller who can put a schema ahead of ours could substitute a table,
-- function or operator. Every body already names its objects with their schema (the pgTAP suite
-- checks that each one still resolves with an empty path), so an empty path costs nothing but
-- the inlining of the small SQL helpers.
alter function flux.add_token_usage(uuid, text, integer) set search_path = '';
alter function flux.claim_agent_run(text, interval, uuid, integer) set search_path = '';
alter function flux.claim_escalations(integer) set search_path = '';
alter function flux.claim_outbox(integer, interval, text) set search_path = '';
alter function flux.conversation_settled(uuid) set search_path = '';
alter function flux.extend_agent_run(uuid, text, interval) set search_path = '';
alter function flux.fail_agent_run(uuid, text, text, text) set search_path = '';
alter function flux.finish_agent_run(uuid, text, jsonb) set search_path = '';
alter function flux.finish_dispatch(bigint, text, text, text, text, timestamptz) set search_path = '';
alter function flux.finish_dispatches(text, bigint[], text[], text[], text[], timestamptz[]) set search_path = '';
alter function flux.free_slot_today(uuid, integer, timestamptz) set search_path = '';
alter function flux.goals_status() set search_path = '';
alter function flux.is_hhmm(jsonb) set search_path = '';
alter function flux.is_valid_timezone(text) set search_path = '';
alter function flux.json_int_in(jsonb, text, numeric, numeric) set search_path = '';
alter function flux.location_rung_due(text, timestamptz, jsonb) set search_path = '';
alter function flux.lock_due_tasks(timestamptz, integer) set search_path = '';
alter function flux.notification_preferences_ok(jsonb) set search_path = '';
alter function flux.now() set search_path = '';
alter function flux.patterns_user_edit() set search_path = '';
alter function flux.profile_ok(jsonb) set search_path = '';
alter function flux.rate_limit(uuid, text, integer, interval) set search_path = '';
alter function flux.record_response(uuid, text, text, text, boolean) set search_path = '';
alter function flux.release_agent_run(uuid, text) set search_path = '';
alter function flux.reset_token_usage() set search_path = '';
alter function flux.set_time_warp(interval) set search_path = '';
alter function flux.sweep_escalations() set search_path = '';
alter function flux.task_local_day(public.tasks, text) set search_path = '';
alter function flux.tasks_status() set search_path = '';
alter function flux.touch_updated_at() set search_path = '';
alter function flux.users_phone_changed() set search_path = '';
alter function flux.users_with_free_slot(uuid[], integer, timestamptz) set search_path = '';

-- A SQL function with a SET clause is no longer inlined into its caller: each call now switches
-- search_path and back. The ladder's helpers ran nested five deep per rung (next_stage called
-- policy_stages twice, stage_due called lead_time or escalation_window), which cost the
-- escalation claim a fifth of its throughput; each is now one flat function, and the three
-- helpers only they used are gone.
create or replace function flux.next_stage(p_policy text, p_stage text) returns text
language sql immutable
set search_path = ''
as $$
  select l.stages[array_position(l.stages, p_stage) + 1]
  from (select case p_policy
                 when 'full' then array['push', 'whatsapp', 'call', 'auto_miss']
                 when 'gentle' then array['push', 'whatsapp', 'auto_miss']
                 when 'silent' then array['push', 'auto_miss']
               end as stages) l
$$;

-- The rung of a stage for a task due at p_due: the push a lead time before it (default 10
-- minutes), each later rung one escalation window after the one before (default 2 minutes).
create or replace function flux.stage_due(p_stage text, p_due timestamptz, p_prefs jsonb) returns timestamptz
language sql immutable
set search_path = ''
as $$
  select case p_stage
    when 'push' then p_due - make_interval(mins => coalesce((p_prefs ->> 'reminder_lead_minutes')::int, 10))
    else p_due + case p_stage when 'whatsapp' then 1 when 'call' then 2 when 'auto_miss' then 3 end
                 * make_interval(mins => coalesce((p_prefs ->> 'escalation_window_minutes')::int, 2))
  end
$$;

drop function flux.policy_stages(text);
drop function flux.lead_time(jsonb);
drop function flux.escalation_window(jsonb);

-- extension_in_public: the escalation migration created pg_cron without a schema, so it landed
-- in public. Supabase installs it in pg_catalog (the dashboard's "enable pg_cron" does), where
-- nothing changes. pg_cron cannot be moved (it is not relocatable): where it sits in public, it
-- is created again in pg_catalog and every job is carried over, the project's own as well as
-- Flux's, with the same ids, names and schedules; the run history goes with them.
do $$
begin
  if exists (select 1 from pg_catalog.pg_extension
             where extname = 'pg_cron' and extnamespace = 'public'::regnamespace) then
    create temporary table flux_cron_job on commit drop as select * from cron.job;
    create temporary table flux_cron_run on commit drop as select * from cron.job_run_details;
    drop extension pg_cron;
    create extension pg_cron with schema pg_catalog;
    insert into cron.job (jobid, schedule, command, nodename, nodeport, database, username, active, jobname)
      select jobid, schedule, command, nodename, nodeport, database, username, active, jobname
      from pg_temp.flux_cron_job;
    insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status,
                                      return_message, start_time, end_time)
      select jobid, runid, job_pid, database, username, command, status, return_message, start_time, end_time
      from pg_temp.flux_cron_run;
    perform pg_catalog.setval('cron.jobid_seq', greatest((select max(jobid) from cron.job), 1));
    perform pg_catalog.setval('cron.runid_seq', greatest((select max(runid) from cron.job_run_details), 1));
  end if;
end
$$;
