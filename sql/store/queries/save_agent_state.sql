-- The agents' state of a conversation's thread. $1 conversation, $2 state.
insert into flux.agent_state (thread_id, user_id, state)
select c.thread_id, c.user_id, $2 from public.conversations c where c.id = $1
on conflict (thread_id) do update set state = excluded.state, updated_at = flux.now()
