-- Flux demo seed: two users with realistic data in every user table.
--
-- Run by `supabase db reset` (config.toml [db.seed]) and by `flux migrate --seed` (pgx, one
-- implicit transaction). Plain SQL only: no psql meta-commands, no BEGIN/COMMIT, no dollar quoting.
-- Every time is computed from flux.now() (now() plus the development time warp, 0 on a fresh
-- database) in the timezone of each user, so the demo looks fresh whenever it is seeded.
--
-- Idempotent: the two demo auth users are deleted first, which cascades to every row of theirs
-- (public tables and the flux rollups), and everything is inserted again.
--
-- Sign in with either email and the password `flux-demo`.
--
-- Alex  11111111-1111-4111-8111-111111111111  alex@demo.flux.local  Europe/Berlin
--   Morning person. Phone verified, WhatsApp opted in: the full push -> WhatsApp -> call ladder.
--   goals  1a000000-0000-4000-8000-000000000001  Run a half marathon (umbrella, active)
--          1a000000-0000-4000-8000-000000000002    1. Run 5K without stopping (active sprint)
--          1a000000-0000-4000-8000-000000000003    2. Run 10K (pipeline)
--          1a000000-0000-4000-8000-000000000004    3. Run 21K (pipeline)
--          1a000000-0000-4000-8000-000000000005  Set up a monthly budget (completed)
--   conversations (thread ids: 1d... with the same suffix)
--          1c000000-0000-4000-8000-000000000001  onboarding
--          1c000000-0000-4000-8000-000000000002  goal: planning the half marathon (plan card)
--          1c000000-0000-4000-8000-000000000003  reschedule: Monday runs move to the evening
--          1c000000-0000-4000-8000-000000000004  task: a physio reminder and a location task
--   Story: the 5K sprint started on a Monday two to three weeks ago (Mon/Wed/Fri 07:00 run-walk
--   sessions, Sunday stretching). Wednesday and Friday runs are done; the 07:00 Monday run was
--   missed three Mondays in a row, so the Pattern Observer recorded a time_avoidance pattern and
--   the remaining Monday runs moved to 18:30. One Wednesday run was rescheduled to Thursday.
--
-- Sam   22222222-2222-4222-8222-222222222222  sam@demo.flux.local   America/New_York
--   Evening person. Phone number given but not verified: push reminders only (policy gentle).
--   goals  2a000000-0000-4000-8000-000000000001  Learn conversational Spanish (umbrella, active)
--          2a000000-0000-4000-8000-000000000002    1. Spanish foundations (active sprint)
--          2a000000-0000-4000-8000-000000000003    2. Weekly conversations with a tutor (pipeline)
--          2a000000-0000-4000-8000-000000000004  Meditate every morning (abandoned)
--   conversations (thread ids: 2d... with the same suffix)
--          2c000000-0000-4000-8000-000000000001  onboarding (ends with the meditation goal)
--          2c000000-0000-4000-8000-000000000002  goal: planning Spanish (plan card)
--          2c000000-0000-4000-8000-000000000003  goal: abandoning the morning meditation
--   Story: morning meditation mostly missed, abandoned five days ago (its remaining sessions are
--   cancelled); Sam overrode the resulting time_avoidance pattern to "nothing before 9". Evening
--   Spanish practice has been done every day except a Friday night out.
--
-- Phone numbers are fictional: +44 7700 900xxx (Ofcom drama range) and +1 202 555 01xx.
-- Push endpoints point to push.example.invalid, which never resolves.

-- 1. Start over: deleting the auth users cascades to every row they own.
delete from auth.users
where id in ('11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222')
   or email in ('alex@demo.flux.local', 'sam@demo.flux.local');

-- 2. Auth users, with only the columns that exist both in Supabase (GoTrue) and in the local
-- bootstrap. GoTrue scans the token columns into plain strings: empty strings, never NULL.
-- The provisioning trigger creates the public.users rows (timezone from raw_user_meta_data).
insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
                        raw_app_meta_data, raw_user_meta_data, created_at, updated_at,
                        confirmation_token, recovery_token, email_change_token_new, email_change)
select '00000000-0000-0000-0000-000000000000', u.id, 'authenticated', 'authenticated', u.email,
       extensions.crypt('flux-demo', extensions.gen_salt('bf')), u.created_at + interval '1 minute',
       '{"provider":"email","providers":["email"]}',
       jsonb_build_object('name', u.name, 'timezone', u.tz),
       u.created_at, u.created_at + interval '1 minute', '', '', '', ''
from (
  -- Alex signed up twelve days before the Monday the sprint began; Sam eighteen days ago.
  select '11111111-1111-4111-8111-111111111111'::uuid as id, 'alex@demo.flux.local' as email,
         'Alex' as name, 'Europe/Berlin' as tz,
         ((b.today - extract(isodow from b.today - 1)::int - 14 - 12) + time '19:40')
           at time zone 'Europe/Berlin' as created_at
  from (select (flux.now() at time zone 'Europe/Berlin')::date as today) b
  union all
  select '22222222-2222-4222-8222-222222222222', 'sam@demo.flux.local', 'Sam', 'America/New_York',
         ((b.today - 18) + time '21:10') at time zone 'America/New_York'
  from (select (flux.now() at time zone 'America/New_York')::date as today) b
) u;

-- 3. Profiles. The phone number is set first: a trigger clears verification and WhatsApp opt-in
-- whenever the number changes, so those are set by a second UPDATE.
update public.users u
set onboarded = true,
    phone_number = '+447700900123',
    created_at = a.created_at,
    profile = '{
      "name": "Alex",
      "sleep_window": {"start": "23:00", "end": "06:30"},
      "work_hours": {"start": "09:00", "end": "17:30", "days": ["MO", "TU", "WE", "TH", "FR"]},
      "chronotype": "morning",
      "existing_commitments": [
        {"title": "Climbing with Jonas", "days": ["TH"], "time": "19:00", "duration_minutes": 120}
      ],
      "locations": {"home": "Kreuzberg, Berlin", "work": "Office, Mitte"}
    }',
    notification_preferences = '{"reminder_lead_minutes": 10, "escalation_window_minutes": 2, "escalation_policy": "full"}'
from auth.users a
where a.id = u.id and u.id = '11111111-1111-4111-8111-111111111111';

-- Alex verified the number with the OTP and opted in to WhatsApp during onboarding.
update public.users u
set phone_verified = true,
    whatsapp_opt_in_at = a.created_at + interval '9 minutes 30 seconds'
from auth.users a
where a.id = u.id and u.id = '11111111-1111-4111-8111-111111111111';

-- Sam gave a number but has not verified it yet: no WhatsApp, no calls.
update public.users u
set onboarded = true,
    phone_number = '+12025550143',
    created_at = a.created_at,
    profile = '{
      "name": "Sam",
      "sleep_window": {"start": "00:30", "end": "08:00"},
      "work_hours": {"start": "10:00", "end": "18:30", "days": ["MO", "TU", "WE", "TH", "FR"]},
      "chronotype": "evening",
      "existing_commitments": [
        {"title": "Choir rehearsal", "days": ["WE"], "time": "19:30", "duration_minutes": 90}
      ],
      "locations": {"home": "Astoria, Queens", "work": "Studio, Brooklyn"}
    }',
    notification_preferences = '{"reminder_lead_minutes": 15, "escalation_window_minutes": 3, "escalation_policy": "gentle"}'
from auth.users a
where a.id = u.id and u.id = '22222222-2222-4222-8222-222222222222';

-- 4. Goals. Calendar of Alex: s is the Monday the 5K sprint started (15 to 21 days ago, so exactly
-- three Monday runs lie in the past); s - 12 is sign-up day.
insert into public.goals (id, user_id, title, description, class_tags, status, parent_goal_id,
                         pipeline_order, target_weeks, plan, created_at, activated_at, completed_at)
select g.id::uuid, '11111111-1111-4111-8111-111111111111', g.title, g.description, g.tags, g.status::public.goal_status,
       g.parent::uuid, g.ord, g.weeks, g.plan, g.created_at, g.activated_at, g.completed_at
