-- The response an inbound provider event already recorded, if any. $1: provider id.
select response from flux.webhook_receipts where provider_sid = $1
