// Package auth verifies Supabase user JWTs for the listener's HTTP endpoints.
//
// The app talks to Flux with the access token Supabase Auth (GoTrue) issued to the signed-in user.
// The listener checks that token itself, without a round trip to Supabase per request: the
// signature, the expiry, the audience ("authenticated") and that it is a user's token at all (role
// "authenticated" and a UUID subject), not the project's anon or service_role key.
//
// Supabase signs with one of two kinds of key:
//
//   - HS256 with the project's legacy shared "JWT secret" (Config.Secret);
//   - ES256 or RS256 with asymmetric signing keys whose public halves the project publishes at
//     <SUPABASE_URL>/auth/v1/.well-known/jwks.json (Config.JWKSURL, see JWKSURL). The set is fetched
//     with keyfunc, refreshed hourly and refetched (rate limited) when a token names an unknown
//     kid, which is how a rotated-in key becomes usable without a restart.
//
// The algorithm decides the key, never the other way round: HS256 is checked only against the
// secret and ES256/RS256 only against the JWKS. Otherwise a forger could sign an HS256 token with a
// published public key as the HMAC secret (algorithm confusion).
//
// Errors carry fixed reasons and never the token or its claims, so they are safe to log and to
// return to the client (Middleware puts them in the 401 body).
package auth
