-- Whether a WhatsApp reminder may offer "2 reschedule": a free slot must remain today.
begin;
set local search_path = extensions, public, tests;
select plan(13);
select tests.create_user('busy');
-- It is 20:00 UTC today (the user's zone): the day has four hours left.
select flux.set_time_warp(date_trunc('day', now()) + interval '20 hours' - now());
-- Thirty-minute tasks every 45 minutes: with the 15-minute buffer nothing fits in between.
insert into tasks (user_id, title, scheduled_at)
select tests.uid('busy'), 'slot ' || i, date_trunc('day', now()) + interval '20 hours' + i * interval '45 minutes'
from generate_series(0, 5) i;
select is(flux.free_slot_today(tests.uid('busy')), false, 'a fully booked evening leaves no slot');
delete from tasks where title = 'slot 3';
select is(flux.free_slot_today(tests.uid('busy')), true, 'one freed task opens a slot');
update tasks set status = 'done' where title = 'slot 3';
select is(flux.free_slot_today(tests.uid('busy')), true, 'settled tasks do not block');
update users set profile = '{"sleep_window": {"start": "21:00", "end": "07:00"}}' where id = tests.uid('busy');
select is(flux.free_slot_today(tests.uid('busy')), false, 'nothing after bedtime counts: the evening is booked until then');

-- Edges of the day, and overlapping tasks (a gap opens only when all of them have ended).
select tests.create_user('quiet');
select is(flux.free_slot_today(tests.uid('quiet')), true, 'an empty evening has a slot');
select flux.set_time_warp(date_trunc('day', now()) + interval '23 hours 20 minutes' - now());
select is(flux.free_slot_today(tests.uid('quiet')), true, '23:20: 23:30-24:00 still fits');
select flux.set_time_warp(date_trunc('day', now()) + interval '23 hours 31 minutes' - now());
select is(flux.free_slot_today(tests.uid('quiet')), false, '23:31: the next quarter hour leaves too little of the day');
select flux.set_time_warp(date_trunc('day', now()) + interval '19 hours' - now());
insert into tasks (user_id, title, scheduled_at, duration_minutes) values
  (tests.uid('quiet'), 'long', date_trunc('day', now()) + interval '19 hours 30 minutes', 150),  -- busy 19:15-22:15
  (tests.uid('quiet'), 'inside', date_trunc('day', now()) + interval '21 hours', 30),            -- busy 20:45-21:45
  (tests.uid('quiet'), 'late', date_trunc('day', now()) + interval '22 hours 45 minutes', 75);   -- busy 22:30-24:15
select is(flux.free_slot_today(tests.uid('quiet')), false, 'a task inside a longer one does not open a gap when it ends');
delete from tasks where title = 'late';
select is(flux.free_slot_today(tests.uid('quiet')), true, 'once the long one ends (22:15) the rest of the evening is free');
-- Tasks that ended before now are left out of the search; one that began before now and is
-- still running is not.
select flux.set_time_warp(date_trunc('day', now()) + interval '21 hours' - now());
update users set profile = '{"sleep_window": {"start": "22:30", "end": "07:00"}}' where id = tests.uid('quiet');
insert into tasks (user_id, title, scheduled_at, status) values
  (tests.uid('quiet'), 'overdue', date_trunc('day', now()) + interval '18 hours', 'pending');  -- busy 17:45-18:45
select is(flux.free_slot_today(tests.uid('quiet')), false,
  'at 21:00 the task begun at 19:30 still blocks until 22:15: no slot before a 22:30 bedtime');
delete from tasks where title = 'long';
select is(flux.free_slot_today(tests.uid('quiet')), true,
  'without it 21:45-22:15 is free, and the overdue task that ended at 18:30 blocks nothing');
update users set profile = '{}' where id = tests.uid('quiet');
select flux.set_time_warp(date_trunc('day', now()) + interval '19 hours' - now());

-- A batch of users at once (what claim_outbox asks): each user's gaps are their own.
update users set profile = '{}' where id = tests.uid('busy');
insert into tasks (user_id, title, scheduled_at)
select tests.uid('busy'), 'evening ' || i, date_trunc('day', now()) + interval '19 hours 15 minutes' + i * interval '45 minutes'
from generate_series(0, 6) i;
select is(flux.free_slot_today(tests.uid('busy')), false, 'the busy user is booked until midnight');
delete from tasks where user_id = tests.uid('quiet');
insert into tasks (user_id, title, scheduled_at, duration_minutes) values
  (tests.uid('quiet'), 'early', date_trunc('day', now()) + interval '19 hours 30 minutes', 30),  -- busy 19:15-20:15
  (tests.uid('quiet'), 'night', date_trunc('day', now()) + interval '23 hours', 75);             -- busy 22:45-24:30
select results_eq(
  $$ select * from flux.users_with_free_slot(array[tests.uid('busy'), tests.uid('quiet'), tests.uid('nobody')], 30, flux.now()) $$,
  $$ values (tests.uid('quiet')) $$,
  'in one batch, each user''s gaps are their own (the quiet evening gap is not filled by the busy user''s tasks); an unknown id is ignored');

select * from finish();
rollback;
