-- What a turn learnt about the user. $1 user, $2 profile (null: unchanged), $3 time zone ('':
-- unchanged), $4 onboarded.
update public.users
set profile = coalesce($2, profile), timezone = coalesce(nullif($3, ''), timezone),
    onboarded = onboarded or $4
where id = $1
