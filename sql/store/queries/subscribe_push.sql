-- A browser's push subscription for the signed-in user. An endpoint belongs to one browser:
-- when another account signed in on it before, the subscription moves to this one.
-- $1 user, $2 endpoint, $3 p256dh, $4 auth, $5 user agent.
insert into public.push_subscriptions (user_id, endpoint, p256dh, auth, user_agent)
values ($1, $2, $3, $4, $5)
on conflict (endpoint) do update
set user_id = excluded.user_id, p256dh = excluded.p256dh, auth = excluded.auth,
    user_agent = excluded.user_agent, last_used_at = null
returning id::text, (xmax = 0) as created
