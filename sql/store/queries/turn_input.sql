-- What a run needs about its message, conversation, user and agent state, and the user's
-- active top-level goals (the cap of three counts these). Email and phone are read only so the
-- graph can redact them from prompts. $1: message id.
select m.content, coalesce(m.metadata ->> 'action', ''), m.created_at,
       c.id::text, c.thread_id::text, c.context_type,
       u.timezone, u.onboarded, u.profile, (u.monthly_token_usage ->> 'total')::bigint,
       coalesce(s.state, '{}'::jsonb), flux.now(),
       (select count(*)::int from public.goals g
        where g.user_id = m.user_id and g.status = 'active' and g.parent_goal_id is null),
       coalesce(u.email, ''), coalesce(u.phone_number, ''), coalesce(m.metadata ->> 'goal_id', ''),
       coalesce(m.metadata ->> 'task_id', '')
from public.messages m
join public.conversations c on c.id = m.conversation_id
join public.users u on u.id = m.user_id
left join flux.agent_state s on s.thread_id = c.thread_id
where m.id = $1
