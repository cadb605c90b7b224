-- Attachments of deleted messages whose objects (original, preview, thumbnail) are still to be
-- removed from the object store. Queued in the transaction that deletes the message, removed by
-- the projector's object eraser once the store confirmed (projector/src/app/object-erasure.ts):
-- a crash between the two leaves the row, and the removal is done again (it is idempotent).
CREATE TABLE object_erasures (
  attachment_id uuid        PRIMARY KEY,
  queued_at     timestamptz NOT NULL DEFAULT now()
);
