-- Pattern Observer, miss rule (SPEC.md, Agents): counting misses needs no language understanding,
-- so SQL decides it in the transaction that makes a task missed, whichever path did it (the
-- ladder's auto-miss, a WhatsApp/voice/push answer through flux.record_response, the service).
--
-- The slot of a missed task is its local weekday (users.timezone) and local time of day +-1 hour.
-- When the latest settled occurrences in that slot are misses (no done between) in at least 3
-- consecutive weeks, one time_avoidance pattern per (user, day, from) is created or updated:
-- data {rule: miss, day: Mon..Sun, from/to: the two hours around the miss's hour, misses,
-- weeks, occurrences, last_missed_at}; confidence = misses / settled occurrences in the slot over
-- the 6 weeks up to the miss, below 0.5 while the user's data is younger than 14 days. A pattern
-- the user overrode (data.user_overridden) is never touched.

-- Returns the pattern created or updated, or null. Not SECURITY DEFINER and not granted: it runs
-- only from the trigger below (as that function's owner), so no caller can aim it at a task.
create function flux.observe_miss(p_task uuid) returns uuid
language plpgsql
set search_path = ''
as $$
declare
  v_task public.tasks;
  v_tz text;
  v_local timestamp;
  v_hour integer;
  v_day text;
  v_from text;
  v_misses integer;
  v_weeks integer;
  v_missed integer;
  v_occurrences integer;
  v_first timestamptz;
  v_confidence numeric;
  v_data jsonb;
  v_description text;
  v_pattern public.patterns;
  v_id uuid;
begin
  select t.* into v_task from public.tasks t where t.id = p_task;
  if not found or v_task.status <> 'missed' or v_task.trigger_type <> 'time' or v_task.scheduled_at is null then
    return null;
  end if;
  -- A cheap necessary condition first, as most misses are not a third in a row: a miss around
  -- the same instant one and two weeks before (two short index ranges, no zone arithmetic).
  -- Hours, not days: 'n days' follows the session's TimeZone across its DST changes.
  if not (exists (select 1 from public.tasks t
                  where t.user_id = v_task.user_id and t.status = 'missed'
                    and t.scheduled_at between v_task.scheduled_at - interval '170 hours'
                                           and v_task.scheduled_at - interval '166 hours')
          and exists (select 1 from public.tasks t
                      where t.user_id = v_task.user_id and t.status = 'missed'
                        and t.scheduled_at between v_task.scheduled_at - interval '338 hours'
                                               and v_task.scheduled_at - interval '334 hours')) then
    return null;
  end if;
  select u.timezone into v_tz from public.users u where u.id = v_task.user_id;
  if v_tz is null then
    return null; -- the account is being erased
  end if;
  v_local := v_task.scheduled_at at time zone v_tz;

  with in_slot as (
    select t.id, t.status, t.scheduled_at, w.weeks_ago
    from generate_series(0, 5) w(weeks_ago) -- the miss's week and the 5 before it
    join public.tasks t
      on t.user_id = v_task.user_id
      -- Ranges on tasks_user_scheduled_idx: the same instant w weeks earlier, +-2 hours so the
      -- hour of slack and a DST shift of the user's zone stay inside; the local tests are exact.
     and t.scheduled_at >= v_task.scheduled_at - w.weeks_ago * interval '168 hours' - interval '2 hours'
     and t.scheduled_at <= v_task.scheduled_at - w.weeks_ago * interval '168 hours'
                           + case when w.weeks_ago = 0 then interval '0' else interval '2 hours' end
    where t.status in ('done', 'missed')
      and t.trigger_type = 'time'
      and (t.scheduled_at at time zone v_tz)::date = v_local::date - 7 * w.weeks_ago
      and abs(extract(epoch from (t.scheduled_at at time zone v_tz)::time - v_local::time)) <= 3600
  ),
  ordered as ( -- newest first (the miss itself first on a tie): dones up to and including each row
    select s.weeks_ago,
           count(*) filter (where s.status = 'done')
             over (order by s.scheduled_at desc, s.id = p_task desc rows unbounded preceding) as dones
    from in_slot s
  ),
  streak as ( -- the misses before the first done; a week is consecutive while its rank matches
    select o.weeks_ago, dense_rank() over (order by o.weeks_ago) - 1 as rank_ago
    from ordered o
    where o.dones = 0
  )
  select count(*) filter (where s.weeks_ago = s.rank_ago),
         count(distinct s.weeks_ago) filter (where s.weeks_ago = s.rank_ago),
         (select count(*) filter (where i.status = 'missed') from in_slot i),
         (select count(*) from in_slot i)
  into v_misses, v_weeks, v_missed, v_occurrences
  from streak s;

  if v_weeks < 3 then
    return null;
  end if;

  v_confidence := round(v_missed::numeric / v_occurrences, 3);
  -- Cold start: under 14 days of data, nothing is claimed with confidence 0.5 or more.
  select t.scheduled_at into v_first
  from public.tasks t
  where t.user_id = v_task.user_id and t.status in ('done', 'missed') and t.trigger_type = 'time'
    and t.scheduled_at is not null
  order by t.scheduled_at
  limit 1;
  if v_first > flux.now() - interval '336 hours' then -- 14 days
    v_confidence := least(v_confidence, 0.49);
  end if;

  v_hour := extract(hour from v_local)::integer;
  v_day := to_char(v_local, 'Dy'); -- English without the TM prefix, whatever lc_time says
  -- The window stays on the miss's weekday: 00:xx gives 00:00-01:00, not 23:00 (which readers
  -- of from/to would place on that day's evening).
  v_from := lpad(greatest(v_hour - 1, 0)::text, 2, '0') || ':00';
  v_data := jsonb_build_object(
    'rule', 'miss', 'day', v_day, 'from', v_from,
    'to', lpad(((v_hour + 1) % 24)::text, 2, '0') || ':00',
    'misses', v_misses, 'weeks', v_weeks, 'occurrences', v_occurrences,
    'last_missed_at', v_task.scheduled_at);
  -- Counts, a weekday and an hour only: no title, nothing personal.
  v_description := format('Tasks on %ss around %s:00 were missed %s weeks in a row.',
                          to_char(v_local, 'FMDay'), lpad(v_hour::text, 2, '0'), v_weeks);

  -- One pattern per slot even when concurrent transactions miss tasks of the same slot: the
  -- second waits here, then sees the first one's row. Taken only when the rule fires.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(
    'flux.patterns:' || v_task.user_id::text || ':' || v_day || ':' || v_from, 0));

  select p.* into v_pattern
  from public.patterns p
  where p.user_id = v_task.user_id and p.pattern_type = 'time_avoidance'
    and p.data ->> 'day' = v_day and p.data ->> 'from' = v_from
  order by p.created_at, p.id
  limit 1;
  if not found then
    insert into public.patterns (user_id, pattern_type, description, data, confidence)
    values (v_task.user_id, 'time_avoidance', v_description, v_data, v_confidence)
    returning id into v_id;
    return v_id;
  end if;
  if v_pattern.data ->> 'user_overridden' = 'true' then
    return null;
  end if;
  -- Checked again on the row itself: an override committed meanwhile wins.
  update public.patterns p
  set description = v_description, confidence = v_confidence, data = p.data || v_data
  where p.id = v_pattern.id and p.data ->> 'user_overridden' is distinct from 'true'
  returning p.id into v_id;
  return v_id;
end
$$;

-- SECURITY DEFINER: whoever makes the task missed (the service, or a signed-in user through a
-- function or grant) must not need to write patterns, which authenticated cannot insert. It takes
-- no argument from a caller and cannot be called outside a trigger, and the row that fired it has
-- already passed RLS, so there is no auth.uid() to check.
create function flux.tasks_observe_miss() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  perform flux.observe_miss(new.id);
  return null;
end
$$;

-- Only the transition into missed is queued: the ladder's other updates of thousands of tasks
-- never reach the function.
create trigger tasks_observe_miss after update of status on public.tasks
  for each row when (new.status = 'missed' and old.status is distinct from 'missed')
  execute function flux.tasks_observe_miss();

-- Service-side only: nothing here is granted to the API roles.
revoke execute on all functions in schema flux from public;
