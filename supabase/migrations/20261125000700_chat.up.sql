-- Chat: a user's message row is a unit of agent work.
--
-- The client inserts a role 'user' message (RLS and column grants of the security migration);
-- a trigger here checks the chat rate limit, queues a flux.agent_runs row in the same transaction
-- and shows the conversation as thinking. The listener learns of the message from the change
-- feed (or its catch-up claim at start), claims runs one conversation at a time and in order,
-- and writes the reply, the agent state and every goal/task change of the turn in one
-- transaction that also finishes the run (flux.finish_agent_run), so a crash mid-run leaves
-- nothing half-written and the run is claimed again.

-- Switches a development database turns off (`flux migrate --local`).
create table flux.settings (
  id boolean primary key default true constraint settings_single_row check (id),
  rate_limits boolean not null default true
);
insert into flux.settings default values;
revoke all on flux.settings from public, anon, authenticated;

-- Fixed-window counters per user and action: one upsert per limited insert, whatever the history.
create table flux.rate_counters (
  user_id uuid not null references auth.users (id) on delete cascade,
  action text not null,
  window_start timestamptz not null,
  hits integer not null,
  primary key (user_id, action, window_start)
);
revoke all on flux.rate_counters from public, anon, authenticated;

-- Count one hit of p_action for p_user; past p_limit in the current window, fail with HTTP 429
-- and Retry-After through PostgREST's 'PGRST' error form (message and detail are JSON that
-- PostgREST turns into the response body, status and headers). The failed statement rolls back
-- its own hit, so rejected attempts do not extend the wait.
create function flux.rate_limit(p_user uuid, p_action text, p_limit integer, p_window interval)
returns void
language plpgsql
as $$
declare
  v_now timestamptz;
  v_start timestamptz;
  v_hits integer;
  v_retry integer;
begin
  -- One statement (every write RPC pays for it): nothing is counted while limits are off.
  insert into flux.rate_counters as c (user_id, action, window_start, hits)
  select p_user, p_action, date_bin(p_window, flux.now(), timestamptz '2000-01-01'), 1
  from flux.settings s where s.rate_limits
  on conflict (user_id, action, window_start) do update set hits = c.hits + 1
  returning c.hits, c.window_start into v_hits, v_start;
  if v_hits > p_limit then
    v_now := flux.now();
    v_retry := greatest(1, ceil(extract(epoch from v_start + p_window - v_now)))::integer;
    raise sqlstate 'PGRST' using
      message = json_build_object('code', 'rate_limited',
                                  'message', format('Too many %s: at most %s per %s. Try again in %s s.',
                                                    p_action, p_limit,
                                                    case p_window when interval '1 minute' then 'minute'
                                                                  when interval '1 hour' then 'hour'
                                                                  when interval '1 day' then 'day'
                                                                  else p_window::text end,
                                                    v_retry),
                                  'hint', format('Retry after %s seconds.', v_retry))::text,
      detail = json_build_object('status', 429, 'status_text', 'Too Many Requests',
                                 'headers', json_build_object('Retry-After', v_retry::text))::text;
  end if;
end
$$;

-- Agent work: one run per user message, in the order the messages were inserted.
create table flux.agent_runs (
  message_id uuid primary key references public.messages (id) on delete cascade,
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  seq bigint generated always as identity,
  status text not null default 'pending'
    constraint agent_runs_status_check check (status in ('pending', 'running', 'done', 'failed')),
  attempts integer not null default 0,
  lease_owner text,
  lease_until timestamptz,
  error text,
  -- What the turn did, per node: model, prompt file, tokens, start and end (SPEC.md: agent runs
  -- are traceable). Never prompts or answers: they carry what the user wrote.
  trace jsonb,
  created_at timestamptz not null default flux.now(),
  finished_at timestamptz
);
-- Unfinished runs by conversation and order: the claim's head-of-conversation test.
create index agent_runs_open_idx on flux.agent_runs (conversation_id, seq) where status in ('pending', 'running');
create index agent_runs_open_seq_idx on flux.agent_runs (seq) where status in ('pending', 'running');
create index agent_runs_user_idx on flux.agent_runs (user_id);
revoke all on flux.agent_runs from public, anon, authenticated;

