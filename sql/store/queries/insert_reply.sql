-- One reply of a turn. A turn's replies share the transaction's time; $9 microseconds apart,
-- they sort in the order they were written (clients order by created_at). $1 conversation,
-- $2 user, $3 role, $4 content, $5 node, $6 tokens, $7 provider, $8 metadata, $9 index.
insert into public.messages (conversation_id, user_id, role, content, agent_node, tokens_used, provider, metadata, created_at)
values ($1, $2, $3, $4, nullif($5, ''), $6, nullif($7, ''), $8, flux.now() + make_interval(secs => $9 / 1e6))
