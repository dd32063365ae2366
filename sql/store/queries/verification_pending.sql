-- The number a code was sent to, while the code can still be valid (Twilio Verify codes live
-- 10 minutes). $1 user.
select phone_number from flux.phone_verifications
where user_id = $1 and sent_at > flux.now() - interval '10 minutes'