from (
  select t.today, t.today - extract(isodow from t.today - 1)::int - 14 as s
  from (select (flux.now() at time zone 'Europe/Berlin')::date as today) t
) c
cross join lateral (values
  -- Onboarding ended with a one-week budget sprint; done in time.
  ('1a000000-0000-4000-8000-000000000005', 'Set up a monthly budget',
   'Know where the money goes: categories, limits and an automatic transfer to savings.',
   array['Financial'], 'completed', null, null::int, 1,
   jsonb_build_object(
     'goal_feasible_in_6_weeks', true,
     'plan_summary', 'Four short evening sessions in one week: export statements, categorize, set limits, automate savings.',
     'micro_goal_roadmap', '[]'::jsonb,
     'proposed_tasks', '[
       {"title": "Export the last 3 months of bank statements", "scheduled_days": ["WE"], "suggested_time": "20:30", "duration_minutes": 20, "recurrence_rule": null, "week_range": [1, 1]},
       {"title": "Sort spending into categories", "scheduled_days": ["SA"], "suggested_time": "10:00", "duration_minutes": 45, "recurrence_rule": null, "week_range": [1, 1]},
       {"title": "Set a limit for each category", "scheduled_days": ["TU"], "suggested_time": "19:00", "duration_minutes": 30, "recurrence_rule": null, "week_range": [1, 1]},
       {"title": "Set up a standing order to savings", "scheduled_days": ["FR"], "suggested_time": "18:00", "duration_minutes": 15, "recurrence_rule": null, "week_range": [1, 1]}
     ]'::jsonb,
     'conflicts_detected', '[]'::jsonb,
     'approval_status', 'approved',
     'approved_at', ((c.s - 12) + time '20:18') at time zone 'Europe/Berlin'),
   ((c.s - 12) + time '20:18') at time zone 'Europe/Berlin',
   ((c.s - 12) + time '20:18') at time zone 'Europe/Berlin',
   ((c.s - 3) + time '18:14') at time zone 'Europe/Berlin'),
  -- The half marathon: an umbrella goal with three 6-week micro-goals.
  ('1a000000-0000-4000-8000-000000000001', 'Run a half marathon',
   'Berlin Half Marathon in early April: from barely 2K to 21.1 km in three 6-week sprints.',
   array['Fitness', 'Health'], 'active', null, null, 18,
   jsonb_build_object(
     'goal_feasible_in_6_weeks', false,
     'plan_summary', 'From about 2K to a half marathon in three 6-week sprints (5K, 10K, 21K). Runs on Monday, Wednesday and Friday at 07:00 before work, stretching on Sunday; Thursdays stay free for climbing.',
     'micro_goal_roadmap', '[
       {"title": "Run 5K without stopping", "description": "Run-walk intervals that start almost too easy and build to a continuous 5K.", "pipeline_order": 1, "target_weeks": 6},
       {"title": "Run 10K", "description": "Add a weekly long run and build to 10K at an easy pace.", "pipeline_order": 2, "target_weeks": 6},
       {"title": "Run 21K", "description": "Long runs up to 18K, a two-week taper, then race day.", "pipeline_order": 3, "target_weeks": 6}
     ]'::jsonb,
     'proposed_tasks', '[
       {"title": "Run-walk session", "description": "Intervals from 1 min run / 2 min walk up to a continuous 5K.", "scheduled_days": ["MO", "WE", "FR"], "suggested_time": "07:00", "duration_minutes": 20, "recurrence_rule": "FREQ=WEEKLY;BYDAY=MO,WE,FR", "week_range": [1, 6]},
       {"title": "Stretch & foam roll", "description": "Calves, hamstrings, hips.", "scheduled_days": ["SU"], "suggested_time": "10:00", "duration_minutes": 15, "recurrence_rule": "FREQ=WEEKLY;BYDAY=SU", "week_range": [1, 6]}
     ]'::jsonb,
     'conflicts_detected', '[]'::jsonb,
     'approval_status', 'approved',
     'approved_at', ((c.s - 2) + time '09:24') at time zone 'Europe/Berlin'),
   ((c.s - 2) + time '09:24') at time zone 'Europe/Berlin',
   ((c.s - 2) + time '09:24') at time zone 'Europe/Berlin', null::timestamptz),
  ('1a000000-0000-4000-8000-000000000002', 'Run 5K without stopping',
   'Sprint 1 of 3: run-walk intervals three mornings a week, building to a continuous 5K in week 6.',
   array['Fitness', 'Health'], 'active', '1a000000-0000-4000-8000-000000000001', 1, 6,
   '{"sprint": 1, "weeks": [
      {"week": 1, "session": "1 min run / 2 min walk", "minutes": 20},
      {"week": 2, "session": "2 min run / 1 min walk", "minutes": 25},
      {"week": 3, "session": "4 min run / 1 min walk", "minutes": 25},
      {"week": 4, "session": "8 min run / 2 min walk, 3 times", "minutes": 30},
      {"week": 5, "session": "20 min continuous easy run", "minutes": 30},
      {"week": 6, "session": "continuous 5K", "minutes": 40}],
     "avoid_slots": [], "reused_tasks": ["Climbing with Jonas (Thursday stays free)"]}'::jsonb,
   ((c.s - 2) + time '09:24') at time zone 'Europe/Berlin',
   ((c.s - 2) + time '09:24') at time zone 'Europe/Berlin', null),
  ('1a000000-0000-4000-8000-000000000003', 'Run 10K',
   'Sprint 2 of 3: a weekly long run, building to 10K at an easy pace.',
   array['Fitness', 'Health'], 'pipeline', '1a000000-0000-4000-8000-000000000001', 2, 6,
   '{"sprint": 2, "outline": "Three runs a week; the Sunday long run grows from 5K to 10K. Planned in detail when sprint 1 completes."}'::jsonb,
   ((c.s - 2) + time '09:24') at time zone 'Europe/Berlin', null, null),
  ('1a000000-0000-4000-8000-000000000004', 'Run 21K',
   'Sprint 3 of 3: long runs up to 18K, a two-week taper, race day.',
   array['Fitness', 'Health'], 'pipeline', '1a000000-0000-4000-8000-000000000001', 3, 6,
   '{"sprint": 3, "outline": "Long runs up to 18K, then a two-week taper into the Berlin Half. Planned in detail when sprint 2 completes."}'::jsonb,
   ((c.s - 2) + time '09:24') at time zone 'Europe/Berlin', null, null)
) g(id, title, description, tags, status, parent, ord, weeks, plan, created_at, activated_at, completed_at)
order by g.parent nulls first, g.ord;

-- Calendar of Sam: the Spanish sprint started twelve days ago (s); sign-up was s - 6.
insert into public.goals (id, user_id, title, description, class_tags, status, parent_goal_id,
                         pipeline_order, target_weeks, plan, created_at, activated_at, completed_at)
select g.id::uuid, '22222222-2222-4222-8222-222222222222', g.title, g.description, g.tags, g.status::public.goal_status,
       g.parent::uuid, g.ord, g.weeks, g.plan, g.created_at, g.activated_at, null
from (
  select t.today, t.today - 12 as s
  from (select (flux.now() at time zone 'America/New_York')::date as today) t
) c
cross join lateral (values
  -- The first goal from onboarding; morning sessions never stuck and Sam dropped it.
  ('2a000000-0000-4000-8000-000000000004', 'Meditate every morning',
   '10 minutes of guided meditation right after waking up.',
   array['Mental Health', 'Health'], 'abandoned', null, null::int, 6,
   jsonb_build_object(
     'goal_feasible_in_6_weeks', true,
     'plan_summary', 'Ten minutes every morning at 08:15, right after waking up, for six weeks.',
     'micro_goal_roadmap', '[]'::jsonb,
     'proposed_tasks', '[{"title": "Meditate for 10 minutes", "scheduled_days": ["MO", "TU", "WE", "TH", "FR", "SA", "SU"], "suggested_time": "08:15", "duration_minutes": 10, "recurrence_rule": "FREQ=DAILY", "week_range": [1, 6]}]'::jsonb,
     'conflicts_detected', '[]'::jsonb,
     'approval_status', 'approved',
     'approved_at', ((c.s - 6) + time '21:32') at time zone 'America/New_York',
     'abandoned_at', ((c.s + 7) + time '20:41') at time zone 'America/New_York'),
   ((c.s - 6) + time '21:32') at time zone 'America/New_York',
   ((c.s - 6) + time '21:32') at time zone 'America/New_York'),
  ('2a000000-0000-4000-8000-000000000001', 'Learn conversational Spanish',
   'Hold real conversations on the Mexico City trip in the spring.',
   array['Learning', 'Travel'], 'active', null, null, 12,
   jsonb_build_object(
     'goal_feasible_in_6_weeks', false,
     'plan_summary', 'Two 6-week sprints: foundations first (500 words, present tense) with short evening sessions, then weekly conversations with a tutor. Everything stays in the evening.',
     'micro_goal_roadmap', '[
       {"title": "Spanish foundations: 500 words and the present tense", "description": "Daily evening practice plus a podcast on the way home.", "pipeline_order": 1, "target_weeks": 6},
       {"title": "Weekly conversations with a tutor", "description": "One 45-minute video call a week, with daily prep.", "pipeline_order": 2, "target_weeks": 6}
     ]'::jsonb,
     'proposed_tasks', '[
       {"title": "Evening Spanish practice", "description": "New words plus one app lesson; longer from week 3.", "scheduled_days": ["MO", "TU", "WE", "TH", "FR", "SA", "SU"], "suggested_time": "21:30", "duration_minutes": 15, "recurrence_rule": "FREQ=DAILY", "week_range": [1, 6]},
       {"title": "Coffee Break Spanish episode", "description": "On the commute home.", "scheduled_days": ["TU", "TH"], "suggested_time": "18:45", "duration_minutes": 30, "recurrence_rule": "FREQ=WEEKLY;BYDAY=TU,TH", "week_range": [1, 6]}
     ]'::jsonb,
     'conflicts_detected', '[{"existing_task_title": "Choir rehearsal", "scheduled_at": "Wednesdays 19:30-21:00", "message": "Practice starts at 21:30, after choir."}]'::jsonb,
     'approval_status', 'approved',
     'approved_at', ((c.s - 1) + time '20:16') at time zone 'America/New_York'),
   ((c.s - 1) + time '20:16') at time zone 'America/New_York',
   ((c.s - 1) + time '20:16') at time zone 'America/New_York'),
  ('2a000000-0000-4000-8000-000000000002', 'Spanish foundations: 500 words and the present tense',
   'Sprint 1 of 2: short daily evening sessions and a podcast twice a week.',
   array['Learning', 'Travel'], 'active', '2a000000-0000-4000-8000-000000000001', 1, 6,
   '{"sprint": 1, "weeks": [
      {"week": 1, "session": "10 new words + one app lesson", "minutes": 15},
      {"week": 3, "session": "15 words + shadow a short dialogue", "minutes": 20},
      {"week": 5, "session": "5-minute monologue about your day + 15 words", "minutes": 25}],
     "avoid_slots": [{"day": "all", "time_range": "06:00-09:00", "reason": "morning meditation mostly missed"}]}'::jsonb,
   ((c.s - 1) + time '20:16') at time zone 'America/New_York',
   ((c.s - 1) + time '20:16') at time zone 'America/New_York'),
  ('2a000000-0000-4000-8000-000000000003', 'Weekly conversations with a tutor',
   'Sprint 2 of 2: a 45-minute video call with a tutor every week.',
   array['Learning', 'Travel'], 'pipeline', '2a000000-0000-4000-8000-000000000001', 2, 6,
   '{"sprint": 2, "outline": "One tutor call a week (evenings), daily 15-minute prep. Planned in detail when sprint 1 completes."}'::jsonb,
   ((c.s - 1) + time '20:16') at time zone 'America/New_York', null)
) g(id, title, description, tags, status, parent, ord, weeks, plan, created_at, activated_at)
order by g.parent nulls first, g.ord;

