-- Room revisions: every room event carries the room's revision (1, 2, 3… per room with no
-- gaps over all its event types, assigned by the room's single writer). The read model keeps
-- each room's last applied revision and each message's, recognises a replay by it, and
-- records anything else that does not follow as a fault.
ALTER TABLE rooms ADD COLUMN revision bigint NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN revision bigint NOT NULL DEFAULT 0;

-- The command side's idempotency index (per room, sender and key, for a documented window) is
-- the one authority on what is a retry: the read model no longer second-guesses it, or a key
-- legitimately reused after the window would silently vanish from history.
ALTER TABLE messages DROP CONSTRAINT messages_room_id_sender_id_client_message_id_key;

-- What the projector found wrong in the log and did not paper over: a revision that skips
-- ahead (applied, and reported here), or one already applied (skipped, and reported here).
CREATE TABLE projection_faults (
  topic       text        NOT NULL,
  partition   integer     NOT NULL,
  "offset"    bigint      NOT NULL,
  room_id     text        NOT NULL,
  kind        text        NOT NULL,
  detail      text        NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, partition, "offset")
);
