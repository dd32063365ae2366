-- The conversation before a message, oldest first: the latest summary, then the messages it
-- kept (created at or after its metadata.kept_from) and everything after, at most $3 of them
-- (the newest). Without a summary, the newest $3 messages. $1 conversation, $2 message (excluded).
with upto as (select created_at from public.messages where id = $2),
     summary as (
       select s.role, s.content, s.created_at, s.id,
              coalesce((s.metadata ->> 'kept_from')::timestamptz, s.created_at) as kept_from
       from public.messages s, upto
       where s.conversation_id = $1 and s.role = 'summary' and s.created_at <= upto.created_at
       order by s.created_at desc, s.id desc
       limit 1),
     recent as (
       select m.role, m.content, m.created_at, m.id
       from public.messages m, upto
       where m.conversation_id = $1 and m.id <> $2 and m.role <> 'summary'
         and m.created_at <= upto.created_at
         and m.created_at >= coalesce((select kept_from from summary), '-infinity')
       order by m.created_at desc, m.id desc
       limit $3)
select role, content, created_at
from (select 0 as k, role, content, created_at, id from summary
      union all
      select 1, role, content, created_at, id from recent) h
order by k, created_at, id
