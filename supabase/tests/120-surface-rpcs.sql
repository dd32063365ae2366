-- The product surface's RPC functions (migration 900): each for its owner, another user and anon,
-- with the errors a client acts on; the sprint rule; reschedule; location triggers; rate limits.
begin;
set local search_path = extensions, public, tests;
select plan(77);

-- Now is pinned: Wednesday 2026-03-04 10:00 UTC, 19:00 in Tokyo (UTC+9, no DST).
update flux.clock set warp = timestamptz '2026-03-04 10:00Z' - now();
select tests.create_user('ana', 'Asia/Tokyo');
select tests.create_user('ben', 'UTC');

-- Ana's local today runs from 2026-03-03 15:00Z to 2026-03-04 15:00Z.
insert into tasks (id, user_id, title, scheduled_at, status) values
  ('00000000-0000-4000-8000-0000000c0001', tests.uid('ana'), 'tonight 21:00', '2026-03-04 12:00Z', 'pending'),
  ('00000000-0000-4000-8000-0000000c0002', tests.uid('ana'), 'tomorrow 01:00', '2026-03-04 16:00Z', 'pending'),
  ('00000000-0000-4000-8000-0000000c0003', tests.uid('ana'), 'yesterday 23:00', '2026-03-03 14:00Z', 'pending'),
  ('00000000-0000-4000-8000-0000000c0004', tests.uid('ana'), 'this morning, done', '2026-03-04 01:00Z', 'done'),
  ('00000000-0000-4000-8000-0000000c0006', tests.uid('ana'), 'today 16:00 local', '2026-03-04 07:00Z', 'pending');
insert into tasks (id, user_id, title, trigger_type, location_trigger) values
  ('00000000-0000-4000-8000-0000000c0005', tests.uid('ana'), 'take the bins out', 'location', '{"place": "Home", "event": "leave"}');
insert into tasks (id, user_id, title, scheduled_at) values
  ('00000000-0000-4000-8000-0000000d0001', tests.uid('ben'), 'ben today', '2026-03-04 11:00Z');

-- ---------------------------------------------------------------------------------------------
-- today_tasks
select tests.authenticate_as('ana');
select results_eq(
  $$ select title from today_tasks() $$,
  array['today 16:00 local', 'tonight 21:00', 'take the bins out'],
  'today_tasks: the pending tasks of the local day in order, then armed location tasks; not yesterday/tomorrow in Tokyo, not done ones');
select tests.authenticate_as('ben');
select results_eq($$ select title from today_tasks() $$, array['ben today'], 'today_tasks: another user sees only their own');
select tests.authenticate_as_anon();
select throws_ok($$ select * from today_tasks() $$, '42501', null, 'today_tasks: anon may not call it');

-- ---------------------------------------------------------------------------------------------
-- complete_task / mark_missed
select tests.clear_authentication();
insert into notification_log (user_id, task_id, channel, sent_at) values
  (tests.uid('ana'), '00000000-0000-4000-8000-0000000c0003', 'whatsapp', '2026-03-03 14:02Z');

select tests.authenticate_as('ben');
select throws_ok($$ select complete_task('00000000-0000-4000-8000-0000000c0001') $$, 'PT404', null,
  'complete_task: someone else''s task is "no task for this user"');
select throws_ok($$ select complete_task('00000000-0000-4000-8000-00000000ffff') $$, 'PT404', null,
  'complete_task: an unknown id gives the same error');
select tests.authenticate_as_anon();
select throws_ok($$ select complete_task('00000000-0000-4000-8000-0000000c0001') $$, '42501', null,
  'complete_task: anon may not call it');
select set_config('role', 'authenticated', true), set_config('request.jwt.claims', '{"role":"authenticated"}', true);
select throws_ok($$ select complete_task('00000000-0000-4000-8000-0000000c0001') $$, 'PT401', null,
  'complete_task: a token without a user is "not signed in"');

select tests.authenticate_as('ana');
select is((select status || ' ' || completed_at::text from complete_task('00000000-0000-4000-8000-0000000c0001')),
  'done 2026-03-04 10:00:00+00', 'complete_task: the owner completes a pending task, at flux.now()');