-- Per-conversation agent state (the LangGraph checkpoint equivalent), keyed by thread id.
create table flux.agent_state (
  thread_id uuid primary key references public.conversations (thread_id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  state jsonb not null default '{}' constraint agent_state_is_object check (jsonb_typeof(state) = 'object'),
  updated_at timestamptz not null default flux.now()
);
create index agent_state_user_idx on flux.agent_state (user_id);
revoke all on flux.agent_state from public, anon, authenticated;

-- The thinking state a client shows (Realtime delivers conversation updates).
alter table public.conversations add column agent_status text not null default 'idle'
  constraint conversations_agent_status_check check (agent_status in ('idle', 'thinking'));

-- A client may choose its message's id: resending after a lost response then fails with a
-- duplicate key instead of asking the agents twice.
grant insert (id) on public.messages to authenticated;

-- A user message shows its conversation thinking, in the update that already stamps
-- last_message_at: one write of the conversation row per message.
create or replace function flux.conversation_touched() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  update public.conversations
  set last_message_at = greatest(coalesce(last_message_at, new.created_at), new.created_at),
      agent_status = case when new.role = 'user' then 'thinking' else agent_status end
  where id = new.conversation_id;
  return new;
end
$$;

-- A new user message: rate limit, then queue its run. A system message carrying an action is
-- agent work too (the sprint rule's "plan the next micro-goal", migration 900); only the service
-- and SQL write system messages, so no rate limit applies. Other messages the service writes
-- (assistant, summary) are not work.
create function flux.messages_queue_run() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if new.role = 'user' then
    perform flux.rate_limit(new.user_id, 'chat messages', 20, interval '1 minute');
  elsif not (new.role = 'system' and new.metadata ? 'action') then
    return null;
  end if;
  insert into flux.agent_runs (message_id, conversation_id, user_id) values (new.id, new.conversation_id, new.user_id);
  return null;
end
$$;
create trigger messages_queue_run after insert on public.messages
  for each row execute function flux.messages_queue_run();

-- Agent work that no user message asked for (the sprint rule, a reminder answered "reschedule"):
-- a system message carrying p_metadata's action in the user's latest conversation (a new one of
-- p_context when they have none), so the trigger above queues its run in the caller's
-- transaction. Returns the message's id.
create function flux.queue_agent_action(p_user uuid, p_context text, p_content text, p_metadata jsonb)
returns uuid
language plpgsql
set search_path = ''
as $$
declare
  v_conversation uuid;
  v_id uuid;
begin
  if not coalesce(p_metadata ? 'action', false) then
    raise exception 'queue_agent_action: metadata % names no action', p_metadata using errcode = 'invalid_parameter_value';
  end if;
  select c.id into v_conversation from public.conversations c
  where c.user_id = p_user
  order by c.last_message_at desc nulls last, c.created_at desc
  limit 1;
  if v_conversation is null then
    insert into public.conversations (user_id, context_type) values (p_user, p_context)
    returning id into v_conversation;
  end if;
  insert into public.messages (conversation_id, user_id, role, content, metadata)
  values (v_conversation, p_user, 'system', p_content, p_metadata)
  returning id into v_id;
  return v_id;
end
$$;

-- Claim the next run: the oldest unfinished run of a conversation, when it is not leased by a
-- live runner. Only a conversation's head can be claimed, so its runs go one at a time and in
-- order on every replica. p_conversation restricts the claim to one conversation (the runner
-- asks for the next message of a conversation it just answered). A run whose lease ran out
-- p_max_attempts times (a runner crashing on it) is failed with a readable reply instead of
-- being claimed again. Returns nothing when there is no work.
create function flux.claim_agent_run(p_owner text, p_lease interval, p_conversation uuid default null,
                                     p_max_attempts integer default 3)
returns table (message_id uuid, conversation_id uuid, user_id uuid, attempts integer)
language plpgsql
as $$
declare
  v_now timestamptz := flux.now();
  v_run flux.agent_runs;
begin
  loop
    select r.* into v_run
    from flux.agent_runs r
    where r.status in ('pending', 'running')
      and (p_conversation is null or r.conversation_id = p_conversation)
      and (r.status = 'pending' or r.lease_until < v_now)
      and not exists (select 1 from flux.agent_runs o
                      where o.conversation_id = r.conversation_id and o.seq < r.seq
                        and o.status in ('pending', 'running'))
    order by r.seq
    limit 1
    for update of r skip locked;
    if not found then
      return;
    end if;
    if v_run.attempts >= p_max_attempts then
      perform flux.fail_agent_run(v_run.message_id, null,
        format('abandoned after %s attempts that did not finish', v_run.attempts));
      continue;
    end if;
    update flux.agent_runs r
    set status = 'running', attempts = r.attempts + 1, lease_owner = p_owner, lease_until = v_now + p_lease
    where r.message_id = v_run.message_id;
    return query select v_run.message_id, v_run.conversation_id, v_run.user_id, v_run.attempts + 1;
    return;
  end loop;
end
$$;

-- Keep a lease while a long run (slow model, retries) is still working. False: the lease was lost.
create function flux.extend_agent_run(p_message_id uuid, p_owner text, p_lease interval) returns boolean
language sql
as $$
  update flux.agent_runs set lease_until = flux.now() + p_lease
  where message_id = p_message_id and status = 'running' and lease_owner = p_owner
  returning true
$$;

-- Hand a run back untouched (a runner shutting down before it finished): the next claim takes
-- it at once, and the attempt does not count towards giving up.
create function flux.release_agent_run(p_message_id uuid, p_owner text) returns boolean
language sql
as $$
  update flux.agent_runs
  set status = 'pending', attempts = greatest(attempts - 1, 0), lease_owner = null, lease_until = null
  where message_id = p_message_id and status = 'running' and lease_owner = p_owner
  returning true
$$;

-- Settle a conversation's thinking state once its last open run is finished.
create function flux.conversation_settled(p_conversation uuid) returns void
language sql
as $$
  update public.conversations c set agent_status = 'idle'
  where c.id = p_conversation and c.agent_status <> 'idle'
    and not exists (select 1 from flux.agent_runs r
                    where r.conversation_id = p_conversation and r.status in ('pending', 'running'))
$$;

-- Finish a run for its lease holder, in the transaction that writes the turn's results: false
-- when the lease was lost (another runner took the run over), and the caller rolls back.
-- p_trace is the turn's trace, written with the same row update.
create function flux.finish_agent_run(p_message_id uuid, p_owner text, p_trace jsonb default null) returns boolean
language plpgsql
as $$
declare
  v_conversation uuid;
begin
  update flux.agent_runs
  set status = 'done', finished_at = flux.now(), lease_owner = null, lease_until = null, error = null,
      trace = p_trace
  where message_id = p_message_id and status = 'running' and lease_owner = p_owner
  returning conversation_id into v_conversation;
  if not found then
    return false;
  end if;
  perform flux.conversation_settled(v_conversation);
  return true;
end
$$;

-- A run that cannot be answered: record why and leave a readable reply, so the user is never
-- left with a conversation that thinks forever. p_owner null: a claimer giving up on a run
-- whose runners kept dying. False when the caller no longer holds the run.
create function flux.fail_agent_run(p_message_id uuid, p_owner text, p_error text,
                                    p_reply text default 'Sorry, I could not process that message. Nothing was changed; please try again.')
returns boolean
language plpgsql
as $$
declare
  v_run flux.agent_runs;
begin
  update flux.agent_runs
  set status = 'failed', finished_at = flux.now(), lease_owner = null, lease_until = null,
      error = left(p_error, 2000)
  where message_id = p_message_id and status in ('pending', 'running')
    and (p_owner is null or lease_owner = p_owner)
  returning * into v_run;
  if not found then
    return false;
  end if;
  insert into public.messages (conversation_id, user_id, role, content, agent_node, metadata)
  values (v_run.conversation_id, v_run.user_id, 'assistant', p_reply, 'error',
          jsonb_build_object('kind', 'error', 'reply_to', p_message_id));
  perform flux.conversation_settled(v_run.conversation_id);
  return true;
end
$$;

-- Token usage: added atomically to the user's monthly total (and per provider) by the run
-- that spent it; returns the new total, which the next run compares with the limits.
create function flux.add_token_usage(p_user uuid, p_provider text, p_tokens integer) returns bigint
language sql
as $$
  update public.users
  set monthly_token_usage = jsonb_set(
        jsonb_set(monthly_token_usage, '{total}', to_jsonb((monthly_token_usage ->> 'total')::bigint + p_tokens)),
        array['by_provider', p_provider],
        to_jsonb(coalesce((monthly_token_usage #>> array['by_provider', p_provider])::bigint, 0) + p_tokens))
  where id = p_user
  returning (monthly_token_usage ->> 'total')::bigint
$$;

-- The monthly reset (pg_cron, first day of the month, UTC).
create function flux.reset_token_usage() returns integer
language sql
as $$
  with reset as (
    update public.users
    set monthly_token_usage = jsonb_build_object('total', 0, 'by_provider', '{}'::jsonb, 'reset_at', flux.now())
    where (monthly_token_usage ->> 'total')::bigint > 0 or monthly_token_usage -> 'reset_at' = 'null'::jsonb
    returning 1
  )
  select count(*)::integer from reset
$$;

-- The plan button: approval without an LLM guess. It becomes the conversation's next message
-- (so it is serialized with the turns around it), marked as an action the agents apply
-- deterministically. Only this function can set a message's metadata on the user's behalf.
create function public.approve_plan(p_conversation_id uuid) returns uuid
language plpgsql security definer set search_path = ''
as $$
declare
  v_uid uuid := auth.uid();
  v_thread uuid;
  v_id uuid;
begin
  if v_uid is null then
    raise exception 'approve_plan: not signed in' using errcode = 'PT401';
  end if;
  select c.thread_id into v_thread from public.conversations c where c.id = p_conversation_id and c.user_id = v_uid;
  if not found then
    raise exception 'approve_plan: no conversation % for this user', p_conversation_id using errcode = 'PT404';
  end if;
  if not exists (select 1 from flux.agent_state s
                 where s.thread_id = v_thread and s.state ? 'pending_plan') then
    raise exception 'approve_plan: conversation % has no plan waiting for approval', p_conversation_id
      using errcode = 'PT409';
  end if;
  insert into public.messages (conversation_id, user_id, role, content, metadata)
  values (p_conversation_id, v_uid, 'user', 'Approve the plan', '{"action": "approve_plan"}')
  returning id into v_id;
  return v_id;
end
$$;
revoke execute on function public.approve_plan(uuid) from public, anon;
grant execute on function public.approve_plan(uuid) to authenticated;

revoke execute on all functions in schema flux from public;

-- Clients watch their conversations for the thinking state.
do $$
begin
  if not exists (select 1 from pg_publication_tables
                 where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'conversations') then
    alter publication supabase_realtime add table public.conversations;
  end if;
end
$$;

do $$
begin
  if current_database() = current_setting('cron.database_name', true) then
    perform cron.schedule('flux-token-usage-reset', '0 0 1 * *', 'select flux.reset_token_usage()');
    perform cron.schedule('flux-chat-purge', '29 3 * * *', $job$
      delete from flux.rate_counters where window_start < flux.now() - interval '1 day';
      delete from flux.agent_runs where status in ('done', 'failed') and finished_at < flux.now() - interval '30 days';
    $job$);
  end if;
end
$$;
