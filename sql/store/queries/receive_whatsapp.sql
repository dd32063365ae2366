-- Record an inbound WhatsApp message once (see flux.receive_whatsapp). $1: MessageSid, $2: the
-- sender's number, E.164.
select flux.receive_whatsapp($1, $2)