select throws_ok($$ select complete_task('00000000-0000-4000-8000-0000000c0001') $$, 'PT409', null,
  'complete_task: completing it again is an invalid transition');
select is((select status from mark_missed('00000000-0000-4000-8000-0000000c0003')), 'missed',
  'mark_missed: the owner marks a pending task missed');
select tests.clear_authentication();
select is((select response from notification_log where task_id = '00000000-0000-4000-8000-0000000c0003'), 'missed',
  'mark_missed: the unanswered WhatsApp reminder records the answer (the one response path)');
select is((select escalation_stage from tasks where id = '00000000-0000-4000-8000-0000000c0003'), null,
  'mark_missed: the ladder stopped');
select is((select status from tasks where id = '00000000-0000-4000-8000-0000000d0001'), 'pending',
  'nothing of the other user''s moved');

-- ---------------------------------------------------------------------------------------------
-- The sprint rule: the last settled task of a micro-goal completes it and starts the next one.
insert into conversations (id, user_id, context_type) values ('00000000-0000-4000-8000-0000000e0001', tests.uid('ana'), 'goal');
insert into goals (id, user_id, title, status) values ('00000000-0000-4000-8000-0000000a0001', tests.uid('ana'), 'Half marathon', 'active');
insert into goals (id, user_id, title, status, parent_goal_id, pipeline_order) values
  ('00000000-0000-4000-8000-0000000a0002', tests.uid('ana'), '5K', 'active', '00000000-0000-4000-8000-0000000a0001', 1),
  ('00000000-0000-4000-8000-0000000a0003', tests.uid('ana'), '10K', 'pipeline', '00000000-0000-4000-8000-0000000a0001', 2);
insert into tasks (id, user_id, goal_id, title, scheduled_at) values
  ('00000000-0000-4000-8000-0000000c0101', tests.uid('ana'), '00000000-0000-4000-8000-0000000a0002', 'run 1', '2026-03-10 22:00Z'),
  ('00000000-0000-4000-8000-0000000c0102', tests.uid('ana'), '00000000-0000-4000-8000-0000000a0002', 'run 2', '2026-03-12 22:00Z');

select tests.authenticate_as('ana');
select complete_task('00000000-0000-4000-8000-0000000c0101');
select is((select status from goals where id = '00000000-0000-4000-8000-0000000a0002'), 'active',
  'sprint: a goal with an open task stays active');
select mark_missed('00000000-0000-4000-8000-0000000c0102');
select results_eq(
  $$ select title, status::text from goals where user_id = tests.uid('ana') order by title $$,
  $$ values ('10K', 'active'), ('5K', 'completed'), ('Half marathon', 'active') $$,
  'sprint: when its last task is settled (even missed) the micro-goal completes and the next one activates');
select is((select content from messages where conversation_id = '00000000-0000-4000-8000-0000000e0001' and role = 'system'),
  'Sprint complete: “5K”. Next up: “10K”.', 'sprint: the user''s conversation says so');
select tests.clear_authentication();
select is(
  (select m.metadata - 'completed_goal_id' from messages m join flux.agent_runs r on r.message_id = m.id
   where m.conversation_id = '00000000-0000-4000-8000-0000000e0001' and r.status = 'pending'),
  '{"action": "plan_micro_goal", "goal_id": "00000000-0000-4000-8000-0000000a0003"}'::jsonb,
  'sprint: an agent run is queued in the same transaction to plan the next micro-goal');
insert into tasks (id, user_id, goal_id, title, scheduled_at) values
  ('00000000-0000-4000-8000-0000000c0103', tests.uid('ana'), '00000000-0000-4000-8000-0000000a0003', 'run 3', '2026-04-10 22:00Z');
select tests.authenticate_as('ana');
select complete_task('00000000-0000-4000-8000-0000000c0103');
select results_eq(
  $$ select title, status::text from goals where user_id = tests.uid('ana') order by title $$,
  $$ values ('10K', 'completed'), ('5K', 'completed'), ('Half marathon', 'completed') $$,
  'sprint: after the last micro-goal the umbrella completes too');
select is((select count(*)::int from messages where user_id = tests.uid('ana') and role = 'system'), 1,
  'sprint: nothing left to plan, no new run');

