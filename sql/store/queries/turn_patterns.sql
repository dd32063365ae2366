-- A user's stored patterns, for the pattern observer. $1 user.
select p.pattern_type, p.description, p.data, p.confidence::float8
from public.patterns p
where p.user_id = $1
order by p.pattern_type, p.created_at
limit 100
