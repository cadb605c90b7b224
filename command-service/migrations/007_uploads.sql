-- Uploads asked for (requestUpload), and what became of them. The client PUTs the bytes
-- straight to the object store with a presigned URL; a message that references the upload
-- claims it, and its bytes are checked then (attachment: the checked result, as MessageSent
-- records it). Rows never sent are swept, with their objects, after a grace period.
CREATE TABLE command_uploads (
  upload_id     uuid        PRIMARY KEY,
  owner_id      text        NOT NULL,
  name          text        NOT NULL,
  declared_size bigint      NOT NULL,
  declared_type text        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  -- The send that claimed it: its room and the sender's clientMessageId (a retry claims it again).
  claimed_room  uuid,
  claimed_key   text,
  attachment    jsonb,
  sent_at       timestamptz,
  swept_at      timestamptz
);
-- Per-user daily limits count a user's recent uploads.
CREATE INDEX command_uploads_by_owner ON command_uploads (owner_id, created_at);
-- The sweeper reads the oldest unsent ones.
CREATE INDEX command_uploads_unsent ON command_uploads (created_at) WHERE sent_at IS NULL AND swept_at IS NULL;
