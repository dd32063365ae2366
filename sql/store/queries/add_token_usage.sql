-- A turn's tokens per provider (see flux.add_token_usage). $1 user, $2 providers, $3 counts.
select flux.add_token_usage($1, p, n) from unnest($2::text[], $3::int[]) as x(p, n)
