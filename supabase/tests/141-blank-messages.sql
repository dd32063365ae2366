-- A message of nothing but white space is refused, whatever Unicode white space it uses.
begin;
set local search_path = extensions, public, tests;
select plan(9);

select tests.create_user('bo');
insert into conversations (id, user_id) values ('00000000-0000-4000-8000-0000000000c1', tests.uid('bo'));
select tests.authenticate_as('bo');

select throws_ok(format($$ insert into messages (conversation_id, content) values ('00000000-0000-4000-8000-0000000000c1', %L) $$, t),
                 '23514', null, 'a message of ' || d || ' is refused')
from (values (E'\n\t', 'newline and tab'),
             (E'\u00a0\u00a0', 'no-break spaces'),
             (E'\u3000', 'an ideographic space'),
             (E' \u2028\u2029\u202f ', 'line and paragraph separators'),
             (E'\u0085\u1680\u2003\u205f\u000b\f\r', 'every other kind')) v(t, d);

select lives_ok($$ insert into messages (conversation_id, content) values ('00000000-0000-4000-8000-0000000000c1', E' \u00a0hi\t') $$,
  'white space around words is fine');
select lives_ok($$ insert into messages (conversation_id, content) values ('00000000-0000-4000-8000-0000000000c1', E'\u200b') $$,
  'a zero-width space is not white space (it is a format character)');

select tests.clear_authentication();
select is(flux.is_blank(''), true, 'the empty text is blank');
select is((select count(*)::int from pg_constraint where conname = 'messages_content_not_blank'), 1, 'the constraint is on messages');

select * from finish();
rollback;