-- ---------------------------------------------------------------------------------------------
-- abandon_goal
select tests.clear_authentication();
insert into goals (id, user_id, title, status) values
  ('00000000-0000-4000-8000-0000000a0011', tests.uid('ana'), 'Guitar', 'active'),
  ('00000000-0000-4000-8000-0000000a0012', tests.uid('ana'), 'Music theory', 'active');
insert into tasks (id, user_id, goal_id, title, scheduled_at, shared_with_goal_ids, status) values
  ('00000000-0000-4000-8000-0000000c0201', tests.uid('ana'), '00000000-0000-4000-8000-0000000a0011', 'practice', '2026-03-06 10:00Z', '{}', 'pending'),
  ('00000000-0000-4000-8000-0000000c0202', tests.uid('ana'), '00000000-0000-4000-8000-0000000a0011', 'scales', '2026-03-07 10:00Z', '{00000000-0000-4000-8000-0000000a0012}', 'pending'),
  ('00000000-0000-4000-8000-0000000c0203', tests.uid('ana'), '00000000-0000-4000-8000-0000000a0011', 'first lesson', '2026-03-02 10:00Z', '{}', 'done');

select tests.authenticate_as('ben');
select throws_ok($$ select abandon_goal('00000000-0000-4000-8000-0000000a0011') $$, 'PT404', null,
  'abandon_goal: someone else''s goal is "no goal for this user"');
select tests.authenticate_as_anon();
select throws_ok($$ select abandon_goal('00000000-0000-4000-8000-0000000a0011') $$, '42501', null, 'abandon_goal: anon may not call it');
select tests.authenticate_as('ana');
select is(abandon_goal('00000000-0000-4000-8000-0000000a0011'),
  '{"goal_id": "00000000-0000-4000-8000-0000000a0011", "abandoned_goals": ["00000000-0000-4000-8000-0000000a0011"], "cancelled_tasks": 1, "kept_shared_tasks": 1}'::jsonb,
  'abandon_goal: reports what it did');
select results_eq(
  $$ select title, status::text from tasks where goal_id = '00000000-0000-4000-8000-0000000a0011' order by title $$,
  $$ values ('first lesson', 'done'), ('practice', 'cancelled'), ('scales', 'pending') $$,
  'abandon_goal: pending tasks cancelled, the one shared with another active goal kept, history untouched');
select is((select status from goals where id = '00000000-0000-4000-8000-0000000a0011'), 'abandoned', 'abandon_goal: the goal is abandoned');
select throws_ok($$ select abandon_goal('00000000-0000-4000-8000-0000000a0011') $$, 'PT409', null,
  'abandon_goal: abandoning twice is an invalid transition');

select tests.clear_authentication();
insert into goals (id, user_id, title, status) values ('00000000-0000-4000-8000-0000000a0021', tests.uid('ana'), 'Spanish', 'active');
insert into goals (id, user_id, title, status, parent_goal_id, pipeline_order) values
  ('00000000-0000-4000-8000-0000000a0022', tests.uid('ana'), 'Basics', 'active', '00000000-0000-4000-8000-0000000a0021', 1),
  ('00000000-0000-4000-8000-0000000a0023', tests.uid('ana'), 'Tutor', 'pipeline', '00000000-0000-4000-8000-0000000a0021', 2);
insert into tasks (user_id, goal_id, title, scheduled_at) values
  (tests.uid('ana'), '00000000-0000-4000-8000-0000000a0022', 'vocab', '2026-03-05 10:00Z');
select tests.authenticate_as('ana');
select abandon_goal('00000000-0000-4000-8000-0000000a0021');
select results_eq(
  $$ select title, status::text from goals where id in ('00000000-0000-4000-8000-0000000a0021', '00000000-0000-4000-8000-0000000a0022',
                                                 '00000000-0000-4000-8000-0000000a0023') order by title $$,
  $$ values ('Basics', 'abandoned'), ('Spanish', 'abandoned'), ('Tutor', 'abandoned') $$,
  'abandon_goal: an umbrella takes its micro-goals with it, and cancelling the sprint''s tasks does not "complete" it');