-- 5. Tasks with their reminder history, one statement per user: the occurrences are planned in a
-- CTE (ids generated up front), then inserted into tasks, notification_log and dispatch_log.
--
-- path says how the escalation ladder of each past occurrence ended, as <last channel>:<response>.
-- Ladder (docs/product.md): push at T - lead, WhatsApp at T + window, call at T + 2 windows,
-- auto-miss at T + 3 windows; any response stops it. Future pending time tasks wait for their push.
--
-- Alex: lead 10 min, window 2 min, policy full, every channel available.
with c as (
  select t.today, t.today - extract(isodow from t.today - 1)::int - 14 as s, flux.now() as now,
         interval '10 minutes' as lead, interval '2 minutes' as win
  from (select (flux.now() at time zone 'Europe/Berlin')::date as today) t
),
occ as (
  -- Sprint 1 runs, Mon/Wed/Fri 07:00 (day i from Monday s). After the third missed Monday the
  -- remaining Monday runs moved to 18:30.
  select 'run' as kind, g.i, '1a000000-0000-4000-8000-000000000002'::uuid as goal_id,
         case when g.i = 39 then 'Goal run: 5K without stopping' else w.title end as title,
         'Week ' || (g.i / 7 + 1) || ' of 6. ' || w.descr as descr,
         ((c.s + g.i) + case when g.i % 7 = 0 and g.i > 14 then time '18:30' else time '07:00' end)
           at time zone 'Europe/Berlin' as at,
         w.dur, 'FREQ=WEEKLY;BYDAY=MO,WE,FR' as rrule, null::jsonb as loc,
         ((c.s - 2) + time '09:24') at time zone 'Europe/Berlin' as created
  from c, generate_series(0, 41) g(i)
  join (values
    (1, 'Run-walk: 1 min run / 2 min walk', 20, 'Almost too easy on purpose. 5 min brisk walk to warm up.'),
    (2, 'Run-walk: 2 min run / 1 min walk', 25, 'Conversational pace: you should be able to talk.'),
    (3, 'Run-walk: 4 min run / 1 min walk', 25, 'Slow down rather than stop.'),
    (4, 'Run 8 min, walk 2 min, 3 times', 30, 'First longer blocks. Easy pace.'),
    (5, 'Easy continuous run: 20 min', 30, 'No walking breaks unless you need them.'),
    (6, 'Easy continuous run: 25 min', 40, 'Almost there: the Friday run is the full 5K.')
  ) w(wk, title, dur, descr) on w.wk = g.i / 7 + 1
  where g.i % 7 in (0, 2, 4)
  union all
  -- The Wednesday run of week 2 was moved to Thursday morning from the push reminder.
  select 'run_moved', 10, '1a000000-0000-4000-8000-000000000002', 'Run-walk: 2 min run / 1 min walk',
         'Moved from Wednesday (rescheduled from the reminder).',
         ((c.s + 10) + time '07:00') at time zone 'Europe/Berlin', 25, null, null,
         ((c.s + 9) + time '06:56') at time zone 'Europe/Berlin'
  from c
  union all
  select 'stretch', g.i, '1a000000-0000-4000-8000-000000000002', 'Stretch & foam roll',
         'Calves, hamstrings, hips. 15 minutes.',
         ((c.s + g.i) + time '10:00') at time zone 'Europe/Berlin', 15, 'FREQ=WEEKLY;BYDAY=SU', null,
         ((c.s - 2) + time '09:24') at time zone 'Europe/Berlin'
  from c, generate_series(6, 41, 7) g(i)
  union all
  -- A commitment from onboarding, pre-seeded as a standalone recurring task for six weeks.
  select 'climb', g.i, null, 'Climbing with Jonas', 'Boulderklub Kreuzberg.',
         ((c.s + g.i) + time '19:00') at time zone 'Europe/Berlin', 120, 'FREQ=WEEKLY;BYDAY=TH', null,
         ((c.s - 12) + time '19:48') at time zone 'Europe/Berlin'
  from c, generate_series(-11, 24, 7) g(i)
  union all
  -- The one-week plan of the completed budget goal.
  select 'budget', b.i, '1a000000-0000-4000-8000-000000000005', b.title, null,
         ((c.s + b.i) + b.tm) at time zone 'Europe/Berlin', b.dur, null, null,
         ((c.s - 12) + time '20:18') at time zone 'Europe/Berlin'
  from c, (values
    (-12, time '20:30', 'Export the last 3 months of bank statements', 20),
    (-9, time '10:00', 'Sort spending into categories', 45),
    (-6, time '19:00', 'Set a limit for each category', 30),
    (-3, time '18:00', 'Set up a standing order to savings', 15)
  ) b(i, tm, title, dur)
  union all
  -- Standalone tasks created in chat.
  select 'call_mum', null, null, 'Call Mum', 'It''s her birthday.',
         ((c.today - 2) + time '12:30') at time zone 'Europe/Berlin', 15, null, null,
         ((c.today - 3) + time '21:00') at time zone 'Europe/Berlin'
  from c
  union all
  select 'physio', null, null, 'Book physio check for left knee',
         'Knee felt stiff after Friday''s run. Get it checked before the distances go up.',
         ((c.today + 4) + time '12:30') at time zone 'Europe/Berlin', 10, null, null,
         ((c.today - 1) + time '21:06') at time zone 'Europe/Berlin'
  from c
  union all
  select 'haircut', null, null, 'Haircut at Salon Kiez', null,
         ((c.today + 2) + time '12:00') at time zone 'Europe/Berlin', 30, null, null,
         ((c.today - 6) + time '18:00') at time zone 'Europe/Berlin'
  from c
  union all
  select 'location', null, null, 'Return the empty bottles (Pfand)', 'The bag by the door.',
         null, 10, null, '{"place": "home", "event": "leave"}'::jsonb,
         ((c.today - 1) + time '21:10') at time zone 'Europe/Berlin'
  from c
),
plan as materialized (
  select gen_random_uuid() as id, o.*,
    case
      when o.kind = 'location' then 'pending'
      when o.kind = 'haircut' then 'cancelled'
      when o.at >= c.now then 'pending'
      when o.kind = 'run' and o.i in (0, 7, 14) then 'missed'
      when o.kind = 'run' and o.i = 9 then 'rescheduled'
      else 'done'
    end as status,
    case
      when o.kind in ('location', 'haircut') or o.at >= c.now then null
      when o.kind = 'run' and o.i = 0 then 'call:missed'      -- answered the call, pressed 3
      when o.kind = 'run' and o.i in (7, 14) then 'auto_miss:'
      when o.kind = 'run' and o.i = 9 then 'push:reschedule'
      when o.kind = 'run' and o.i = 4 then 'whatsapp:done'    -- replied "1"
      when o.kind = 'run' and o.i = 11 then 'call:done'       -- pressed 1
      when o.kind = 'budget' and o.i = -6 then 'whatsapp:done'
      when o.kind = 'call_mum' then 'whatsapp:done'
      else 'push:done'
    end as path,
    (o.kind = 'run' and o.i = 7) as wa_failed                -- Twilio outage: WhatsApp failed
  from occ o, c
),
p as (
  select x.*,
    case x.last_stage
      when 1 then x.at - interval '4 minutes' + x.j
      when 2 then x.at + c.win + interval '30 seconds' + x.j / 4
      when 3 then x.at + 2 * c.win + interval '40 seconds' + x.j / 8
    end as resp_at
  from (
    select plan.*,
      case split_part(plan.path, ':', 1)
        when 'push' then 1 when 'whatsapp' then 2 when 'call' then 3 when 'auto_miss' then 4
      end as last_stage,
      nullif(split_part(plan.path, ':', 2), '') as resp,
      (abs(hashtext(plan.title || plan.at::text)) % 240) * interval '1 second' as j
    from plan
  ) x, c
),
ins as (
  insert into public.tasks (id, user_id, goal_id, title, description, status, scheduled_at,
                            duration_minutes, trigger_type, location_trigger, recurrence_rule,
                            escalation_policy, escalation_stage, escalation_due_at,
                            reminder_sent_at, whatsapp_sent_at, call_sent_at, completed_at, created_at)
  select p.id, '11111111-1111-4111-8111-111111111111', p.goal_id, p.title, p.descr, p.status::public.task_status, p.at,
         p.dur, (case when p.loc is null then 'time' else 'location' end)::public.trigger_type, p.loc, p.rrule,
         'full',
         (case when p.status = 'pending' and p.at is not null then 'push' end)::public.escalation_stage,
         case when p.status = 'pending' and p.at is not null then p.at - c.lead end,
         case when p.last_stage >= 1 then p.at - c.lead end,
         case when p.last_stage >= 2 then p.at + c.win end,
         case when p.last_stage >= 3 then p.at + 2 * c.win end,
         case when p.status = 'done' then p.resp_at end,
         p.created
  from p, c
  returning id
),
ladder as (
  select p.id, p.last_stage, p.resp, p.resp_at, p.wa_failed, st.stage, st.channel,
         case when st.stage = 1 then p.at - c.lead else p.at + (st.stage - 1) * c.win end as stage_at
  from p cross join c
  join (values (1, 'push'), (2, 'whatsapp'), (3, 'call'), (4, 'auto_miss')) st(stage, channel)
    on st.stage <= p.last_stage
),
nl as (
  insert into public.notification_log (user_id, task_id, channel, external_id, sent_at, response, responded_at)
  select '11111111-1111-4111-8111-111111111111', l.id, l.channel::public.notification_channel,
         case l.channel when 'whatsapp' then 'SM' || md5(l.id::text || ':whatsapp')
                        when 'call' then 'CA' || md5(l.id::text || ':call') end,
         l.stage_at + interval '1.3 seconds',
         (case when l.stage = l.last_stage then l.resp else 'no_response' end)::public.reminder_response,
         case when l.stage = l.last_stage then l.resp_at end
  from ladder l
  where l.channel <> 'auto_miss' and not (l.wa_failed and l.channel = 'whatsapp')
)
insert into public.dispatch_log (user_id, task_id, channel, status, attempts, error, created_at, dispatched_at)
select '11111111-1111-4111-8111-111111111111', l.id, l.channel::public.escalation_stage,
       (case when l.wa_failed and l.channel = 'whatsapp' then 'failed' else 'dispatched' end)::public.dispatch_status,
       case when l.wa_failed and l.channel = 'whatsapp' then 3 else 1 end,
       case when l.wa_failed and l.channel = 'whatsapp'
            then 'twilio: POST /2010-04-01/Accounts/{AccountSid}/Messages.json: 503 Service Unavailable (gave up after 3 attempts)' end,
       l.stage_at,
       case when not (l.wa_failed and l.channel = 'whatsapp') then l.stage_at + interval '1.3 seconds' end
