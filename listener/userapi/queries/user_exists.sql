select exists (select 1 from public.users where id = $1)