select is((select status from tasks where title = 'vocab'), 'cancelled', 'abandon_goal: the micro-goal''s tasks are cancelled');
select is((select count(*)::int from messages where user_id = tests.uid('ana') and role = 'system'), 1,
  'abandon_goal: no micro-goal is started');

-- ---------------------------------------------------------------------------------------------
-- propose_reschedule / confirm_reschedule. Busy around tonight: "late" at 12:30Z (30 min, so
-- 12:15-13:15 with the buffer). Ana's day ends at 15:00Z (midnight in Tokyo).
select tests.clear_authentication();
insert into tasks (id, user_id, title, scheduled_at) values
  ('00000000-0000-4000-8000-0000000c0301', tests.uid('ana'), 'call mom', '2026-03-04 11:00Z'),
  ('00000000-0000-4000-8000-0000000c0302', tests.uid('ana'), 'late', '2026-03-04 12:30Z'),
  ('00000000-0000-4000-8000-0000000c0303', tests.uid('ana'), 'night owl', '2026-03-04 14:40Z');
insert into notification_log (user_id, task_id, channel, sent_at) values
  (tests.uid('ana'), '00000000-0000-4000-8000-0000000c0301', 'push', '2026-03-04 09:59Z');

select tests.authenticate_as('ana');
select is(propose_reschedule('00000000-0000-4000-8000-0000000c0301', '2026-03-04 12:30Z') - 'conflicts',
  '{"task_id": "00000000-0000-4000-8000-0000000c0301", "requested_at": "2026-03-04T12:30:00+00:00", "proposed_at": "2026-03-04T13:15:00+00:00", "conflict": true}'::jsonb,
  'propose_reschedule: a taken time proposes the nearest free quarter hour after it, past the buffer');
select is(propose_reschedule('00000000-0000-4000-8000-0000000c0301', '2026-03-04 12:30Z') #>> '{conflicts,0,title}', 'late',
  'propose_reschedule: names the task in the way');
select is(propose_reschedule('00000000-0000-4000-8000-0000000c0301', '2026-03-04 13:50Z') ->> 'proposed_at',
  '2026-03-04T13:50:00+00:00', 'propose_reschedule: a free time is kept exactly');
select is(propose_reschedule('00000000-0000-4000-8000-0000000c0301') ->> 'proposed_at',
  '2026-03-04T10:15:00+00:00', 'propose_reschedule: without a wish, the next free quarter hour from now');
select is(propose_reschedule('00000000-0000-4000-8000-0000000c0302', '2026-03-04 14:50Z') -> 'proposed_at',
  'null'::jsonb, 'propose_reschedule: no room before the local day ends proposes nothing');
select is((select scheduled_at from tasks where id = '00000000-0000-4000-8000-0000000c0301'), '2026-03-04 11:00Z'::timestamptz,
  'propose_reschedule: changes nothing');
select throws_ok($$ select propose_reschedule('00000000-0000-4000-8000-0000000c0301', '2026-03-04 09:00Z') $$, '22023', null,
  'propose_reschedule: a time in the past is refused');
select tests.authenticate_as('ben');
select throws_ok($$ select propose_reschedule('00000000-0000-4000-8000-0000000c0301') $$, 'PT404', null,
  'propose_reschedule: not for another user''s task');
select throws_ok($$ select confirm_reschedule('00000000-0000-4000-8000-0000000c0301', '2026-03-04 13:15Z') $$, 'PT404', null,
  'confirm_reschedule: not for another user''s task');
select tests.authenticate_as_anon();
select throws_ok($$ select confirm_reschedule('00000000-0000-4000-8000-0000000c0301', '2026-03-04 13:15Z') $$, '42501', null,
  'confirm_reschedule: anon may not call it');

select tests.authenticate_as('ana');
select is((select scheduled_at::text || ' ' || status || ' ' || escalation_stage || ' ' || escalation_due_at::text
           from confirm_reschedule('00000000-0000-4000-8000-0000000c0301', '2026-03-04 13:15Z')),
  '2026-03-04 13:15:00+00 pending push 2026-03-04 13:05:00+00',
  'confirm_reschedule: the task moves and its ladder starts again (push 10 minutes before)');
