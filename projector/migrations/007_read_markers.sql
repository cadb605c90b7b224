-- Read markers, unread counts and mentions, and each room's last activity for "newest first".
ALTER TABLE room_members ADD COLUMN read_up_to bigint NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN last_activity_at timestamptz;
UPDATE rooms SET last_activity_at = COALESCE((SELECT max(sent_at) FROM messages m WHERE m.room_id = rooms.room_id), created_at);
ALTER TABLE rooms ALTER COLUMN last_activity_at SET NOT NULL;

-- A member named in a message as @username, counted apart in unread counts.
CREATE TABLE message_mentions (
  message_id uuid    NOT NULL REFERENCES messages (message_id),
  room_id    uuid    NOT NULL,
  sequence   bigint  NOT NULL,
  user_id    text    NOT NULL,
  PRIMARY KEY (message_id, user_id)
);
CREATE INDEX message_mentions_unread ON message_mentions (user_id, room_id, sequence);
CREATE INDEX users_by_username_key ON users (lower(normalize(username, NFKC)));
