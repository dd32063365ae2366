-- Whether every transaction of $1 is visible to a new snapshot. The ids are 32 bits, as logical
-- decoding reports them; each is widened with the epoch of the snapshot's xmax (an id above
-- xmax's low half is from the epoch before).
with s as (select snap, (pg_catalog.pg_snapshot_xmax(snap)::text)::bigint as xmax
           from (select pg_catalog.pg_current_snapshot() as snap) c)
select coalesce(bool_and(pg_catalog.pg_visible_in_snapshot(
         ((((s.xmax >> 32) - case when x.id > (s.xmax & 4294967295) then 1 else 0 end) << 32) | x.id)::text::xid8,
         s.snap)), true)
from s, unnest($1::bigint[]) as x (id)
