-- A push service said the subscription is gone (404/410).
delete from public.push_subscriptions where endpoint = $1
