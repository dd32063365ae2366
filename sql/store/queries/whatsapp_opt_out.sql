-- STOP from a number: its user's WhatsApp opt-in is withdrawn. $1: the sender's number, E.164.
select flux.whatsapp_opt_out($1)