from ladder l;

-- Sam: lead 15 min, window 3 min, policy gentle (push, WhatsApp, auto-miss); WhatsApp needs a
-- verified phone, so the stage is skipped and only push and auto-miss remain.
with c as (
  select t.today, t.today - 12 as s, flux.now() as now,
         interval '15 minutes' as lead, interval '3 minutes' as win,
         ((t.today - 12 + 7) + time '20:41') at time zone 'America/New_York' as abandoned_at
  from (select (flux.now() at time zone 'America/New_York')::date as today) t
),
occ as (
  -- Sprint 1 of Spanish: every evening at 21:30 (after choir on Wednesdays), longer from week 3.
  select 'spanish' as kind, g.i, '2a000000-0000-4000-8000-000000000002'::uuid as goal_id,
         w.title, 'Week ' || (g.i / 7 + 1) || ' of 6.' as descr,
         ((c.s + g.i) + time '21:30') at time zone 'America/New_York' as at,
         w.dur, 'FREQ=DAILY' as rrule, null::jsonb as loc,
         ((c.s - 1) + time '20:16') at time zone 'America/New_York' as created
  from c, generate_series(0, 41) g(i)
  join (values
    (0, 'Spanish: 10 new words + one app lesson', 15),
    (1, 'Spanish: 15 words + shadow a short dialogue', 20),
    (2, 'Spanish: 5-minute monologue about your day + 15 words', 25)
  ) w(blk, title, dur) on w.blk = g.i / 14
  union all
  select 'podcast', g.i, '2a000000-0000-4000-8000-000000000002',
         'Coffee Break Spanish: one episode on the way home', null,
         ((c.s + g.i) + time '18:45') at time zone 'America/New_York', 30, 'FREQ=WEEKLY;BYDAY=TU,TH', null,
         ((c.s - 1) + time '20:16') at time zone 'America/New_York'
  from c, generate_series(0, 41) g(i)
  where extract(isodow from c.s + g.i) in (2, 4)
  union all
  -- The abandoned goal: daily 08:15 from the morning after sign-up, six weeks.
  select 'meditate', g.i, '2a000000-0000-4000-8000-000000000004', 'Meditate for 10 minutes',
         'Guided session in the app, right after waking up.',
         ((c.s + g.i) + time '08:15') at time zone 'America/New_York', 10, 'FREQ=DAILY', null,
         ((c.s - 6) + time '21:32') at time zone 'America/New_York'
  from c, generate_series(-5, 36) g(i)
  union all
  -- A commitment from onboarding, pre-seeded as a standalone recurring task for six weeks.
  select 'choir', g.i, null, 'Choir rehearsal', 'St. Mark''s, bring the new score.',
         ((c.s + g.i) + time '19:30') at time zone 'America/New_York', 90, 'FREQ=WEEKLY;BYDAY=WE', null,
         ((c.s - 6) + time '21:19') at time zone 'America/New_York'
  from c, generate_series(-5, 36) g(i)
  where extract(isodow from c.s + g.i) = 3
  union all
  select 'rent', 3, null, 'Send rent to landlord', null,
         ((c.s + 3) + time '09:30') at time zone 'America/New_York', 10, null, null,
         ((c.s + 2) + time '22:40') at time zone 'America/New_York'
  from c
  union all
  select 'flights', null, null, 'Book flights to Mexico City', 'Compare JFK and LGA, check the April dates.',
         ((c.today + 3) + time '22:15') at time zone 'America/New_York', 30, null, null,
         ((c.today - 2) + time '22:30') at time zone 'America/New_York'
  from c
  union all
  select 'location', null, null, 'Pick up the package from the mailroom', null,
         null, 5, null, '{"place": "work", "event": "arrive"}'::jsonb,
         ((c.today - 1) + time '23:02') at time zone 'America/New_York'
  from c
),
plan as materialized (
  select gen_random_uuid() as id, o.*,
    case
      when o.kind = 'location' then 'pending'
      when o.kind = 'meditate' and o.at >= c.abandoned_at then 'cancelled'
      when o.at >= c.now then 'pending'
      when o.kind = 'spanish' and extract(isodow from c.s + o.i) = 5 then 'missed'
      when o.kind = 'podcast' and o.i < 7 and extract(isodow from c.s + o.i) = 4 then 'missed'
      when o.kind = 'meditate' and o.i + 5 not in (0, 1, 6) then 'missed'
      else 'done'
    end as status,
    case
      when o.kind = 'location' or (o.kind = 'meditate' and o.at >= c.abandoned_at) or o.at >= c.now then null
      when o.kind = 'spanish' and extract(isodow from c.s + o.i) = 5 and o.i < 7 then 'auto_miss:'
      when o.kind = 'spanish' and extract(isodow from c.s + o.i) = 5 then 'push:missed'   -- night out
      when o.kind = 'podcast' and o.i < 7 and extract(isodow from c.s + o.i) = 4 then 'auto_miss:'
      when o.kind = 'meditate' and o.i + 5 in (4, 9) then 'push:missed'
      when o.kind = 'meditate' and o.i + 5 not in (0, 1, 6) then 'auto_miss:'
      else 'push:done'
    end as path
  from occ o, c
),
p as (
  select x.*,
    case x.last_stage when 1 then x.at - interval '4 minutes' + x.j end as resp_at
  from (
    select plan.*,
      case split_part(plan.path, ':', 1) when 'push' then 1 when 'auto_miss' then 4 end as last_stage,
      nullif(split_part(plan.path, ':', 2), '') as resp,
      (abs(hashtext(plan.title || plan.at::text)) % 240) * interval '1 second' as j
    from plan
  ) x
),
ins as (
  insert into public.tasks (id, user_id, goal_id, title, description, status, scheduled_at,
                            duration_minutes, trigger_type, location_trigger, recurrence_rule,
                            escalation_policy, escalation_stage, escalation_due_at,
                            reminder_sent_at, completed_at, created_at)
  select p.id, '22222222-2222-4222-8222-222222222222', p.goal_id, p.title, p.descr, p.status::public.task_status, p.at,
         p.dur, (case when p.loc is null then 'time' else 'location' end)::public.trigger_type, p.loc, p.rrule,
         'gentle',
         (case when p.status = 'pending' and p.at is not null then 'push' end)::public.escalation_stage,
         case when p.status = 'pending' and p.at is not null then p.at - c.lead end,
         case when p.last_stage >= 1 then p.at - c.lead end,
         case when p.status = 'done' then p.resp_at end,
         p.created
  from p, c
  returning id
),
ladder as (
  select p.id, p.last_stage, p.resp, p.resp_at, st.stage, st.channel,
         case when st.stage = 1 then p.at - c.lead else p.at + (st.stage - 1) * c.win end as stage_at
  from p cross join c
  join (values (1, 'push'), (4, 'auto_miss')) st(stage, channel) on st.stage <= p.last_stage
),
nl as (
  insert into public.notification_log (user_id, task_id, channel, external_id, sent_at, response, responded_at)
  select '22222222-2222-4222-8222-222222222222', l.id, l.channel::public.notification_channel, null,
         l.stage_at + interval '0.8 seconds',
         (case when l.stage = l.last_stage then l.resp else 'no_response' end)::public.reminder_response,
         case when l.stage = l.last_stage then l.resp_at end
  from ladder l
  where l.channel <> 'auto_miss'
)
insert into public.dispatch_log (user_id, task_id, channel, status, attempts, created_at, dispatched_at)
select '22222222-2222-4222-8222-222222222222', l.id, l.channel::public.escalation_stage, 'dispatched', 1,
       l.stage_at, l.stage_at + interval '0.8 seconds'
