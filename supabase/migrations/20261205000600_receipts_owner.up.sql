-- A webhook receipt (the replay guard of a person's reply) belongs to its user: with user_id and a
-- cascade from auth.users it is found like every other user row, by the catalog, for the export
-- and the erasure. Found through its task only, a receipt outlived the deletion of its task and
-- then the erasure of its user, and was missing from the export.
alter table flux.webhook_receipts
  add column user_id uuid references auth.users (id) on delete cascade;

update flux.webhook_receipts r set user_id = t.user_id
from public.tasks t where t.id = r.task_id;
-- Receipts whose task is gone can no longer be attributed: they only guard against replays older
-- than their task, and go.
delete from flux.webhook_receipts where user_id is null;
alter table flux.webhook_receipts alter column user_id set not null;
create index webhook_receipts_user_idx on flux.webhook_receipts (user_id);

-- record_response writes receipts with their task; the owner comes from it.
create function flux.webhook_receipts_owner() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.user_id := coalesce(new.user_id, (select t.user_id from public.tasks t where t.id = new.task_id));
  return new;
end
$$;
revoke execute on function flux.webhook_receipts_owner() from public;

create trigger webhook_receipts_owner before insert on flux.webhook_receipts
  for each row execute function flux.webhook_receipts_owner();

-- Every signed inbound WhatsApp message is recorded once, whatever it does: a replay of its id
-- (Twilio retries a webhook whose answer timed out, and may do so late) must change nothing,
-- ever, not even answer a reminder that is waiting by then. The receipt starts as 'received';
-- what the message did replaces that (record_response claims it for an answer, the webhook sets
-- the other outcomes). Returns 'new' for a first delivery (and then opens the number's 24-hour
-- window), the recorded outcome for a replay ('received' again when the first delivery never
-- finished: it may be taken up), or 'unknown' when no verified user has the number (nothing to
-- record, nothing a replay could do).
create function flux.receive_whatsapp(p_provider_sid text, p_phone text) returns text
language plpgsql
set search_path = ''
as $$
declare
  v_user uuid;
  v_prior text;
begin
  select u.id into v_user from public.users u where u.phone_number = p_phone and u.phone_verified;
  if v_user is null then
    return 'unknown';
  end if;
  insert into flux.webhook_receipts (provider_sid, user_id, response)
  values (p_provider_sid, v_user, 'received')
  on conflict (provider_sid) do nothing;
  if found then
    perform flux.note_inbound_whatsapp(p_phone);
    return 'new';
  end if;
  select r.response into v_prior from flux.webhook_receipts r where r.provider_sid = p_provider_sid;
  return v_prior;
end
$$;

-- What an inbound message did when it was no answer: opted_out, no_reminder, unrecognised.
create function flux.settle_receipt(p_provider_sid text, p_outcome text) returns void
language sql
set search_path = ''
as $$
  update flux.webhook_receipts r set response = p_outcome
  where r.provider_sid = p_provider_sid and r.response = 'received'
$$;

revoke execute on function flux.receive_whatsapp(text, text), flux.settle_receipt(text, text) from public;
