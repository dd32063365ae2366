-- A response from any channel (see flux.record_response). $1 task, $2 response, $3 channel,
-- $4 provider id of the inbound event (null when none).
select flux.record_response($1::uuid, $2, $3, $4)
