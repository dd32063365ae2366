-- Which of these messages this session cannot see yet (their commit is not visible to it). $1 ids.
select u.id::text from unnest($1::uuid[]) as u (id)
where not exists (select 1 from public.messages m where m.id = u.id)
