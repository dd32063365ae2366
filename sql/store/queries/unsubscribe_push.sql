-- The signed-in user withdraws a browser's subscription. $1 user, $2 endpoint: only the user's
-- own subscription.
delete from public.push_subscriptions where user_id = $1 and endpoint = $2