select tests.clear_authentication();
select is((select response from notification_log where task_id = '00000000-0000-4000-8000-0000000c0301'), 'reschedule',
  'confirm_reschedule: the outstanding reminder records "reschedule"');
select is((select count(*)::int from messages where user_id = tests.uid('ana') and metadata ->> 'action' = 'reschedule_task'), 0,
  'confirm_reschedule: it is the new time already, so no proposal is asked of the agents');
select tests.authenticate_as('ana');
select is((select status from confirm_reschedule('00000000-0000-4000-8000-0000000c0003', '2026-03-05 01:00Z')), 'pending',
  'confirm_reschedule: a missed task can be tried again');
select throws_ok($$ select confirm_reschedule('00000000-0000-4000-8000-0000000c0301', '2026-03-04 09:00Z') $$, '22023', null,
  'confirm_reschedule: a time in the past is refused');
select throws_ok($$ select confirm_reschedule('00000000-0000-4000-8000-0000000c0004', '2026-03-05 09:00Z') $$, 'PT409', null,
  'confirm_reschedule: a done task cannot be rescheduled');

-- ---------------------------------------------------------------------------------------------
-- override_pattern, and deleting a pattern
select tests.clear_authentication();
insert into patterns (id, user_id, pattern_type, description, confidence, data) values
  ('00000000-0000-4000-8000-0000000f0001', tests.uid('ana'), 'time_avoidance', 'Misses Monday 7:00', 0.8, '{"rule": "miss"}');
select tests.authenticate_as('ben');
select throws_ok($$ select override_pattern('00000000-0000-4000-8000-0000000f0001', 0.1) $$, 'PT404', null,
  'override_pattern: not another user''s pattern');
select is(tests.rows_affected($$ delete from patterns where id = '00000000-0000-4000-8000-0000000f0001' $$), 0,
  'deleting another user''s pattern deletes nothing');
select tests.authenticate_as_anon();
select throws_ok($$ select override_pattern('00000000-0000-4000-8000-0000000f0001', 0.1) $$, '42501', null,
  'override_pattern: anon may not call it');
select tests.authenticate_as('ana');
select is((select confidence::text || ' ' || description || ' ' || (data ->> 'user_overridden')
           from override_pattern('00000000-0000-4000-8000-0000000f0001', 0.3, 'Mondays are fine now')),
  '0.300 Mondays are fine now true', 'override_pattern: sets confidence and description and marks it user_overridden');
select is((select data ->> 'rule' from patterns where id = '00000000-0000-4000-8000-0000000f0001'), 'miss',
  'override_pattern: keeps what the observer recorded');
select throws_ok($$ select override_pattern('00000000-0000-4000-8000-0000000f0001', 2) $$, '23514', null,
  'override_pattern: a confidence above 1 is refused');
select is(tests.rows_affected($$ delete from patterns where id = '00000000-0000-4000-8000-0000000f0001' $$), 1,
  'the owner deletes a pattern');

-- ---------------------------------------------------------------------------------------------
-- set_whatsapp_opt_in
select throws_ok($$ select set_whatsapp_opt_in() $$, 'PT409', null, 'set_whatsapp_opt_in: needs a verified phone');
select tests.clear_authentication();
-- (Two steps: a new number clears verification, by trigger.)
update users set phone_number = '+819012345678' where id = tests.uid('ana');
update users set phone_verified = true where id = tests.uid('ana');
select tests.authenticate_as('ana');
select is(set_whatsapp_opt_in(), '2026-03-04 10:00Z'::timestamptz, 'set_whatsapp_opt_in: records the time of the opt-in');
select is((select whatsapp_opt_in_at from users where id = tests.uid('ben')), null, 'set_whatsapp_opt_in: only for the caller');
select is(set_whatsapp_opt_in(false), null, 'set_whatsapp_opt_in(false) opts out');
select tests.authenticate_as_anon();
select throws_ok($$ select set_whatsapp_opt_in() $$, '42501', null, 'set_whatsapp_opt_in: anon may not call it');

