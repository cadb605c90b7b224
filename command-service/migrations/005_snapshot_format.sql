-- A snapshot's format in a column of its own. The upsert used to read it out of the state with
-- a jsonb cast, which refuses the NUL that joins the parts of idempotency and reaction keys:
-- every snapshot written over a newer one, or at the same offset, failed. Older rows have none
-- (NULL), which differs from every format, so the next snapshot replaces them.
ALTER TABLE command_snapshots ADD COLUMN format integer;
