-- Hand an unfinished run back for the next claim. $1 message, $2 owner.
select flux.release_agent_run($1, $2)
