-- Lock the auth user for the erasure: inserts that reference it (every user row has a foreign key
-- to it) wait and then fail, so nothing new appears between counting and deleting. $1: user id.
select id from auth.users where id = $1 for update
