-- Analytics API (SPEC.md, What users can do: analytics): overview (today, streak, heatmap),
-- per-goal progress, missed by category, weekly completion.
--
-- These read only the rollups of the analytics migration (flux.task_day_stats, flux.goal_task_stats,
-- kept by triggers) plus the user's goals, never public.tasks: each call costs O(days or goals
-- shown), whatever the size of the task history. The rollups are not granted to the API roles
-- (they have no RLS), so the functions are SECURITY DEFINER with an empty search_path and take the
-- user from auth.uid(), never from a parameter. Each call counts against the analytics rate limit
-- (30 a minute per user), which writes one counter row: the functions are therefore VOLATILE and
-- PostgREST clients call them with POST (supabase-js rpc() does).
--
-- Days are the user's local days (users.timezone) of flux.now(), as the rollups are. "total"
-- means the same everywhere: pending + done + missed (rescheduled and cancelled tasks count
-- nowhere, as in the rollups).

-- Overview: today, streak and heatmap in one round trip (the dashboard's first screen).
create function public.analytics_overview(p_days integer default 91) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  v_uid uuid := flux.begin_action('analytics_overview', 'analytics requests', 30);
  v_tz text;
  v_today date;
  v_done integer := 0;
  v_total integer := 0;
  v_expect date;
  v_streak integer := 0;
  v_heatmap jsonb;
begin
  if p_days is null or p_days not between 1 and 366 then
    raise exception 'analytics_overview: p_days must be between 1 and 366, got %', coalesce(p_days::text, 'null')
      using errcode = '22023';
  end if;
  select u.timezone into v_tz from public.users u where u.id = v_uid;
  if not found then
    raise exception 'analytics_overview: no profile for this user' using errcode = 'PT404';
  end if;
  v_today := (flux.now() at time zone v_tz)::date;

  select s.done, s.pending + s.done + s.missed into v_done, v_total
  from flux.task_day_stats s where s.user_id = v_uid and s.day = v_today;
  v_done := coalesce(v_done, 0);
  v_total := coalesce(v_total, 0);

  -- Streak: consecutive days with a done task, counted back from today; today without one is
  -- still open, so counting then starts yesterday. A day with no tasks breaks it. Capped at
  -- ten years.
  v_expect := case when v_done > 0 then v_today else v_today - 1 end;
  -- One primary-key probe per streak day, stopping at the first day without a done task
  -- (a loop over a range query may be planned to read the whole history first).
  with recursive streak (day) as (
    select v_expect
    where exists (select 1 from flux.task_day_stats s where s.user_id = v_uid and s.day = v_expect and s.done > 0)
    union all
    select st.day - 1 from streak st
    where st.day > v_expect - 3659
      and exists (select 1 from flux.task_day_stats s where s.user_id = v_uid and s.day = st.day - 1 and s.done > 0)
  )
  select count(*) into v_streak from streak;

  select coalesce(jsonb_agg(jsonb_build_object('date', s.day, 'done', s.done,
                                               'total', s.pending + s.done + s.missed) order by s.day),
                  '[]'::jsonb)
  into v_heatmap
  from flux.task_day_stats s
  where s.user_id = v_uid and s.day between v_today - (p_days - 1) and v_today
    and s.pending + s.done + s.missed > 0;

  return jsonb_build_object(
    'timezone', v_tz,
    'today', jsonb_build_object('date', v_today, 'done', v_done, 'total', v_total,
                                'percent', case when v_total > 0 then round(100.0 * v_done / v_total, 1) end),
    'streak', jsonb_build_object('days', v_streak, 'includes_today', v_done > 0),
    'heatmap', v_heatmap);
end
$$;
revoke execute on function public.analytics_overview(integer) from public, anon;
grant execute on function public.analytics_overview(integer) to authenticated;
comment on function public.analytics_overview(integer) is
  'Dashboard overview for the signed-in user, in their timezone: {timezone, today {date, done, total, percent}, '
  'streak {days, includes_today}, heatmap [{date, done, total}]}. total = pending + done + missed; percent is '
  'rounded to 0.1 and null without tasks. The streak counts consecutive local days with at least one done task back '
  'from today; today without a done task yet does not break it (includes_today false). The heatmap lists the days '
  'with tasks among the last p_days (1-366, default 91) ending today, oldest first. Rate limit: 30 analytics calls '
  'a minute.';

-- Per-goal progress. An umbrella goal adds up its micro-goals (and theirs), so the roadmap shows
-- one figure for the aspiration and one per sprint.
create function public.analytics_goal_progress()
returns table (goal_id uuid, title text, status text, class_tags text[], parent_goal_id uuid,
               pipeline_order integer, done integer, missed integer, pending integer, total integer,
               percent numeric)
language plpgsql security definer set search_path = ''
as $$
declare
  v_uid uuid := flux.begin_action('analytics_goal_progress', 'analytics requests', 30);
begin
  -- Every goal with all its descendants (UNION, not UNION ALL: a malformed cycle ends too). An
  -- abandoned micro-goal's tasks still count for its umbrella: they happened.
  return query
  with recursive mine as (
    select g.id, g.parent_goal_id from public.goals g where g.user_id = v_uid
  ),
  tree (root, member) as (
    select m.id, m.id from mine m
    union
    select t.root, m.id from tree t join mine m on m.parent_goal_id = t.member
  ),
  sums as (
    select t.root, coalesce(sum(s.done), 0)::integer as d, coalesce(sum(s.missed), 0)::integer as m,
           coalesce(sum(s.pending), 0)::integer as p
    from tree t left join flux.goal_task_stats s on s.goal_id = t.member
    group by t.root
  )
  select g.id, g.title, g.status, g.class_tags, g.parent_goal_id, g.pipeline_order,
         x.d, x.m, x.p, x.d + x.m + x.p,
         case when x.d + x.m + x.p > 0 then round(100.0 * x.d / (x.d + x.m + x.p), 1) end
  from public.goals g
  join sums x on x.root = g.id
  where g.user_id = v_uid and g.status <> 'abandoned'
  order by g.created_at, g.pipeline_order nulls first, g.id;
end
$$;
revoke execute on function public.analytics_goal_progress() from public, anon;
grant execute on function public.analytics_goal_progress() to authenticated;
comment on function public.analytics_goal_progress() is
  'Progress of each goal of the signed-in user except abandoned ones: done, missed, pending, total = their sum, '
  'percent = done / total rounded to 0.1 (null without tasks). An umbrella goal counts its own tasks plus those of its '
  'micro-goals. Ordered by creation, umbrella before its micro-goals in pipeline order. Rate limit: 30 analytics calls '
  'a minute.';

-- Missed by category: a task counts once under each tag of the goal it belongs to (a micro-goal's
-- own tags, not again through its umbrella). Standalone tasks have no goal and therefore no
-- category: they are left out. Abandoned goals stay in: their misses are what this view is for.
create function public.analytics_missed_by_category()
returns table (category text, missed integer, total integer, missed_percent numeric)
language plpgsql security definer set search_path = ''
as $$
declare
  v_uid uuid := flux.begin_action('analytics_missed_by_category', 'analytics requests', 30);
begin
  return query
  select c.tag, c.m, c.t, round(100.0 * c.m / c.t, 1)
  from (
    select tag.tag, sum(s.missed)::integer as m, sum(s.pending + s.done + s.missed)::integer as t
    from flux.goal_task_stats s
    join public.goals g on g.id = s.goal_id
    cross join lateral unnest(g.class_tags) as tag (tag)
    where s.user_id = v_uid
    group by tag.tag
  ) c
  where c.t > 0
  order by c.m desc, c.tag;
end
$$;
revoke execute on function public.analytics_missed_by_category() from public, anon;
grant execute on function public.analytics_missed_by_category() to authenticated;
comment on function public.analytics_missed_by_category() is
  'Missed tasks per goal category (class tag) of the signed-in user: missed, total (pending + done + missed) and '
  'missed_percent = missed / total rounded to 0.1. A goal with several tags counts under each; standalone tasks '
  '(no goal) are in no category. Only categories with tasks, most missed first. Rate limit: 30 analytics calls a '
  'minute.';

-- Weekly completion: ISO weeks (Monday to Sunday) of local days. The current week counts whole,
-- its later days included, so its percent is progress through this week's plan.
create function public.analytics_weekly_completion(p_weeks integer default 12)
returns table (week_start date, done integer, total integer, percent numeric)
language plpgsql security definer set search_path = ''
as $$
declare
  v_uid uuid := flux.begin_action('analytics_weekly_completion', 'analytics requests', 30);
  v_tz text;
  v_today date;
  v_monday date;
begin
  if p_weeks is null or p_weeks not between 1 and 104 then
    raise exception 'analytics_weekly_completion: p_weeks must be between 1 and 104, got %', coalesce(p_weeks::text, 'null')
      using errcode = '22023';
  end if;
  select u.timezone into v_tz from public.users u where u.id = v_uid;
  if not found then
    raise exception 'analytics_weekly_completion: no profile for this user' using errcode = 'PT404';
  end if;
  v_today := (flux.now() at time zone v_tz)::date;
  v_monday := v_today - (extract(isodow from v_today)::integer - 1);
  return query
  with weeks as (
    select v_monday - 7 * k as ws from generate_series(0, p_weeks - 1) k
  ),
  stats as (
    select s.day - (extract(isodow from s.day)::integer - 1) as ws,
           sum(s.done)::integer as d, sum(s.pending + s.done + s.missed)::integer as t
    from flux.task_day_stats s
    where s.user_id = v_uid and s.day between v_monday - 7 * (p_weeks - 1) and v_monday + 6
    group by 1
  )
  select w.ws, coalesce(st.d, 0), coalesce(st.t, 0),
         case when st.t > 0 then round(100.0 * st.d / st.t, 1) end
  from weeks w left join stats st on st.ws = w.ws
  order by w.ws;
end
$$;
revoke execute on function public.analytics_weekly_completion(integer) from public, anon;
grant execute on function public.analytics_weekly_completion(integer) to authenticated;
comment on function public.analytics_weekly_completion(integer) is
  'Weekly completion of the signed-in user: the last p_weeks (1-104, default 12) ISO weeks of their local days, '
  'ending with the current week, oldest first, every week present: week_start (Monday), done, total (pending + done '
  '+ missed; the current week counts whole) and percent = done / total rounded to 0.1 (null for an empty week). '
  'Rate limit: 30 analytics calls a minute.';
