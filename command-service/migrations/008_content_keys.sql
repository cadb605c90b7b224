-- The keys message content is sealed under (crypto-shredding: platform/src/content-keys).
-- Events in the log carry ciphertext and the ids of the two keys below; erasing a key nulls its
-- material and stamps erased_at, keeping the row so that "erased" and "missing" stay apart: an
-- erased key reads as erased content, a missing one is an integrity fault.
--
-- Data keys: one per author, room and UTC day (days since the epoch), wrapped by a master key.
-- Erasing an account erases its data keys; a room's retention erases the room's data keys of
-- days past its window. Either way a few rows, whatever the number of messages.
CREATE TABLE content_data_keys (
  data_key_id   uuid        PRIMARY KEY,
  user_id       text        NOT NULL,
  room_id       text        NOT NULL,
  day           integer     NOT NULL,
  master_key_id text,
  wrapped       bytea,
  created_at    timestamptz NOT NULL DEFAULT now(),
  erased_at     timestamptz,
  UNIQUE (user_id, room_id, day)
);
CREATE INDEX content_data_keys_by_room_day ON content_data_keys (room_id, day);
-- Rotation rewraps whatever another master key wrapped.
CREATE INDEX content_data_keys_by_master ON content_data_keys (master_key_id) WHERE wrapped IS NOT NULL;

-- Shares: one per message and one per edit, made ahead in batches by each command-service
-- instance (so sending a message writes nothing here), erased when the message is deleted.
-- Not wrapped: a share alone opens nothing without its data key.
CREATE TABLE content_shares (
  share_id  uuid        PRIMARY KEY,
  share     bytea,
  erased_at timestamptz
);
