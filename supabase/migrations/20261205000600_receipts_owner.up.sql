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
