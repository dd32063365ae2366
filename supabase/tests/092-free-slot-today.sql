-- Whether a WhatsApp reminder may offer "2 reschedule": a free slot must remain today.
begin;
set local search_path = extensions, public, tests;
select plan(4);
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
select * from finish();
rollback;
