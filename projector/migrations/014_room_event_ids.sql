-- The id of the event applied at each room revision: the same event delivered again is a
-- replay, skipped; another event at a revision already applied (two writers, one revision)
-- stops its partition instead of being skipped as a replay. Rows projected before this
-- column have none, and their revisions are told apart as before (by revision alone).
ALTER TABLE room_events ADD COLUMN event_id uuid;