from ladder l;

-- 6. Conversations (fixed ids and thread ids). last_message_at is kept by a trigger on messages.
insert into public.conversations (id, user_id, thread_id, context_type, created_at)
select v.id::uuid, '11111111-1111-4111-8111-111111111111', v.thread_id::uuid, v.context_type::public.context_type, v.created_at
from (
  select t.today, t.today - extract(isodow from t.today - 1)::int - 14 as s
  from (select (flux.now() at time zone 'Europe/Berlin')::date as today) t
) c
cross join lateral (values
  ('1c000000-0000-4000-8000-000000000001', '1d000000-0000-4000-8000-000000000001', 'onboarding',
   ((c.s - 12) + time '19:40') at time zone 'Europe/Berlin'),
  ('1c000000-0000-4000-8000-000000000002', '1d000000-0000-4000-8000-000000000002', 'goal',
   ((c.s - 2) + time '09:10') at time zone 'Europe/Berlin'),
  ('1c000000-0000-4000-8000-000000000003', '1d000000-0000-4000-8000-000000000003', 'reschedule',
   ((c.s + 14) + time '07:07') at time zone 'Europe/Berlin'),
  ('1c000000-0000-4000-8000-000000000004', '1d000000-0000-4000-8000-000000000004', 'task',
   ((c.today - 1) + time '21:04') at time zone 'Europe/Berlin')
) v(id, thread_id, context_type, created_at);

insert into public.conversations (id, user_id, thread_id, context_type, created_at)
select v.id::uuid, '22222222-2222-4222-8222-222222222222', v.thread_id::uuid, v.context_type::public.context_type, v.created_at
from (
  select t.today, t.today - 12 as s
  from (select (flux.now() at time zone 'America/New_York')::date as today) t
) c
cross join lateral (values
  ('2c000000-0000-4000-8000-000000000001', '2d000000-0000-4000-8000-000000000001', 'onboarding',
   ((c.s - 6) + time '21:10') at time zone 'America/New_York'),
  ('2c000000-0000-4000-8000-000000000002', '2d000000-0000-4000-8000-000000000002', 'goal',
   ((c.s - 1) + time '20:02') at time zone 'America/New_York'),
  ('2c000000-0000-4000-8000-000000000003', '2d000000-0000-4000-8000-000000000003', 'goal',
   ((c.s + 7) + time '20:38') at time zone 'America/New_York')
) v(id, thread_id, context_type, created_at);

-- 7. Messages, timed from the start of their conversation. Assistant and summary rows name the
-- agent node, the provider (OpenRouter) and the model (in metadata); plan cards are built from the
-- plan snapshots of the goals.

-- Alex, onboarding. The summarizer folded the exchange into a summary once it passed 20 messages.
insert into public.messages (conversation_id, user_id, role, content, agent_node, tokens_used, provider, metadata, created_at)
select cv.id, cv.user_id, m.role::public.message_role, m.content, m.node, m.tokens,
       case when m.role <> 'user' then 'openrouter' end,
       case when m.role = 'user' then '{}'::jsonb
            else jsonb_build_object('model', case m.node when 'goal_planner' then 'anthropic/claude-sonnet-4'
                                                         when 'summarizer' then 'openai/gpt-4o-mini'
                                                         else 'openai/gpt-4o' end) || coalesce(m.meta, '{}') end,
       cv.created_at + m.off
from public.conversations cv
cross join lateral (values
  (interval '0 seconds', 'assistant', 'Hi, I’m Flux 👋 Tell me what you want to get done and I’ll turn it into a plan and nudge you until it happens. What should I call you?', 'onboarding', 212, '{"question": {"field": "name"}}'::jsonb),
  (interval '48 seconds', 'user', 'Alex', null, 0, null),
  (interval '55 seconds', 'assistant', 'Nice to meet you, Alex! When do you usually wake up, and when do you go to bed?', 'onboarding', 246, '{"question": {"field": "sleep_window"}}'),
  (interval '1 minute 40 seconds', 'user', 'Up at 6:30 on weekdays, in bed by 11', null, 0, null),
  (interval '1 minute 46 seconds', 'assistant', 'Got it: you sleep 23:00–06:30, and I’ll never schedule anything in there. What are your work hours?', 'onboarding', 288, '{"question": {"field": "work_hours"}}'),
  (interval '2 minutes 30 seconds', 'user', '9 to 5:30, Monday to Friday', null, 0, null),
  (interval '2 minutes 36 seconds', 'assistant', 'Are you more of a morning person or a night owl?', 'onboarding', 231, '{"question": {"field": "chronotype", "options": ["morning", "evening", "neutral"]}}'),
  (interval '2 minutes 52 seconds', 'user', 'Morning person, definitely', null, 0, null),
  (interval '2 minutes 58 seconds', 'assistant', 'Your browser says you’re in Europe/Berlin. Is that right? And what should I call your home and work locations?', 'onboarding', 304, '{"question": {"field": "timezone", "detected": "Europe/Berlin"}}'),
  (interval '4 minutes 10 seconds', 'user', 'Yes, Berlin. Home is Kreuzberg, work is the office in Mitte', null, 0, null),
  (interval '4 minutes 17 seconds', 'assistant', 'Any regular commitments I should plan around?', 'onboarding', 219, '{"question": {"field": "existing_commitments"}}'),
  (interval '5 minutes 30 seconds', 'user', 'Climbing with Jonas every Thursday at 7pm, about two hours', null, 0, null),
  (interval '5 minutes 38 seconds', 'assistant', 'Added “Climbing with Jonas”, Thursdays 19:00–21:00. If you don’t react to a push reminder I can follow up on WhatsApp or with a call. What’s your mobile number?', 'onboarding', 356, '{"question": {"field": "phone_number"}}'),
  (interval '6 minutes 20 seconds', 'user', '+44 7700 900123', null, 0, null),
  (interval '6 minutes 26 seconds', 'assistant', 'I’ve texted you a 6-digit code. What is it?', 'onboarding', 198, '{"question": {"field": "phone_otp"}}'),
  (interval '7 minutes 5 seconds', 'user', '483920', null, 0, null),
  (interval '7 minutes 10 seconds', 'assistant', 'Verified ✅ May I send you reminders on WhatsApp? You can turn this off any time.', 'onboarding', 221, '{"question": {"field": "whatsapp_opt_in", "options": ["Yes", "No"]}}'),
  (interval '9 minutes 30 seconds', 'user', 'Yes', null, 0, null),
  (interval '9 minutes 36 seconds', 'assistant', 'You’re all set, Alex. What’s a first goal or task you’d like to start with?', 'onboarding', 243, null),
  (interval '33 minutes', 'user', 'I keep meaning to set up a proper monthly budget. Can we make that a thing?', null, 0, null),
  (interval '35 minutes 12 seconds', 'assistant', 'That fits in one week. Four short sessions: export your statements (Wednesday evening), sort spending into categories (Saturday morning), set limits (Tuesday), and a standing order to savings (Friday). Approve?', 'goal_planner', 1864, null),
  (interval '37 minutes 40 seconds', 'user', 'Perfect, approve', null, 0, null),
  (interval '38 minutes', 'assistant', 'Approved ✅ “Set up a monthly budget” is live with 4 tasks. The first one is tonight at 20:30.', 'goal_planner', 412, '{"approved": true, "goal_id": "1a000000-0000-4000-8000-000000000005", "tasks_created": 4}'),
  (interval '38 minutes 30 seconds', 'summary', 'Onboarding: sleeps 23:00–06:30, works 09:00–17:30 Mon–Fri, morning person, Europe/Berlin; home Kreuzberg, work Mitte; climbing Thursdays 19:00 for 2 h. Phone verified, WhatsApp opted in. First goal: a monthly budget in one week (approved).', 'summarizer', 486, '{"summarized_messages": 19}')
) m(off, role, content, node, tokens, meta)
where cv.id = '1c000000-0000-4000-8000-000000000001';

