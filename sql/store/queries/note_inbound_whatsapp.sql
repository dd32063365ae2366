-- An inbound WhatsApp message opens the number's 24-hour window. $1: the sender's number, E.164.
select flux.note_inbound_whatsapp($1)
