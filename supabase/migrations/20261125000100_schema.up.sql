-- Flux schema: the tables of SPEC.md with their constraints and indexes.
--
-- Every user-owned row carries user_id referencing auth.users(id) ON DELETE CASCADE, so deleting
-- the auth user erases everything of theirs. Child rows reference their parent together with
-- user_id (composite foreign keys), so a row can never point at another user's goal, task or
-- conversation, whatever the caller passes.

-- The private schema: trigger functions, rollups and internals. PostgREST does not expose it.
create schema if not exists flux;
revoke all on schema flux from public;
comment on schema flux is
  'Flux internals (rollups, trigger functions, clock). Not exposed through PostgREST.';
-- API roles need USAGE only to run the few helpers granted to them below (the clock, validators
-- used by CHECK constraints and column defaults); they get no table in this schema.
grant usage on schema flux to authenticated, service_role;

-- One clock for SQL. The offset is the development time warp (0 in production); the Go service
-- reads the same row, so both sides agree on "now".
create table flux.clock (
  singleton boolean primary key default true check (singleton),
  warp interval not null default interval '0'
);
insert into flux.clock default values;
grant select on flux.clock to authenticated, service_role;

create function flux.now() returns timestamptz
language sql stable
as $$ select now() + coalesce((select warp from flux.clock), interval '0') $$;
comment on function flux.now() is 'Current time including the development time warp.';

-- Validators used by CHECK constraints. They run as the inserting role, hence the grants.
-- IANA zone names. pg_timezone_names reads every tz file on each scan (~40 ms), and CHECKs run on
-- every UPDATE of a row, so the names are snapshotted into an indexed table; the catalog is
-- consulted only for a name the snapshot lacks (a zone from a newer tzdata, or a bad value).
create table flux.timezone_names (name text primary key);
insert into flux.timezone_names select name from pg_catalog.pg_timezone_names;
grant select on flux.timezone_names to authenticated, service_role;

create function flux.is_valid_timezone(tz text) returns boolean
language plpgsql stable
as $$
begin
  if tz is null then
    return false; -- never worth the catalog scan (sign-ups without a timezone land here)
  end if;
  if exists (select 1 from flux.timezone_names where name = tz) then
    return true;
  end if;
  return exists (select 1 from pg_catalog.pg_timezone_names where name = tz);
end
$$;
comment on function flux.is_valid_timezone(text) is
  'True for IANA zone names (Europe/Paris); false for abbreviations, offsets and unknown names.';

