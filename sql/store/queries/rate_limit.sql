-- $1 user, $2 action, $3 limit, $4 window. Raises SQLSTATE PGRST (429) past the limit.
select flux.rate_limit($1, $2, $3, $4::interval)
