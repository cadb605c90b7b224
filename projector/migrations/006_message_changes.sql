-- Replies, edits, deletes and reactions. A deleted message keeps its place (sequence) and
-- loses its body; reactions are one row per member, message and emoji.
ALTER TABLE messages
  ADD COLUMN reply_to   uuid,
  ADD COLUMN edited_at  timestamptz,
  ADD COLUMN deleted_at timestamptz;

CREATE TABLE message_reactions (
  message_id uuid        NOT NULL REFERENCES messages (message_id),
  user_id    text        NOT NULL,
  emoji      text        NOT NULL,
  reacted_at timestamptz NOT NULL,
  PRIMARY KEY (message_id, user_id, emoji)
);