create function flux.is_hhmm(v jsonb) returns boolean
language sql immutable
as $$ select jsonb_typeof(v) = 'string' and (v #>> '{}') ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$' $$;

-- An optional integer member of a JSON object, within bounds. CASE keeps the cast from running on
-- non-numbers (AND does not short-circuit in SQL).
create function flux.json_int_in(obj jsonb, key text, lo numeric, hi numeric) returns boolean
language sql immutable
as $$
  select case
    when not obj ? key then true
    when jsonb_typeof(obj -> key) <> 'number' then false
    else (obj ->> key)::numeric between lo and hi and (obj ->> key)::numeric = trunc((obj ->> key)::numeric)
  end
$$;

create function flux.profile_ok(p jsonb) returns boolean
language sql immutable
as $$
  select jsonb_typeof(p) = 'object'
    and pg_column_size(p) <= 16384
    and (not p ? 'name' or (jsonb_typeof(p -> 'name') = 'string' and char_length(p ->> 'name') <= 100))
    and (not p ? 'chronotype' or p ->> 'chronotype' in ('morning', 'evening', 'neutral'))
    and (not p ? 'sleep_window' or (flux.is_hhmm(p #> '{sleep_window,start}') and flux.is_hhmm(p #> '{sleep_window,end}')))
    and (not p ? 'work_hours' or (flux.is_hhmm(p #> '{work_hours,start}') and flux.is_hhmm(p #> '{work_hours,end}')))
    and (not p ? 'existing_commitments' or jsonb_typeof(p -> 'existing_commitments') = 'array')
    and (not p ? 'locations' or jsonb_typeof(p -> 'locations') = 'object')
    and (not p ? 'whatsapp_consent' or jsonb_typeof(p -> 'whatsapp_consent') = 'boolean')
$$;

create function flux.notification_preferences_ok(p jsonb) returns boolean
language sql immutable
as $$
  select jsonb_typeof(p) = 'object'
    and flux.json_int_in(p, 'reminder_lead_minutes', 0, 1440)
    and flux.json_int_in(p, 'escalation_window_minutes', 1, 240)
    and (not p ? 'escalation_policy' or p ->> 'escalation_policy' in ('full', 'gentle', 'silent'))
$$;

-- Functions are executable by PUBLIC unless revoked (per-schema default privileges cannot take that
-- away), so every migration that adds functions here revokes them and grants back what is needed.
revoke execute on all functions in schema flux from public;
grant execute on function flux.now(), flux.is_valid_timezone(text), flux.is_hhmm(jsonb),
  flux.json_int_in(jsonb, text, numeric, numeric), flux.profile_ok(jsonb),
  flux.notification_preferences_ok(jsonb)
  to authenticated, service_role;

-- users: 1:1 with auth.users, provisioned by a trigger (see the provisioning migration).
create table public.users (
  id uuid primary key references auth.users (id) on delete cascade,
  email text constraint users_email_length check (char_length(email) <= 320),
  timezone text not null default 'UTC'
    constraint users_timezone_check check (flux.is_valid_timezone(timezone)),
  onboarded boolean not null default false,
  phone_number text
    constraint users_phone_number_check check (phone_number ~ '^\+[1-9][0-9]{6,14}$'),
  phone_verified boolean not null default false,
  whatsapp_opt_in_at timestamptz,
  profile jsonb not null default '{}'
    constraint users_profile_check check (flux.profile_ok(profile)),
  notification_preferences jsonb not null
    default '{"reminder_lead_minutes": 10, "escalation_window_minutes": 2, "escalation_policy": "full"}'
    constraint users_notification_preferences_check check (flux.notification_preferences_ok(notification_preferences)),
  monthly_token_usage jsonb not null default '{"total": 0, "by_provider": {}, "reset_at": null}'
    constraint users_monthly_token_usage_check check (
      jsonb_typeof(monthly_token_usage) = 'object'
      and jsonb_typeof(monthly_token_usage -> 'total') = 'number'
      and (monthly_token_usage ->> 'total')::numeric >= 0),
  created_at timestamptz not null default flux.now(),
  updated_at timestamptz not null default flux.now(),
  constraint users_phone_verified_needs_phone check (not phone_verified or phone_number is not null),
  constraint users_whatsapp_needs_verified_phone check (whatsapp_opt_in_at is null or phone_verified)
);

-- goals: an aspiration with a 6-week plan; longer ones are an umbrella goal whose micro-goals
-- (children, ordered by pipeline_order) wait in status 'pipeline' until their turn.
create table public.goals (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  title text not null constraint goals_title_length check (char_length(btrim(title)) between 1 and 200),
  description text constraint goals_description_length check (char_length(description) <= 2000),
  class_tags text[] not null default '{}'
    constraint goals_class_tags_check check (
      cardinality(class_tags) <= 3
      and class_tags <@ array['Health', 'Fitness', 'Nutrition', 'Mental Health', 'Career', 'Learning',
        'Financial', 'Relationships', 'Creativity', 'Productivity', 'Spirituality', 'Home', 'Travel',
        'Other']),
  status text not null default 'active'
    constraint goals_status_check check (status in ('active', 'completed', 'abandoned', 'pipeline')),
  parent_goal_id uuid,
  pipeline_order integer constraint goals_pipeline_order_check check (pipeline_order between 1 and 100),
  target_weeks integer not null default 6 constraint goals_target_weeks_check check (target_weeks between 1 and 52),
  plan jsonb constraint goals_plan_check check (plan is null or (jsonb_typeof(plan) = 'object' and pg_column_size(plan) <= 262144)),
  created_at timestamptz not null default flux.now(),
  activated_at timestamptz,
  completed_at timestamptz,
  updated_at timestamptz not null default flux.now(),
  constraint goals_id_user_key unique (id, user_id),
  constraint goals_parent_fkey foreign key (parent_goal_id, user_id)
    references public.goals (id, user_id) on delete cascade,
  constraint goals_parent_order_key unique (parent_goal_id, pipeline_order),
  constraint goals_not_own_parent check (parent_goal_id <> id),
  constraint goals_pipeline_has_parent check (status <> 'pipeline' or parent_goal_id is not null),
  constraint goals_parent_has_order check ((parent_goal_id is null) = (pipeline_order is null)),
  constraint goals_completed_at_check check ((status = 'completed') = (completed_at is not null))
);

-- tasks: one row per occurrence (recurring tasks are materialized by the planner).
create table public.tasks (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  goal_id uuid,
  title text not null constraint tasks_title_length check (char_length(btrim(title)) between 1 and 200),
  description text constraint tasks_description_length check (char_length(description) <= 2000),
  status text not null default 'pending'
    constraint tasks_status_check check (status in ('pending', 'done', 'missed', 'rescheduled', 'cancelled')),
  scheduled_at timestamptz,
  duration_minutes integer not null default 30
    constraint tasks_duration_check check (duration_minutes between 1 and 1440),
  trigger_type text not null default 'time'
    constraint tasks_trigger_type_check check (trigger_type in ('time', 'location')),
  location_trigger jsonb constraint tasks_location_trigger_check check (
    location_trigger is null
    or (jsonb_typeof(location_trigger) = 'object'
        and jsonb_typeof(location_trigger -> 'place') = 'string'
        and char_length(location_trigger ->> 'place') between 1 and 100
        and location_trigger ->> 'event' in ('arrive', 'leave'))),
  -- Shape only; the service parses every rule (rrule-go) before writing it.
  recurrence_rule text constraint tasks_recurrence_rule_check check (
    char_length(recurrence_rule) <= 500
    and recurrence_rule ~ '^(RRULE:)?FREQ=(SECONDLY|MINUTELY|HOURLY|DAILY|WEEKLY|MONTHLY|YEARLY)(;[A-Z]+=[A-Za-z0-9,+:-]+)*$'),
  shared_with_goal_ids uuid[] not null default '{}'
    constraint tasks_shared_with_goal_ids_check check (cardinality(shared_with_goal_ids) <= 3),
  -- Escalation state. The policy is a snapshot taken when the task is created; stage and due time
  -- are the next rung of the ladder, maintained by the escalation engine.
  escalation_policy text not null default 'full'
    constraint tasks_escalation_policy_check check (escalation_policy in ('full', 'gentle', 'silent')),
  escalation_stage text
    constraint tasks_escalation_stage_check check (escalation_stage in ('push', 'whatsapp', 'call', 'auto_miss')),
  escalation_due_at timestamptz,
  reminder_sent_at timestamptz,
  whatsapp_sent_at timestamptz,
  call_sent_at timestamptz,
  completed_at timestamptz,
  created_at timestamptz not null default flux.now(),
  updated_at timestamptz not null default flux.now(),
  constraint tasks_id_user_key unique (id, user_id),
  constraint tasks_goal_fkey foreign key (goal_id, user_id)
    references public.goals (id, user_id) on delete cascade,
  constraint tasks_time_needs_scheduled_at check (trigger_type <> 'time' or scheduled_at is not null),
  constraint tasks_location_needs_trigger check ((trigger_type = 'location') = (location_trigger is not null)),
  constraint tasks_escalation_state_check check ((escalation_stage is null) = (escalation_due_at is null)),
  constraint tasks_completed_at_check check ((status = 'done') = (completed_at is not null))
);

-- conversations: thread_id keys the agents' per-conversation state.
create table public.conversations (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  thread_id uuid not null default gen_random_uuid() constraint conversations_thread_id_key unique,
  context_type text not null default 'general'
    constraint conversations_context_type_check check (context_type in ('onboarding', 'goal', 'task', 'reschedule', 'general')),
  last_message_at timestamptz,
  created_at timestamptz not null default flux.now(),
  updated_at timestamptz not null default flux.now(),
  constraint conversations_id_user_key unique (id, user_id)
);

-- messages: a user's chat message is at most 4,000 characters; replies and summaries get more room.
create table public.messages (
  id uuid primary key default gen_random_uuid(),
  conversation_id uuid not null,
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  role text not null default 'user'
    constraint messages_role_check check (role in ('user', 'assistant', 'system', 'summary')),
  content text not null constraint messages_content_not_empty check (char_length(btrim(content)) > 0),
  agent_node text constraint messages_agent_node_length check (char_length(agent_node) <= 64),
  tokens_used integer not null default 0 constraint messages_tokens_used_check check (tokens_used >= 0),
  provider text constraint messages_provider_length check (char_length(provider) <= 100),
  metadata jsonb not null default '{}'
    constraint messages_metadata_check check (jsonb_typeof(metadata) = 'object' and pg_column_size(metadata) <= 65536),
  created_at timestamptz not null default flux.now(),
  constraint messages_conversation_fkey foreign key (conversation_id, user_id)
    references public.conversations (id, user_id) on delete cascade,
  constraint messages_user_content_length check (role <> 'user' or char_length(content) <= 4000),
  constraint messages_content_length check (char_length(content) <= 32000)
);

create table public.patterns (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  pattern_type text not null
    constraint patterns_pattern_type_check check (pattern_type in ('time_avoidance', 'completion_streak', 'category_performance')),
  description text not null constraint patterns_description_length check (char_length(btrim(description)) between 1 and 1000),
  -- data.user_overridden = true marks a pattern the user edited; the observer never overwrites it.
  data jsonb not null default '{}'
    constraint patterns_data_check check (jsonb_typeof(data) = 'object' and pg_column_size(data) <= 16384),
  confidence numeric(4, 3) not null
    constraint patterns_confidence_check check (confidence between 0 and 1),
  created_at timestamptz not null default flux.now(),
  updated_at timestamptz not null default flux.now()
);

create table public.notification_log (
  id uuid primary key default gen_random_uuid(),
  -- The user is checked through the task (the composite key below): a second key on users
  -- would lock the user's row on every insert for nothing.
  user_id uuid not null,
  task_id uuid not null,
  channel text not null constraint notification_log_channel_check check (channel in ('push', 'whatsapp', 'call')),
  -- Twilio MessageSid / CallSid; NULLs are distinct, so the key only binds when present.
  external_id text constraint notification_log_external_id_key unique
    constraint notification_log_external_id_length check (char_length(external_id) between 1 and 64),
  sent_at timestamptz not null default flux.now(),
  response text constraint notification_log_response_check check (response in ('done', 'reschedule', 'missed', 'no_response')),
  responded_at timestamptz,
  constraint notification_log_task_fkey foreign key (task_id, user_id)
    references public.tasks (id, user_id) on delete cascade,
  constraint notification_log_responded_check check (responded_at is null or response is not null)
);

-- dispatch_log: the outbox. One row per channel send (or auto-miss) the escalation engine decided.
create table public.dispatch_log (
  id bigint generated always as identity primary key,
  -- The user is checked through the task (the composite key below): a second key on users
  -- would lock the user's row on every insert for nothing.
  user_id uuid not null,
  task_id uuid not null,
  channel text not null constraint dispatch_log_channel_check check (channel in ('push', 'whatsapp', 'call', 'auto_miss')),
  status text not null default 'pending'
    constraint dispatch_log_status_check check (status in ('pending', 'dispatched', 'failed')),
  attempts integer not null default 0 constraint dispatch_log_attempts_check check (attempts >= 0),
  error text constraint dispatch_log_error_length check (char_length(error) <= 2000),
  created_at timestamptz not null default flux.now(),
  dispatched_at timestamptz,
  constraint dispatch_log_task_fkey foreign key (task_id, user_id)
    references public.tasks (id, user_id) on delete cascade,
  constraint dispatch_log_dispatched_check check (status <> 'dispatched' or dispatched_at is not null),
  constraint dispatch_log_failed_check check (status <> 'failed' or error is not null)
);

-- Web Push subscriptions (a user may have several browsers). Written by the service, which owns the
-- VAPID keys; an endpoint belongs to exactly one browser, hence to one user.
create table public.push_subscriptions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  endpoint text not null constraint push_subscriptions_endpoint_key unique
    constraint push_subscriptions_endpoint_check check (endpoint ~ '^https://' and char_length(endpoint) <= 2048),
  p256dh text not null constraint push_subscriptions_p256dh_check check (p256dh ~ '^[A-Za-z0-9_-]{80,100}=*$'),
  auth text not null constraint push_subscriptions_auth_check check (auth ~ '^[A-Za-z0-9_-]{16,32}=*$'),
  user_agent text constraint push_subscriptions_user_agent_length check (char_length(user_agent) <= 512),
  created_at timestamptz not null default flux.now(),
  last_used_at timestamptz
);

-- Indexes. Every owner column leads an index (RLS predicates and cascading deletes use them).
create index tasks_user_scheduled_idx on public.tasks (user_id, scheduled_at);
create index tasks_user_status_idx on public.tasks (user_id, status);
create index tasks_goal_idx on public.tasks (goal_id) where goal_id is not null;
-- The claim's order. Matching its whole condition keeps the plan an ordered scan that stops at
-- the batch, even before the table has statistics (a bitmap over every due row, sorted, was
-- chosen after a burst of inserts: the benchmark found it).
create index tasks_escalation_due_idx on public.tasks (escalation_due_at)
  where escalation_due_at is not null and status = 'pending';
create index goals_user_status_idx on public.goals (user_id, status);
-- goals_parent_order_key (parent_goal_id, pipeline_order) serves lookups by parent.
-- Only one micro-goal of an umbrella is active at a time; the rest wait in the pipeline.
create unique index goals_one_active_micro_goal on public.goals (parent_goal_id)
  where status = 'active' and parent_goal_id is not null;
create index conversations_user_idx on public.conversations (user_id, last_message_at desc);
create index messages_conversation_created_idx on public.messages (conversation_id, created_at);
create index messages_user_idx on public.messages (user_id);
create index patterns_user_type_idx on public.patterns (user_id, pattern_type);
create index notification_log_user_sent_idx on public.notification_log (user_id, sent_at desc);
create index notification_log_task_idx on public.notification_log (task_id);
create index dispatch_log_pending_idx on public.dispatch_log (created_at) where status = 'pending';
create index dispatch_log_user_idx on public.dispatch_log (user_id, created_at desc);
create index dispatch_log_task_idx on public.dispatch_log (task_id);
create index push_subscriptions_user_idx on public.push_subscriptions (user_id);
