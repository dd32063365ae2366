-- The transaction runs as the signed-in user $1, as PostgREST runs a request: role
-- authenticated with the user's JWT claims.
select set_config('role', 'authenticated', true),
       set_config('request.jwt.claims', json_build_object('sub', $1::text, 'role', 'authenticated', 'aud', 'authenticated')::text, true)
