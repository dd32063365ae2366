-- What an inbound message did when it was no answer (see flux.settle_receipt). $1: provider id,
-- $2: outcome.
select flux.settle_receipt($1, $2)
