-- The number a code was sent to, confirmed (see flux.confirm_phone); false when a newer send
-- replaced it. $1 user, $2 number.
select flux.confirm_phone($1, $2)
