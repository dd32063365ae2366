-- A WhatsApp consent in the profile, applied when the number was verified before onboarding
-- finished (see flux.apply_whatsapp_consent). $1 user.
select flux.apply_whatsapp_consent($1)
