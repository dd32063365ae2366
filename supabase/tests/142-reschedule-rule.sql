-- One rule for the time a task moves to: proposing and confirming refuse the same times (not
-- in the future, not finite, more than a year away) with 22023, and accept the same.
begin;
set local search_path = extensions, public, tests;
select plan(12);

select tests.create_user('rita');
insert into tasks (id, user_id, title, scheduled_at)
values ('00000000-0000-4000-8000-0000000c0a01', tests.uid('rita'), 'move me', now() + interval '2 hours');
select tests.authenticate_as('rita');

select throws_ok(format($$ select %s('00000000-0000-4000-8000-0000000c0a01', %L::timestamptz) $$, f, at), '22023', null,
                 f || ' refuses ' || what)
from (values ('propose_reschedule'), ('confirm_reschedule')) fs(f),
     (values ('infinity', 'infinity'), ('-infinity', '-infinity'),
             ((now() - interval '1 minute')::text, 'a time in the past'),
             ((now() + interval '2 years')::text, 'a time two years ahead')) ts(at, what);

select throws_ok($$ select confirm_reschedule('00000000-0000-4000-8000-0000000c0a01', null) $$, '22023', null,
  'confirm_reschedule refuses no time at all');
select lives_ok($$ select propose_reschedule('00000000-0000-4000-8000-0000000c0a01', now() + interval '300 days') $$,
  'propose_reschedule takes a time within the year');
select lives_ok($$ select confirm_reschedule('00000000-0000-4000-8000-0000000c0a01', now() + interval '300 days') $$,
  'and confirm_reschedule takes the same');
select is((select scheduled_at > now() + interval '299 days' from tasks where id = '00000000-0000-4000-8000-0000000c0a01'), true,
  'the task moved');

select * from finish();
rollback;
