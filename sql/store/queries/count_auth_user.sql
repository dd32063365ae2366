-- Whether the auth user still exists (verification after an erasure). $1: user id.
select count(*) from auth.users where id = $1
