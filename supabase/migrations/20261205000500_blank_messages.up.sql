-- A message may not be blank, and blank means one thing: nothing but white space as Unicode
-- defines it (the White_Space property), not only the ASCII space the first check trimmed. A
-- message of "\n\t" or of no-break spaces was accepted and answered.
create function flux.is_blank(p text) returns boolean
language sql immutable
set search_path = ''
as $$ select p !~ '[^\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]' $$;
comment on function flux.is_blank(text) is 'Whether a text is empty or only Unicode white space.';

-- CHECK constraints run as the inserting role.
revoke execute on function flux.is_blank(text) from public;
grant execute on function flux.is_blank(text) to authenticated, service_role;

-- New messages only: a deployed database may hold blank ones from before, left as they are. The
-- old check (not empty after trimming ASCII spaces) says less and goes.
alter table public.messages
  drop constraint messages_content_not_empty,
  add constraint messages_content_not_blank check (not flux.is_blank(content)) not valid;