-- Alex, planning the half marathon: the planner proposes, shows a plan card, the user approves.
insert into public.messages (conversation_id, user_id, role, content, agent_node, tokens_used, provider, metadata, created_at)
select cv.id, cv.user_id, m.role::public.message_role, m.content, m.node, m.tokens,
       case when m.role <> 'user' then 'openrouter' end,
       case when m.role = 'user' then '{}'::jsonb
            else jsonb_build_object('model', 'anthropic/claude-sonnet-4') || coalesce(m.meta, '{}') end,
       cv.created_at + m.off
from public.conversations cv
cross join lateral (
  select jsonb_build_object(
           'card', jsonb_build_object(
             'type', 'plan',
             'goal_id', g.id,
             'title', g.title,
             'class_tags', to_jsonb(g.class_tags),
             'first_sprint', jsonb_build_object('goal_id', '1a000000-0000-4000-8000-000000000002',
                                                'title', 'Run 5K without stopping', 'target_weeks', 6),
             'plan', (g.plan - 'approved_at') || '{"approval_status": "pending"}'),
           'actions', '["approve", "change"]'::jsonb) as card
  from public.goals g
  where g.id = '1a000000-0000-4000-8000-000000000001'
) pc
cross join lateral (values
  (interval '0 seconds', 'user', 'I want to run a half marathon next spring. Right now I can barely run 2K without stopping though.', null::text, 0, null::jsonb),
  (interval '9 seconds', 'assistant', 'Love it. Going from about 2K to 21.1 km is too much for one sprint, so I’d build it as three 6-week sprints: run 5K without stopping, then 10K, then 21K. Focused 6-week sprints keep a success rate above 70%, so each one is a goal you can actually finish. Is there a race you’re aiming for, and what time of day suits you for runs?', 'goal_planner', 1418, '{"intent": "GOAL", "questions": ["race_date", "preferred_time"]}'),
  (interval '3 minutes', 'user', 'The Berlin Half in early April. Mornings before work. I’m up at 6:30 anyway.', null, 0, null),
  (interval '3 minutes 24 seconds', 'assistant', 'Here’s sprint 1 of 3, “Run 5K without stopping”: Monday, Wednesday and Friday at 07:00, run-walk sessions that start almost too easy (1 min run / 2 min walk, 20 minutes) and build to a continuous 5K in week 6, plus 15 minutes of stretching on Sunday mornings. Thursdays stay free for climbing. Approve, or tell me what to change.', 'goal_planner', 3126, pc.card),
  (interval '13 minutes 40 seconds', 'user', 'Looks great. Approve!', null, 0, null),
  (interval '14 minutes', 'assistant', 'Approved 🎉 Your half-marathon plan is live. Sprint 1 starts on Monday with 18 runs and 6 stretching sessions in your calendar; the 10K and 21K sprints are queued and start when the one before ends.', 'goal_planner', 644, '{"approved": true, "goal_id": "1a000000-0000-4000-8000-000000000001", "active_micro_goal_id": "1a000000-0000-4000-8000-000000000002", "tasks_created": 24}')
) m(off, role, content, node, tokens, meta)
where cv.id = '1c000000-0000-4000-8000-000000000002';

-- Alex, after the third missed Monday: the Pattern Observer proposes a move, the user accepts.
insert into public.messages (conversation_id, user_id, role, content, agent_node, tokens_used, provider, metadata, created_at)
select cv.id, cv.user_id, m.role::public.message_role, m.content, m.node, m.tokens,
       case when m.role <> 'user' then 'openrouter' end,
       case when m.role = 'user' then '{}'::jsonb
            else jsonb_build_object('model', m.model) || coalesce(m.meta, '{}') end,
       cv.created_at + m.off
from public.conversations cv
cross join lateral (values
  (interval '0 seconds', 'assistant', 'I noticed your Monday 07:00 run has slipped three weeks in a row, while every Wednesday and Friday run got done. Want me to move the remaining Monday runs to 18:30, after work?', 'pattern_observer', 892, 'openai/gpt-4o-mini', '{"pattern": {"pattern_type": "time_avoidance", "day": "MO", "time_range": "06:00-09:00", "misses": 3, "confidence": 0.72}, "proposal": {"from": "07:00", "to": "18:30", "occurrences": 3}, "actions": ["accept", "keep"]}'::jsonb),
  (interval '5 hours 34 minutes', 'user', 'Yes please. Monday mornings are brutal.', null, 0, null, null),
  (interval '5 hours 34 minutes 6 seconds', 'assistant', 'Done. Your next 3 Monday runs start at 18:30; Wednesday and Friday stay at 07:00.', 'reschedule', 406, 'openai/gpt-4o', '{"rescheduled": 3, "goal_id": "1a000000-0000-4000-8000-000000000002"}')
) m(off, role, content, node, tokens, model, meta)
where cv.id = '1c000000-0000-4000-8000-000000000003';

-- Alex, yesterday evening: a time task needs a clarification, a location task does not.
insert into public.messages (conversation_id, user_id, role, content, agent_node, tokens_used, provider, metadata, created_at)
select cv.id, cv.user_id, m.role::public.message_role, m.content, m.node, m.tokens,
       case when m.role <> 'user' then 'openrouter' end,
       case when m.role = 'user' then '{}'::jsonb
            else jsonb_build_object('model', 'openai/gpt-4o') || coalesce(m.meta, '{}') end,
       cv.created_at + m.off
from public.conversations cv
cross join lateral (
  select to_char((flux.now() at time zone 'Europe/Berlin')::date + 4, 'FMDay') as physio_day
) d
cross join lateral (values
  (interval '0 seconds', 'user', 'Remind me to book a physio appointment, my left knee felt stiff after Friday’s run', null::text, 0, null::jsonb),
  (interval '5 seconds', 'assistant', 'Sure. When should I remind you?', 'orchestrator', 318, '{"intent": "CLARIFY", "clarification_question": "When should I remind you?", "pending_intent": "NEW_TASK"}'),
  (interval '1 minute 10 seconds', 'user', d.physio_day || ' at lunch, 12:30', null, 0, null),
  (interval '1 minute 16 seconds', 'assistant', 'Scheduled “Book physio check for left knee” for ' || d.physio_day || ' at 12:30.', 'task_handler', 574, '{"intent": "NEW_TASK", "task": {"title": "Book physio check for left knee", "local_time": "12:30", "duration_minutes": 10}}'),
  (interval '5 minutes 40 seconds', 'user', 'And next time I leave home, remind me to take the empty bottles back', null, 0, null),
  (interval '5 minutes 46 seconds', 'assistant', 'Got it. I’ll remind you to return the empty bottles when you leave home.', 'task_handler', 521, '{"intent": "NEW_TASK", "task": {"title": "Return the empty bottles (Pfand)", "trigger_type": "location", "location_trigger": {"place": "home", "event": "leave"}}}')
) m(off, role, content, node, tokens, meta)
where cv.id = '1c000000-0000-4000-8000-000000000004';

-- Sam, onboarding: the phone number is left unverified; the first goal is morning meditation.
insert into public.messages (conversation_id, user_id, role, content, agent_node, tokens_used, provider, metadata, created_at)
select cv.id, cv.user_id, m.role::public.message_role, m.content, m.node, m.tokens,
       case when m.role <> 'user' then 'openrouter' end,
       case when m.role = 'user' then '{}'::jsonb
            else jsonb_build_object('model', case m.node when 'goal_planner' then 'anthropic/claude-sonnet-4'
                                                         else 'openai/gpt-4o' end) || coalesce(m.meta, '{}') end,
       cv.created_at + m.off
