-- Chat through rows: what a user may insert, the run each message queues, the claim's order and
-- leases, failure replies, the rate limit, token usage and the plan button.
begin;
set local search_path = extensions, public, tests;
select plan(46);
select tests.create_user('alice'), tests.create_user('bob');
insert into conversations (id, user_id) values
  ('00000000-0000-4000-8000-00000000c001', tests.uid('alice')),
  ('00000000-0000-4000-8000-00000000c002', tests.uid('alice')),
  ('00000000-0000-4000-8000-00000000c003', tests.uid('bob'));

-- What a user may insert.
select tests.authenticate_as('alice');
select lives_ok($$ insert into messages (id, conversation_id, content)
                  values ('00000000-0000-4000-8000-00000000a001', '00000000-0000-4000-8000-00000000c001', 'I want to run a 5K') $$,
  'alice writes in her conversation');
select throws_ok($$ insert into messages (conversation_id, content) values ('00000000-0000-4000-8000-00000000c003', 'hi') $$,
  '23503', null, 'alice cannot write into bob''s conversation');
select throws_ok($$ insert into messages (conversation_id, role, content) values ('00000000-0000-4000-8000-00000000c001', 'assistant', 'Sure!') $$,
  '42501', null, 'alice cannot write as the assistant');
select throws_ok($$ insert into messages (conversation_id, content, metadata) values ('00000000-0000-4000-8000-00000000c001', 'ok', '{"action": "approve_plan"}') $$,
  '42501', null, 'alice cannot mark her message as the plan button');
select throws_ok($$ insert into messages (conversation_id, content) values ('00000000-0000-4000-8000-00000000c001', repeat('x', 4001)) $$,
  '23514', null, 'a message over 4,000 characters is refused');
select throws_ok($$ select * from flux.agent_runs $$, '42501', null, 'alice cannot read the run queue');
select throws_ok($$ update conversations set agent_status = 'idle' $$, '42501', null, 'alice cannot set the thinking state');
select is((select agent_status from conversations where id = '00000000-0000-4000-8000-00000000c001'), 'thinking',
  'her conversation shows thinking at once');
select tests.authenticate_as_anon();
select throws_ok($$ insert into messages (conversation_id, content) values ('00000000-0000-4000-8000-00000000c001', 'hi') $$,
  '42501', null, 'anon cannot write');
select tests.clear_authentication();

select results_eq($$ select message_id, status, attempts from flux.agent_runs where user_id = tests.uid('alice') $$,
  $$ values ('00000000-0000-4000-8000-00000000a001'::uuid, 'pending', 0) $$,
  'the message queued exactly one run, in the same transaction');
insert into messages (conversation_id, user_id, role, content) values
  ('00000000-0000-4000-8000-00000000c001', tests.uid('alice'), 'assistant', 'a reply');
select is((select count(*)::int from flux.agent_runs where user_id = tests.uid('alice')), 1, 'service replies queue nothing');

-- The claim: one conversation at a time, in order; other conversations run concurrently.
insert into messages (id, conversation_id, user_id, content) values
  ('00000000-0000-4000-8000-00000000a002', '00000000-0000-4000-8000-00000000c001', tests.uid('alice'), 'second'),
  ('00000000-0000-4000-8000-00000000a003', '00000000-0000-4000-8000-00000000c002', tests.uid('alice'), 'other conversation');
select results_eq($$ select message_id, attempts from flux.claim_agent_run('r1', '1 minute') $$,
  $$ values ('00000000-0000-4000-8000-00000000a001'::uuid, 1) $$, 'the oldest message is claimed first');
select results_eq($$ select message_id from flux.claim_agent_run('r2', '1 minute') $$,
  $$ values ('00000000-0000-4000-8000-00000000a003'::uuid) $$,
  'a second runner skips the busy conversation and takes another one');
select is_empty($$ select * from flux.claim_agent_run('r2', '1 minute', '00000000-0000-4000-8000-00000000c001') $$,
  'the next message of a busy conversation waits for the one before it');
select is(flux.finish_agent_run('00000000-0000-4000-8000-00000000a001', 'r2'), false, 'only the lease holder finishes a run');
select is(flux.finish_agent_run('00000000-0000-4000-8000-00000000a001', 'r1'), true, 'the lease holder finishes it');
select is((select agent_status from conversations where id = '00000000-0000-4000-8000-00000000c001'), 'thinking',
  'still thinking while a later message waits');
select results_eq($$ select message_id from flux.claim_agent_run('r1', '1 minute', '00000000-0000-4000-8000-00000000c001') $$,
  $$ values ('00000000-0000-4000-8000-00000000a002'::uuid) $$, 'then the next message of that conversation');
select is(flux.release_agent_run('00000000-0000-4000-8000-00000000a002', 'r1'), true, 'a stopping runner hands its run back');
select results_eq($$ select message_id, attempts from flux.claim_agent_run('r3', '1 minute', '00000000-0000-4000-8000-00000000c001') $$,
  $$ values ('00000000-0000-4000-8000-00000000a002'::uuid, 1) $$, 'a released run is claimed at once, its attempt not counted');
select is(flux.finish_agent_run('00000000-0000-4000-8000-00000000a002', 'r3'), true, 'finished');
select is((select agent_status from conversations where id = '00000000-0000-4000-8000-00000000c001'), 'idle',
  'idle once its last run is finished');

-- A runner that dies: the lease runs out, the run is claimed again; after three, it fails readably.
select is_empty($$ select * from flux.claim_agent_run('r4', '1 minute', '00000000-0000-4000-8000-00000000c002') $$,
  'a live lease is respected');
