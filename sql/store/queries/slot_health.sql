-- The change feed's replication slot, as the server sees it: its wal_status, the WAL it keeps
-- (from its restart_lsn) and how far its confirmed position trails the server. No row: no slot.
-- $1 slot name.
select coalesce(wal_status, ''),
       coalesce(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), restart_lsn), 0)::float8,
       coalesce(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), confirmed_flush_lsn), 0)::float8
from pg_catalog.pg_replication_slots
where slot_name = $1