-- ---------------------------------------------------------------------------------------------
-- The WhatsApp consent given in onboarding (profile.whatsapp_consent) becomes the opt-in when
-- the phone is verified (flux.confirm_phone, the listener's verification check).
select tests.clear_authentication();
select tests.create_user('cora'), tests.create_user('dev'), tests.create_user('eli'), tests.create_user('fay'), tests.create_user('gus');
update users set profile = '{"name": "Cora", "whatsapp_consent": true}' where id = tests.uid('cora');
update users set profile = '{"whatsapp_consent": false}' where id = tests.uid('dev');
update users set profile = '{"whatsapp_consent": true}' where id in (tests.uid('fay'), tests.uid('gus'));
insert into flux.phone_verifications (user_id, phone_number) values
  (tests.uid('cora'), '+12125550101'), (tests.uid('dev'), '+12125550102'), (tests.uid('eli'), '+12125550103');
select is(flux.confirm_phone(tests.uid('cora'), '+12125550199'), false, 'confirm_phone: only the number the code went to');
select is((select whatsapp_opt_in_at from users where id = tests.uid('cora')), null, 'confirm_phone: a refused confirmation applies no consent');
select is(flux.confirm_phone(tests.uid('cora'), '+12125550101'), true, 'confirm_phone: the number is confirmed');
select is((select phone_verified::text || ' ' || whatsapp_opt_in_at::text || ' ' || profile::text from users where id = tests.uid('cora')),
  'true 2026-03-04 10:00:00+00 {"name": "Cora"}',
  'confirm_phone: a consent given in onboarding opts in, now; the consent is used up, the rest of the profile kept');
select flux.confirm_phone(tests.uid('dev'), '+12125550102'), flux.confirm_phone(tests.uid('eli'), '+12125550103');
select results_eq(
  $$ select phone_verified, whatsapp_opt_in_at, profile from users where id in (tests.uid('dev'), tests.uid('eli')) order by email $$,
  $$ values (true, null::timestamptz, '{"whatsapp_consent": false}'::jsonb), (true, null, '{}') $$,
  'confirm_phone: a declined or absent consent does not opt in');
update users set phone_number = '+12125550111' where id = tests.uid('cora');
insert into flux.phone_verifications (user_id, phone_number) values (tests.uid('cora'), '+12125550111');
select flux.confirm_phone(tests.uid('cora'), '+12125550111');
select is((select phone_verified::text || ' ' || coalesce(whatsapp_opt_in_at::text, 'not opted in') from users where id = tests.uid('cora')),
  'true not opted in', 'confirm_phone: a new number needs a new opt-in (the consent was used for the first one)');
-- Opting out before the phone is verified withdraws the waiting consent.
select tests.authenticate_as('fay');
select is(set_whatsapp_opt_in(false), null, 'set_whatsapp_opt_in(false) before verification');
select tests.clear_authentication();
insert into flux.phone_verifications (user_id, phone_number) values (tests.uid('fay'), '+12125550104');
select flux.confirm_phone(tests.uid('fay'), '+12125550104');
select is((select coalesce(whatsapp_opt_in_at::text, 'not opted in') || ' ' || profile::text from users where id = tests.uid('fay')),
  'not opted in {}', 'set_whatsapp_opt_in(false) removed the consent: verifying later does not opt in');
-- Verified before the onboarding wrote the consent: the agents' write applies it
-- (store.ApplyTurn calls flux.apply_whatsapp_consent after writing the profile).
update users set phone_number = '+12125550105' where id = tests.uid('gus');
update users set phone_verified = true where id = tests.uid('gus');
select flux.apply_whatsapp_consent(tests.uid('gus'));
select is((select whatsapp_opt_in_at from users where id = tests.uid('gus')), '2026-03-04 10:00Z'::timestamptz,
  'apply_whatsapp_consent: a consent written after verification opts in');
select throws_ok($$ update users set profile = '{"whatsapp_consent": "yes"}' where id = tests.uid('dev') $$, '23514', null,
  'profile.whatsapp_consent is a boolean');

-- ---------------------------------------------------------------------------------------------
-- simulate_location_trigger: the push goes out now, the later rungs follow, and instead of an
-- auto-miss the ladder starts again two hours later.
select tests.authenticate_as('ben');
select is((select count(*)::int from simulate_location_trigger('home', 'leave')), 0,
  'simulate_location_trigger: fires only the caller''s tasks');
select tests.authenticate_as('ana');
select throws_ok($$ select simulate_location_trigger('home', 'teleport') $$, '22023', null,
  'simulate_location_trigger: an unknown event is refused');
select is((select title || ' ' || scheduled_at::text || ' ' || escalation_stage || ' ' || escalation_due_at::text
           from simulate_location_trigger('home', 'leave')),
  'take the bins out 2026-03-04 10:00:00+00 push 2026-03-04 10:00:00+00',
  'simulate_location_trigger: the matching location task (place case-insensitive) is due now');
select tests.clear_authentication();
update flux.clock set warp = timestamptz '2026-03-04 12:01Z' - now();
-- A claim advances a task one rung: claim until nothing is due (push, whatsapp, call, restart, push).
select flux.claim_escalations() from generate_series(1, 6);
select is((select status || ' ' || scheduled_at::text || ' ' || escalation_stage || ' ' || escalation_due_at::text
           from tasks where id = '00000000-0000-4000-8000-0000000c0005'),
  'pending 2026-03-04 12:00:00+00 whatsapp 2026-03-04 12:02:00+00',
  'location ladder: two hours after it fired it starts again instead of auto-missing');
select is((select count(*)::int from dispatch_log where task_id = '00000000-0000-4000-8000-0000000c0005' and channel = 'auto_miss'), 0,
  'location ladder: no auto-miss');

-- ---------------------------------------------------------------------------------------------
-- Rate limits (on for this part; development databases turn them off).
update flux.settings set rate_limits = true;
insert into flux.rate_counters (user_id, action, window_start, hits) values
  (tests.uid('ben'), 'new goals', date_bin(interval '1 hour', flux.now(), timestamptz '2000-01-01'), 5),
  (tests.uid('ben'), 'new tasks', date_bin(interval '1 hour', flux.now(), timestamptz '2000-01-01'), 59),
  (tests.uid('ben'), 'actions', date_bin(interval '1 minute', flux.now(), timestamptz '2000-01-01'), 100);
select tests.authenticate_as('ben');
select throws_ok($$ insert into goals (title) values ('a sixth goal this hour') $$, 'PGRST', null,
  'new goals: the sixth in an hour is refused with 429');
select lives_ok($$ insert into tasks (title, scheduled_at) values ('task 60', '2026-03-05 10:00Z') $$, 'new tasks: the 60th in an hour is fine');
select throws_ok($$ insert into tasks (title, scheduled_at) values ('task 61', '2026-03-05 11:00Z') $$, 'PGRST', null,
  'new tasks: the 61st in an hour is refused with 429');
select throws_ok($$ select complete_task('00000000-0000-4000-8000-0000000d0001') $$, 'PGRST', null,
  'actions: the 101st in a minute is refused with 429');
select tests.clear_authentication();
select lives_ok($$ insert into tasks (user_id, title, scheduled_at) values (tests.uid('ben'), 'from a plan', '2026-03-05 12:00Z') $$,
  'rows the service writes are not limited');
update flux.settings set rate_limits = false;

-- ---------------------------------------------------------------------------------------------
-- What authenticated may execute in public is exactly the API (new exposure is deliberate).
select is(
  (select array_agg(p.oid::regprocedure::text order by p.oid::regprocedure::text) from pg_proc p
   where p.pronamespace = 'public'::regnamespace and has_function_privilege('authenticated', p.oid, 'execute')
     and p.proname not like 'analytics\_%'),
  array['abandon_goal(uuid)', 'approve_plan(uuid)', 'complete_task(uuid)',
        'confirm_reschedule(uuid,timestamp with time zone)', 'mark_missed(uuid)',
        'override_pattern(uuid,numeric,text)', 'propose_reschedule(uuid,timestamp with time zone)',
        'respond_to_reminder(uuid,text)', 'set_whatsapp_opt_in(boolean)', 'simulate_location_trigger(text,text)',
        'today_tasks()'],
  'authenticated executes exactly the API functions in public');

select * from finish();
rollback;