select flux.set_time_warp(interval '2 minutes');
select results_eq($$ select message_id, attempts from flux.claim_agent_run('r4', '1 minute', '00000000-0000-4000-8000-00000000c002') $$,
  $$ values ('00000000-0000-4000-8000-00000000a003'::uuid, 2) $$, 'an expired lease is taken over');
select is(flux.extend_agent_run('00000000-0000-4000-8000-00000000a003', 'r2', '1 minute'), null, 'the old runner cannot extend it');
select is(flux.finish_agent_run('00000000-0000-4000-8000-00000000a003', 'r2'), false, 'nor finish it: its turn rolls back');
select flux.set_time_warp(interval '4 minutes');
select results_eq($$ select attempts from flux.claim_agent_run('r5', '1 minute', '00000000-0000-4000-8000-00000000c002') $$,
  $$ values (3) $$, 'third attempt');
select flux.set_time_warp(interval '6 minutes');
select is_empty($$ select * from flux.claim_agent_run('r6', '1 minute', '00000000-0000-4000-8000-00000000c002') $$,
  'after three attempts that never finished, the run is not claimed again');
select results_eq($$ select status, error from flux.agent_runs where message_id = '00000000-0000-4000-8000-00000000a003' $$,
  $$ values ('failed', 'abandoned after 3 attempts that did not finish') $$, 'it is failed with its reason');
select results_eq($$ select role::text, agent_node, metadata ->> 'reply_to' from messages where conversation_id = '00000000-0000-4000-8000-00000000c002' and role <> 'user' $$,
  $$ values ('assistant', 'error', '00000000-0000-4000-8000-00000000a003') $$, 'and the user gets a readable reply');
select is((select agent_status from conversations where id = '00000000-0000-4000-8000-00000000c002'), 'idle', 'the conversation stops thinking');
select flux.set_time_warp(interval '0');

-- The chat rate limit: 20 a minute, a clear 429 with Retry-After, the window frees again.
update flux.settings set rate_limits = true;
select tests.authenticate_as('bob');
select lives_ok($$ insert into messages (conversation_id, content)
                  select '00000000-0000-4000-8000-00000000c003', 'message ' || i from generate_series(1, 20) i $$,
  '20 messages in a minute are fine');
select throws_like($$ insert into messages (conversation_id, content) values ('00000000-0000-4000-8000-00000000c003', 'one more') $$,
  '%Too many chat messages: at most 20 per minute%', 'the 21st is refused with a clear message');
select tests.clear_authentication();
create function pg_temp.rate_error() returns jsonb language plpgsql as $$
begin
  perform tests.authenticate_as('bob');
  insert into messages (conversation_id, content) values ('00000000-0000-4000-8000-00000000c003', 'one more');
  return null;
exception when sqlstate 'PGRST' then
  declare d text;
  begin
    get stacked diagnostics d = pg_exception_detail;
    return d::jsonb;
  end;
end $$;
select is((pg_temp.rate_error() -> 'status')::int, 429, 'PostgREST answers 429');
select tests.clear_authentication();
select ok((pg_temp.rate_error() #>> '{headers,Retry-After}')::int between 1 and 60, 'with a Retry-After within the window');
select tests.clear_authentication();
select is((select count(*)::int from flux.agent_runs where conversation_id = '00000000-0000-4000-8000-00000000c003'), 20,
  'refused messages queue nothing');
select flux.set_time_warp(interval '1 minute');
select tests.authenticate_as('bob');
select lives_ok($$ insert into messages (conversation_id, content) values ('00000000-0000-4000-8000-00000000c003', 'later') $$,
  'the next minute is open again');
select tests.clear_authentication();
select flux.set_time_warp(interval '0');
update flux.settings set rate_limits = false;

-- Token usage: atomic adds per provider; the monthly reset.
select is(flux.add_token_usage(tests.uid('alice'), 'openrouter', 1200), 1200::bigint, 'usage adds up');
select is(flux.add_token_usage(tests.uid('alice'), 'openrouter', 300), 1500::bigint, 'and again');
select is((select monthly_token_usage #>> '{by_provider,openrouter}' from users where id = tests.uid('alice')), '1500', 'per provider');
select ok(flux.reset_token_usage() >= 1, 'the monthly reset runs');
select is((select (monthly_token_usage ->> 'total')::int from users where id = tests.uid('alice')), 0, 'and zeroes the total');

-- The plan button.
select tests.authenticate_as('alice');
select throws_ok($$ select approve_plan('00000000-0000-4000-8000-00000000c001') $$, 'PT409', null,
  'no plan waiting: a clear error');
select tests.clear_authentication();
insert into flux.agent_state (thread_id, user_id, state)
select thread_id, user_id, '{"pending_plan": {"goal_title": "Run a 5K"}}' from conversations where id = '00000000-0000-4000-8000-00000000c001';
select tests.authenticate_as('bob');
select throws_ok($$ select approve_plan('00000000-0000-4000-8000-00000000c001') $$, 'PT404', null,
  'bob cannot approve alice''s plan');
select tests.authenticate_as('alice');
select lives_ok($$ select approve_plan('00000000-0000-4000-8000-00000000c001') $$, 'alice presses the button');
select tests.clear_authentication();
select results_eq($$ select m.content, m.metadata ->> 'action', r.status from messages m join flux.agent_runs r on r.message_id = m.id
                     where m.conversation_id = '00000000-0000-4000-8000-00000000c001' and m.metadata ? 'action' $$,
  $$ values ('Approve the plan', 'approve_plan', 'pending') $$, 'the button is the conversation''s next message, queued in order');

select * from finish();
rollback;
