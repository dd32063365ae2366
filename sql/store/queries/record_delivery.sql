-- A provider's status callback for a message or call (see flux.record_delivery). $1 its SID,
-- $2 the status, $3 the error code (null when none).
select flux.record_delivery($1, $2, $3)
