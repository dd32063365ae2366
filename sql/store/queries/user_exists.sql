-- Whether the user has a profile row. $1: user id.
select exists (select 1 from public.users where id = $1)
