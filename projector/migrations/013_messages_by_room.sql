-- A message belongs to its room. Everything about a message (its edits, reactions, mentions)
-- is keyed by (room_id, message_id), and every statement that changes one names both, so an
-- event of one room can never reach another room's message, whatever id it carries. The
-- message id stays unique on its own too: a second message under a known id is refused (and
-- set aside as a dead letter), never merged with the first.
ALTER TABLE messages ADD CONSTRAINT messages_room_message UNIQUE (room_id, message_id);

ALTER TABLE message_reactions ADD COLUMN room_id uuid;
UPDATE message_reactions r SET room_id = m.room_id FROM messages m WHERE m.message_id = r.message_id;
ALTER TABLE message_reactions
  ALTER COLUMN room_id SET NOT NULL,
  DROP CONSTRAINT message_reactions_pkey,
  DROP CONSTRAINT message_reactions_message_id_fkey,
  ADD PRIMARY KEY (room_id, message_id, user_id, emoji),
  ADD FOREIGN KEY (room_id, message_id) REFERENCES messages (room_id, message_id);

ALTER TABLE message_mentions
  DROP CONSTRAINT message_mentions_pkey,
  DROP CONSTRAINT message_mentions_message_id_fkey,
  ADD PRIMARY KEY (room_id, message_id, user_id),
  ADD FOREIGN KEY (room_id, message_id) REFERENCES messages (room_id, message_id);

-- The text of every edit, apart from room_events (which keeps each event's own fields, never a
-- message's text): deleting a message deletes its rows here, so its earlier versions are gone
-- from every replay (roomEvents from "0" as well). Only edits of a message of the same room
-- that was not deleted are kept, as the projector does from now on.
CREATE TABLE message_edits (
  room_id    uuid   NOT NULL,
  message_id uuid   NOT NULL,
  revision   bigint NOT NULL,
  body       text   NOT NULL,
  PRIMARY KEY (room_id, message_id, revision),
  FOREIGN KEY (room_id, message_id) REFERENCES messages (room_id, message_id)
);
INSERT INTO message_edits (room_id, message_id, revision, body)
SELECT e.room_id, m.message_id, e.revision, e.data ->> 'body'
  FROM room_events e JOIN messages m ON m.room_id = e.room_id AND m.message_id = (e.data ->> 'messageId')::uuid
 WHERE e.type = 'MessageEdited' AND e.data ? 'body' AND m.deleted_at IS NULL;
UPDATE room_events SET data = data - 'body' WHERE type = 'MessageEdited' AND data ? 'body';

-- A deleted message's mentions were derived from its text: gone with it.
DELETE FROM message_mentions mm USING messages m
 WHERE m.room_id = mm.room_id AND m.message_id = mm.message_id AND m.deleted_at IS NOT NULL;
UPDATE room_events e SET data = e.data - 'mentions' FROM messages m
 WHERE e.type = 'MessageSent' AND e.room_id = m.room_id AND e.revision = m.revision AND m.deleted_at IS NOT NULL AND e.data ? 'mentions';