from public.conversations cv
cross join lateral (values
  (interval '0 seconds', 'assistant', 'Hi, I’m Flux 👋 Tell me what you want to get done and I’ll turn it into a plan and nudge you until it happens. What should I call you?', 'onboarding', 212, '{"question": {"field": "name"}}'::jsonb),
  (interval '30 seconds', 'user', 'Sam', null, 0, null),
  (interval '36 seconds', 'assistant', 'Hi Sam! When do you usually wake up, and when do you go to bed?', 'onboarding', 239, '{"question": {"field": "sleep_window"}}'),
  (interval '1 minute 20 seconds', 'user', 'I’m a night owl. Bed around 12:30, up at 8', null, 0, null),
  (interval '1 minute 26 seconds', 'assistant', 'Got it: you sleep 00:30–08:00. What are your work hours?', 'onboarding', 262, '{"question": {"field": "work_hours"}}'),
  (interval '2 minutes 10 seconds', 'user', '10 to 6:30 on weekdays, at the studio in Brooklyn', null, 0, null),
  (interval '2 minutes 17 seconds', 'assistant', 'Sounds like you’re an evening person. Right? Your browser says America/New_York, and what should I call home?', 'onboarding', 301, '{"question": {"field": "chronotype", "detected_timezone": "America/New_York"}}'),
  (interval '3 minutes 5 seconds', 'user', 'Yep, evening person, and yes NYC. Home is Astoria.', null, 0, null),
  (interval '3 minutes 11 seconds', 'assistant', 'Any regular commitments I should plan around?', 'onboarding', 219, '{"question": {"field": "existing_commitments"}}'),
  (interval '4 minutes', 'user', 'Choir on Wednesdays, 7:30 to 9', null, 0, null),
  (interval '4 minutes 8 seconds', 'assistant', 'Added “Choir rehearsal”, Wednesdays 19:30–21:00. If you miss a push reminder I can follow up on WhatsApp or with a call. What’s your mobile number?', 'onboarding', 349, '{"question": {"field": "phone_number"}}'),
  (interval '5 minutes 30 seconds', 'user', '+1 202 555 0143, but I’ll verify it later', null, 0, null),
  (interval '5 minutes 37 seconds', 'assistant', 'No problem, you can verify it in Settings whenever you like. Until then I’ll remind you with push notifications only. What would you like to start with?', 'onboarding', 334, null),
  (interval '9 minutes', 'user', 'I want to meditate every morning', null, 0, null),
  (interval '10 minutes 40 seconds', 'assistant', 'Here’s a gentle 6-week plan: 10 minutes of guided meditation at 08:15, right after you wake up, every day. Week 1 is deliberately short so it’s easy to start. Approve?', 'goal_planner', 2214, '{"card": {"type": "plan", "goal_id": "2a000000-0000-4000-8000-000000000004", "title": "Meditate every morning"}, "actions": ["approve", "change"]}'),
  (interval '21 minutes 50 seconds', 'user', 'Sounds good, approve', null, 0, null),
  (interval '22 minutes', 'assistant', 'Approved ✅ 42 morning sessions are scheduled, starting tomorrow at 08:15.', 'goal_planner', 388, '{"approved": true, "goal_id": "2a000000-0000-4000-8000-000000000004", "tasks_created": 42}')
) m(off, role, content, node, tokens, meta)
where cv.id = '2c000000-0000-4000-8000-000000000001';

-- Sam, planning Spanish: evenings only, with a plan card.
insert into public.messages (conversation_id, user_id, role, content, agent_node, tokens_used, provider, metadata, created_at)
select cv.id, cv.user_id, m.role::public.message_role, m.content, m.node, m.tokens,
       case when m.role <> 'user' then 'openrouter' end,
       case when m.role = 'user' then '{}'::jsonb
            else jsonb_build_object('model', 'anthropic/claude-sonnet-4') || coalesce(m.meta, '{}') end,
       cv.created_at + m.off
from public.conversations cv
cross join lateral (
  select jsonb_build_object(
           'card', jsonb_build_object(
             'type', 'plan',
             'goal_id', g.id,
             'title', g.title,
             'class_tags', to_jsonb(g.class_tags),
             'first_sprint', jsonb_build_object('goal_id', '2a000000-0000-4000-8000-000000000002',
                                                'title', 'Spanish foundations: 500 words and the present tense',
                                                'target_weeks', 6),
             'plan', (g.plan - 'approved_at') || '{"approval_status": "pending"}'),
           'actions', '["approve", "change"]'::jsonb) as card
  from public.goals g
  where g.id = '2a000000-0000-4000-8000-000000000001'
) pc
cross join lateral (values
  (interval '0 seconds', 'user', 'I’m going to Mexico City in the spring and want to actually talk to people. Can you help me learn conversational Spanish?', null::text, 0, null::jsonb),
  (interval '10 seconds', 'assistant', '¡Claro! I’d do it in two 6-week sprints: foundations first (500 common words and the present tense), then weekly conversations with a tutor. Mornings have been hard for you, so I’ll keep Spanish in the evening. How much time can you give it on a normal day?', 'goal_planner', 1376, '{"intent": "GOAL", "questions": ["daily_minutes"]}'),
  (interval '2 minutes 30 seconds', 'user', '20 minutes a day is realistic. Maybe a podcast on the way home too.', null, 0, null),
  (interval '2 minutes 56 seconds', 'assistant', 'Sprint 1, “Spanish foundations”: 15 minutes every evening at 21:30 (after choir on Wednesdays), growing to 25 minutes by week 5, plus a Coffee Break Spanish episode on your Tuesday and Thursday commute home at 18:45. The tutor sprint waits in the queue. Approve, or tell me what to change.', 'goal_planner', 2982, pc.card),
  (interval '13 minutes 50 seconds', 'user', 'Approve', null, 0, null),
  (interval '14 minutes', 'assistant', 'Approved 🎉 42 evening sessions and 12 podcast episodes are in your calendar, starting tomorrow.', 'goal_planner', 517, '{"approved": true, "goal_id": "2a000000-0000-4000-8000-000000000001", "active_micro_goal_id": "2a000000-0000-4000-8000-000000000002", "tasks_created": 54}')
) m(off, role, content, node, tokens, meta)
where cv.id = '2c000000-0000-4000-8000-000000000002';

-- Sam, five days ago: abandoning the meditation goal (the orchestrator confirms first).
insert into public.messages (conversation_id, user_id, role, content, agent_node, tokens_used, provider, metadata, created_at)
select cv.id, cv.user_id, m.role::public.message_role, m.content, m.node, m.tokens,
       case when m.role <> 'user' then 'openrouter' end,
       case when m.role = 'user' then '{}'::jsonb
            else jsonb_build_object('model', 'openai/gpt-4o') || coalesce(m.meta, '{}') end,
       cv.created_at + m.off
from public.conversations cv
cross join lateral (
  select count(*) as cancelled
  from public.tasks t
  where t.goal_id = '2a000000-0000-4000-8000-000000000004' and t.status = 'cancelled'
) n
cross join lateral (values
  (interval '0 seconds', 'user', 'Honestly, the morning meditation isn’t happening. Let’s drop it.', null::text, 0, null::jsonb),
  (interval '6 seconds', 'assistant', 'Just to confirm: abandon “Meditate every morning”? Its remaining ' || n.cancelled || ' sessions will be cancelled; your Spanish plan stays as it is.', 'orchestrator', 342, jsonb_build_object('intent', 'MODIFY_GOAL', 'goal_id', '2a000000-0000-4000-8000-000000000004', 'actions', jsonb_build_array('confirm', 'keep'))),
  (interval '2 minutes 40 seconds', 'user', 'Yes, abandon it', null, 0, null),
  (interval '2 minutes 47 seconds', 'assistant', 'Done. “Meditate every morning” is abandoned and its remaining sessions are cancelled. I’ve also noted that mornings before 9 don’t work for you.', 'goal_modifier', 296, jsonb_build_object('goal_id', '2a000000-0000-4000-8000-000000000004', 'status', 'abandoned', 'tasks_cancelled', n.cancelled))
) m(off, role, content, node, tokens, meta)
where cv.id = '2c000000-0000-4000-8000-000000000003';

-- 8. Patterns, computed from the tasks above so the numbers agree with the analytics.
-- Alex: Monday-morning avoidance, a Wednesday/Friday streak, performance per category.
insert into public.patterns (user_id, pattern_type, description, data, confidence, created_at, updated_at)
select '11111111-1111-4111-8111-111111111111', v.pattern_type::public.pattern_type, v.description, v.data, v.confidence, v.at, v.at
from (
  select t.today - extract(isodow from t.today - 1)::int - 14 as s
  from (select (flux.now() at time zone 'Europe/Berlin')::date as today) t
) c
cross join lateral (
  select count(*) filter (where t.status = 'missed'
                            and extract(isodow from t.scheduled_at at time zone 'Europe/Berlin') = 1) as monday_misses,
         count(*) filter (where t.status = 'done' and t.title <> 'Stretch & foam roll'
                            and extract(isodow from t.scheduled_at at time zone 'Europe/Berlin') in (3, 4, 5)) as midweek_done
  from public.tasks t
  where t.goal_id = '1a000000-0000-4000-8000-000000000002'
) n
cross join lateral (
  select jsonb_agg(jsonb_build_object('category', x.tag, 'done', x.done, 'total', x.total,
                                      'completion_rate', round(x.done::numeric / x.total, 2))
                   order by x.tag) as categories
  from (
    select tag, count(*) filter (where t.status = 'done') as done, count(*) as total
    from public.tasks t
    join public.goals g on g.id = t.goal_id
    cross join unnest(g.class_tags) tag
    where t.user_id = '11111111-1111-4111-8111-111111111111' and t.status in ('done', 'missed')
    group by tag
  ) x
) cp
cross join lateral (values
  ('time_avoidance',
   'Monday mornings: the 07:00 run was missed ' || n.monday_misses || ' Mondays in a row, while Wednesday and Friday runs at the same time were done.',
   jsonb_build_object('day', 'MO', 'time_range', '06:00-09:00', 'misses', n.monday_misses,
                      'consecutive_weeks', n.monday_misses, 'category', 'Fitness',
                      'suggestion', 'Move Monday runs to 18:30, after work.', 'accepted', true),
   0.72, ((c.s + 14) + time '07:07') at time zone 'Europe/Berlin'),
  ('completion_streak',
   n.midweek_done || ' midweek morning runs done in a row since the 5K sprint started.',
   jsonb_build_object('streak', n.midweek_done, 'unit', 'sessions', 'scope', 'Wednesday/Friday 07:00 runs',
                      'since', c.s::text, 'best_time', '07:00'),
   0.85, ((c.s + 14) + time '07:07') at time zone 'Europe/Berlin'),
  ('category_performance',
   'Budget tasks were all done; fitness sessions are done except on Monday mornings.',
   jsonb_build_object('categories', cp.categories),
   0.60, ((c.s + 14) + time '07:07') at time zone 'Europe/Berlin')
) v(pattern_type, description, data, confidence, at);

