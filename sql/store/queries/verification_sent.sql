-- The number a verification code was just sent to; replaces an earlier one. $1 user, $2 number.
insert into flux.phone_verifications (user_id, phone_number) values ($1, $2)
on conflict (user_id) do update set phone_number = excluded.phone_number, sent_at = flux.now()
