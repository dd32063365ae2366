-- The conversation before a message, newest first, back to and including the latest summary.
-- $1 conversation, $2 message (excluded), $3 limit.
with upto as (select created_at from public.messages where id = $2)
select m.role, m.content
from public.messages m, upto
where m.conversation_id = $1 and m.id <> $2 and m.created_at <= upto.created_at
  and m.created_at >= coalesce((select max(s.created_at) from public.messages s
                                where s.conversation_id = $1 and s.role = 'summary' and s.created_at <= upto.created_at),
                               '-infinity')
order by m.created_at desc, m.id desc
limit $3
