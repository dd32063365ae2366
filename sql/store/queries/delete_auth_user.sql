-- Delete the auth user; ON DELETE CASCADE removes every row that references it. $1: user id.
delete from auth.users where id = $1
