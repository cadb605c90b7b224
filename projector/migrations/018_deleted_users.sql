-- Deleted accounts stay as their id ("deleted user"), with nothing else of theirs: the
-- projector empties the row on AccountDeleted, and their sealed profile events open as erased
-- on a rebuild. Searches leave them out.
ALTER TABLE users ADD COLUMN deleted_at timestamptz;

-- A user's messages, for deleting their account (the rooms it must reach) and for exporting them
-- (a page at a time, in room and sequence order).
CREATE INDEX messages_by_sender ON messages (sender_id, room_id, sequence);
