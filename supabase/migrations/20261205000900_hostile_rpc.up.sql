-- Found by the hostile RPC suite (supabase/hostile_rpc_test.go).
--
-- A JWT outlives its account: deleting the user does not revoke the token, which PostgREST keeps
-- accepting until it expires. Every RPC that starts with flux.begin_action then failed on its
-- rate-limit counter, whose user no longer exists: SQLSTATE 23503, HTTP 409, naming the internal
-- constraint rate_counters_user_id_fkey. Such a caller is not signed in to any account, and now
-- gets PT401 like a caller without a user, before anything is counted or read. The function is
-- 20261125000900_surface's but for that check; its signature is unchanged.
create or replace function flux.begin_action(p_name text, p_action text default 'actions', p_limit integer default 100)
returns uuid
language plpgsql
set search_path = ''
as $$
declare
  v_uid uuid := auth.uid();
begin
  if v_uid is null then
    raise exception '%: not signed in', p_name using errcode = 'PT401';
  end if;
  -- One primary-key probe; the account goes with its auth user (on delete cascade).
  if not exists (select 1 from public.users u where u.id = v_uid) then
    raise exception '%: the account of this session no longer exists', p_name
      using errcode = 'PT401', hint = 'Sign in again.';
  end if;
  perform flux.rate_limit(v_uid, p_action, p_limit, interval '1 minute');
  return v_uid;
end
$$;

-- Helpers are for the RPCs that call them, not for API callers (create or replace keeps the
-- grants; this states them).
revoke execute on function flux.begin_action(text, text, integer) from public;

-- Also found there: override_pattern took a description of white space only (messages refuse
-- that since 20261205000500_blank_messages; a pattern's description is shown the same way), and
-- set_whatsapp_opt_in(null) opted the caller out, as if null were an answer. Both are 22023 now.
-- The functions are 20261125000900_surface's but for those checks.
create or replace function public.override_pattern(p_pattern_id uuid, p_confidence numeric default null,
                                                   p_description text default null) returns public.patterns
language plpgsql security invoker
set search_path = ''
as $$
declare
  v_pattern public.patterns;
begin
  if auth.uid() is null then
    raise exception 'override_pattern: not signed in' using errcode = 'PT401';
  end if;
  if flux.is_blank(p_description) then
    raise exception 'override_pattern: a description may not be blank' using errcode = 'invalid_parameter_value';
  end if;
  update public.patterns p
  set confidence = coalesce(p_confidence, p.confidence),
      description = coalesce(p_description, p.description)
  where p.id = p_pattern_id and p.user_id = (select auth.uid())
  returning p.* into v_pattern;
  if not found then
    raise exception 'override_pattern: no pattern % for this user', p_pattern_id using errcode = 'PT404';
  end if;
  return v_pattern;
end
$$;

create or replace function public.set_whatsapp_opt_in(p_opt_in boolean default true) returns timestamptz
language plpgsql security definer
set search_path = ''
as $$
declare
  v_uid uuid := flux.begin_action('set_whatsapp_opt_in');
  v_at timestamptz;
begin
  if p_opt_in is null then
    raise exception 'set_whatsapp_opt_in: say true to opt in or false to opt out' using errcode = 'invalid_parameter_value';
  end if;
  if p_opt_in and not (select u.phone_verified from public.users u where u.id = v_uid) then
    raise exception 'set_whatsapp_opt_in: verify your phone number first' using errcode = 'PT409',
      hint = 'POST /v1/phone/verification with your number, then confirm the code.';
  end if;
  update public.users u
  set whatsapp_opt_in_at = case when p_opt_in then coalesce(u.whatsapp_opt_in_at, flux.now()) end,
      profile = u.profile - 'whatsapp_consent'
  where u.id = v_uid
  returning u.whatsapp_opt_in_at into v_at;
  return v_at;
end
$$;
