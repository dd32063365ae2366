-- A phone number the user gave in chat. The users_phone_changed trigger clears verification and
-- WhatsApp opt-in. $1 user, $2 number.
update public.users set phone_number = $2 where id = $1 and phone_number is distinct from $2
