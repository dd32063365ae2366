-- Bad values fail with the constraint's own error, whoever writes them.
begin;
set local search_path = extensions, public, tests;
select plan(27);
select tests.create_user('alice'), tests.create_user('bob');
insert into goals (id, user_id, title) values ('00000000-0000-4000-8000-00000000a001', tests.uid('alice'), 'Run a 5K');
insert into goals (id, user_id, title) values ('00000000-0000-4000-8000-00000000a0b0', tests.uid('bob'), 'Bob''s goal');
insert into conversations (id, user_id) values ('00000000-0000-4000-8000-00000000c001', tests.uid('alice'));
insert into conversations (id, user_id) values ('00000000-0000-4000-8000-00000000c0b0', tests.uid('bob'));

select tests.authenticate_as('alice');
select throws_ok($$ update users set timezone = 'Mars/Olympus_Mons' $$, '23514',
  'new row for relation "users" violates check constraint "users_timezone_check"', 'an unknown timezone is refused');
select throws_ok($$ update users set timezone = 'CEST' $$, '23514',
  'new row for relation "users" violates check constraint "users_timezone_check"', 'an abbreviation is not an IANA zone');
select lives_ok($$ update users set timezone = 'America/Argentina/Buenos_Aires' $$, 'a real IANA zone is accepted');
select throws_ok($$ update users set phone_number = '0151 1234' $$, '23514',
  'new row for relation "users" violates check constraint "users_phone_number_check"', 'a phone number must be E.164');
select throws_ok($$ update users set profile = '{"chronotype":"vampire"}' $$, '23514',
  'new row for relation "users" violates check constraint "users_profile_check"', 'an unknown chronotype is refused');
select throws_ok($$ update users set profile = '{"sleep_window":{"start":"25:00","end":"07:00"}}' $$, '23514',
  'new row for relation "users" violates check constraint "users_profile_check"', 'a sleep window needs HH:MM times');
select throws_ok($$ update users set notification_preferences = '{"reminder_lead_minutes": "ten"}' $$, '23514',
  'new row for relation "users" violates check constraint "users_notification_preferences_check"', 'a lead time must be a number');
select throws_ok($$ update users set notification_preferences = '{"escalation_policy": "loud"}' $$, '23514',
  'new row for relation "users" violates check constraint "users_notification_preferences_check"', 'an unknown escalation policy is refused');
select throws_ok($$ update users set notification_preferences = '{"escalation_window_minutes": 0}' $$, '23514',
  'new row for relation "users" violates check constraint "users_notification_preferences_check"', 'an escalation window is at least a minute');

select throws_ok($$ insert into goals (title, class_tags) values ('Get rich', '{Crypto}') $$, '23514',
  'new row for relation "goals" violates check constraint "goals_class_tags_check"', 'goal tags come from the taxonomy');
select throws_ok($$ insert into goals (title, class_tags) values ('Everything', '{Health,Fitness,Nutrition,Career}') $$, '23514',
  'new row for relation "goals" violates check constraint "goals_class_tags_check"', 'at most 3 tags');
select throws_ok($$ insert into goals (title) values ('   ') $$, '23514',
  'new row for relation "goals" violates check constraint "goals_title_length"', 'a blank title is refused');

select throws_ok($$ insert into tasks (title, scheduled_at, recurrence_rule) values ('x', now(), 'every monday') $$, '23514',
  'new row for relation "tasks" violates check constraint "tasks_recurrence_rule_check"', 'a recurrence must look like an RRULE');
select lives_ok($$ insert into tasks (title, scheduled_at, recurrence_rule) values ('Run', now(), 'FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=18') $$, 'an RRULE is accepted');
select throws_ok($$ insert into tasks (title) values ('No time') $$, '23514',
  'new row for relation "tasks" violates check constraint "tasks_time_needs_scheduled_at"', 'a time task needs a due time');
select throws_ok($$ insert into tasks (title, trigger_type, location_trigger) values ('Buy milk', 'location', '{"place":"home","event":"teleport"}') $$, '23514',
  'new row for relation "tasks" violates check constraint "tasks_location_trigger_check"', 'a location trigger fires on arrive or leave');
select throws_ok($$ insert into tasks (title, scheduled_at, goal_id) values ('Sneak', now(), '00000000-0000-4000-8000-00000000a0b0') $$, '23503',
  'insert or update on table "tasks" violates foreign key constraint "tasks_goal_fkey"', 'a task cannot hang off another user''s goal');

select throws_ok(format($$ insert into messages (conversation_id, content) values ('00000000-0000-4000-8000-00000000c001', %L) $$, repeat('x', 4001)), '23514',
  'new row for relation "messages" violates check constraint "messages_user_content_length"', 'a chat message over 4,000 characters is refused');
select lives_ok(format($$ insert into messages (conversation_id, content) values ('00000000-0000-4000-8000-00000000c001', %L) $$, repeat('x', 4000)), 'a message of exactly 4,000 characters is accepted');
select throws_ok($$ insert into messages (conversation_id, content) values ('00000000-0000-4000-8000-00000000c001', '  ') $$, '23514',
  'new row for relation "messages" violates check constraint "messages_content_not_blank"', 'an empty message is refused');

-- Service-side writes meet the same constraints.
select tests.clear_authentication();
select throws_ok($$ update tasks set status = 'snoozed' where user_id = tests.uid('alice') $$, '22P02',
  'invalid input value for enum task_status: "snoozed"', 'an unknown task status is refused');
select throws_ok($$ update goals set status = 'paused' where user_id = tests.uid('alice') $$, '22P02',
  'invalid input value for enum goal_status: "paused"', 'an unknown goal status is refused');
select throws_ok($$ insert into patterns (user_id, pattern_type, description, confidence) values (tests.uid('alice'), 'time_avoidance', 'x', 1.5) $$, '23514',
  'new row for relation "patterns" violates check constraint "patterns_confidence_check"', 'confidence 1.5 is refused');
select throws_ok($$ insert into patterns (user_id, pattern_type, description, confidence) values (tests.uid('alice'), 'horoscope', 'x', 0.5) $$, '22P02',
  'invalid input value for enum pattern_type: "horoscope"', 'an unknown pattern type is refused');
select throws_ok($$ insert into dispatch_log (user_id, task_id, channel) values (tests.uid('alice'), (select id from tasks where user_id = tests.uid('alice') limit 1), 'sms') $$, '22P02',
  'invalid input value for enum escalation_stage: "sms"', 'an unknown channel is refused');
select throws_ok($$ insert into dispatch_log (user_id, task_id, channel, status) values (tests.uid('alice'), (select id from tasks where user_id = tests.uid('alice') limit 1), 'push', 'failed') $$, '23514',
  'new row for relation "dispatch_log" violates check constraint "dispatch_log_failed_check"', 'a failed dispatch records its error');
select throws_ok($$ insert into messages (conversation_id, user_id, content) values ('00000000-0000-4000-8000-00000000c0b0', tests.uid('alice'), 'x') $$, '23503',
  'insert or update on table "messages" violates foreign key constraint "messages_conversation_fkey"', 'a message cannot land in another user''s conversation');

select * from finish();
rollback;