-- Sam: the morning-avoidance pattern Sam overrode ("nothing before 9"), the evening streak, categories.
insert into public.patterns (user_id, pattern_type, description, data, confidence, created_at, updated_at)
select '22222222-2222-4222-8222-222222222222', v.pattern_type::public.pattern_type, v.description, v.data, v.confidence, v.created_at, v.updated_at
from (
  select t.today - 12 as s
  from (select (flux.now() at time zone 'America/New_York')::date as today) t
) c
cross join lateral (
  select count(*) filter (where t.goal_id = '2a000000-0000-4000-8000-000000000004' and t.status = 'missed') as morning_misses,
         count(*) filter (where t.goal_id = '2a000000-0000-4000-8000-000000000002' and t.recurrence_rule = 'FREQ=DAILY'
                            and t.status = 'done'
                            and t.scheduled_at > coalesce((select max(m.scheduled_at) from public.tasks m
                                                           where m.goal_id = '2a000000-0000-4000-8000-000000000002'
                                                             and m.recurrence_rule = 'FREQ=DAILY'
                                                             and m.status = 'missed'), '-infinity')) as streak
  from public.tasks t
  where t.user_id = '22222222-2222-4222-8222-222222222222'
) n
cross join lateral (
  select jsonb_agg(jsonb_build_object('category', x.tag, 'done', x.done, 'total', x.total,
                                      'completion_rate', round(x.done::numeric / x.total, 2))
                   order by x.tag) as categories
  from (
    select tag, count(*) filter (where t.status = 'done') as done, count(*) as total
    from public.tasks t
    join public.goals g on g.id = t.goal_id
    cross join unnest(g.class_tags) tag
    where t.user_id = '22222222-2222-4222-8222-222222222222' and t.status in ('done', 'missed')
    group by tag
  ) x
) cp
cross join lateral (values
  -- Edited by Sam in the app: description, confidence and the override flag are now owned by Sam.
  ('time_avoidance',
   'Nothing before 9, any day. Mornings are for coffee, not habits.',
   jsonb_build_object('day', 'all', 'time_range', '06:00-09:00', 'misses', n.morning_misses,
                      'category', 'Mental Health', 'observer_confidence', 0.78,
                      'observer_description', 'Morning meditation at 08:15 was missed ' || n.morning_misses || ' times in two weeks.',
                      'user_overridden', true),
   0.95, ((c.s + 7) + time '20:41') at time zone 'America/New_York',
   ((c.s + 7) + time '20:52') at time zone 'America/New_York'),
  ('completion_streak',
   'Evening Spanish: ' || n.streak || ' days in a row.',
   jsonb_build_object('streak', n.streak, 'unit', 'days', 'scope', 'evening Spanish practice', 'best_time', '21:30'),
   0.45, (c.s + time '23:55') at time zone 'America/New_York',
   ((c.s + 7) + time '23:55') at time zone 'America/New_York'),
  ('category_performance',
   'Learning and travel prep stick in the evening; mental-health habits in the morning did not.',
   jsonb_build_object('categories', cp.categories),
   0.55, ((c.s + 7) + time '20:41') at time zone 'America/New_York',
   ((c.s + 7) + time '20:41') at time zone 'America/New_York')
) v(pattern_type, description, data, confidence, created_at, updated_at);

-- 9. Web Push subscriptions (one browser each), last used by the latest push sent.
insert into public.push_subscriptions (user_id, endpoint, p256dh, auth, user_agent, created_at, last_used_at)
select v.user_id::uuid, v.endpoint, v.p256dh, v.auth, v.user_agent, u.created_at + interval '10 minutes',
       (select max(d.dispatched_at) from public.dispatch_log d
        where d.user_id = u.id and d.channel = 'push' and d.status = 'dispatched')
from (values
  ('11111111-1111-4111-8111-111111111111',
   'https://push.example.invalid/fcm/send/dK3p9Qv7RZa:APA91bHfx2Lw8Tq0sYk4mN6cJ1uV5oE7rB3gD9hF2aS',
   'BldllGjLWNcLoGJIl4gHENE6dOJppO4wzORMi9uG70JASWMF5hHCZVLdIFjqehAK_hQJKyHhUt5ZAxJhpOxHO_M',
   '1UG1ZmDf95iWDVi3xfhTHg',
   'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'),
  ('22222222-2222-4222-8222-222222222222',
   'https://push.example.invalid/wpush/v2/gAAAAABnZCe4dXDc3iAdPj6BywdtFZEQdSGxasdYgrLRf2pg1ndXqFOFPLGEXUjC',
   'BWlz336q07wwCsIr-KEK4eD-h50mUha1nkCQPjUGbP4VpkrukzauAusdyiVnV6wN9GAlhfP-44Px8QawmZVRKtI',
   'ZfW43q5MblpG-4JMAayoEQ',
   'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0')
) v(user_id, endpoint, p256dh, auth, user_agent)
join public.users u on u.id = v.user_id::uuid;

-- 10. Token usage of the current month, from the assistant messages above.
update public.users u
set monthly_token_usage = jsonb_build_object(
      'total', x.total,
      'by_provider', case when x.total > 0 then jsonb_build_object('openrouter', x.total) else '{}'::jsonb end,
      'reset_at', to_char(date_trunc('month', flux.now() at time zone 'UTC') + interval '1 month',
                          'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
from (
  select uu.id,
         coalesce((select sum(m.tokens_used) from public.messages m
                   where m.user_id = uu.id
                     and m.created_at >= date_trunc('month', flux.now() at time zone 'UTC') at time zone 'UTC'), 0) as total
  from public.users uu
  where uu.id in ('11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222')
) x
where x.id = u.id;

-- 11. Agent bookkeeping. The seeded user messages were answered long ago: their runs are done
-- and no conversation is thinking, so `flux dev` does not answer history again. Every
-- conversation has its agent state, and each user a chat rate counter (rate limits are off in
-- development; the row stands for the last message), so the erasure tests cover these tables.
update flux.agent_runs r
set status = 'done', attempts = 1, finished_at = m.created_at
from public.messages m
where m.id = r.message_id
  and r.user_id in ('11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222');

update public.conversations set agent_status = 'idle'
where user_id in ('11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222');

insert into flux.agent_state (thread_id, user_id, state, updated_at)
select c.thread_id, c.user_id,
       case c.context_type when 'onboarding' then '{"onboarding": {"step": "done"}}' else '{}' end::jsonb,
       coalesce(c.last_message_at, c.created_at)
from public.conversations c
where c.user_id in ('11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222');

insert into flux.rate_counters (user_id, action, window_start, hits)
select m.user_id, 'chat messages', date_bin(interval '1 minute', max(m.created_at), timestamptz '2000-01-01'), 1
from public.messages m
where m.role = 'user'
  and m.user_id in ('11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222')
group by m.user_id;

-- 12. Phone verification. Sam asked for a code to his given number and has not typed it yet;
-- Alex changed phones this morning and a code is on its way to the new number (her verified
-- number stays until the new one is confirmed).
insert into flux.phone_verifications (user_id, phone_number, sent_at) values
  ('22222222-2222-4222-8222-222222222222', '+12025550143', flux.now() - interval '3 minutes'),
  ('11111111-1111-4111-8111-111111111111', '+447700900124', flux.now() - interval '1 minute');

-- 13. Webhook receipts: the replay guard of each answer that came by WhatsApp or call (the
-- provider's id of the reply). Sam answers in the app only, so his one receipt is an older
-- WhatsApp reply to a task that still exists.
insert into flux.webhook_receipts (provider_sid, task_id, user_id, response, received_at)
select 'SM' || md5(n.id::text || ':reply'), n.task_id, n.user_id, n.response::text, n.responded_at
from public.notification_log n
where n.user_id in ('11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222')
  and n.channel in ('whatsapp', 'call') and n.responded_at is not null and n.response <> 'no_response'
on conflict do nothing;
insert into flux.webhook_receipts (provider_sid, task_id, user_id, response, received_at)
select 'SM' || md5(t.id::text || ':sam-reply'), t.id, t.user_id, 'done', flux.now() - interval '2 days'
from public.tasks t
where t.user_id = '22222222-2222-4222-8222-222222222222'
order by t.created_at
limit 1
on conflict do nothing;
