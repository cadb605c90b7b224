-- MessageSent's third version carries the files attached to a message (their bytes are in the
-- object store). Kept with the message, as MessageSent records them; a deleted message has none.
ALTER TABLE messages ADD COLUMN attachments jsonb NOT NULL DEFAULT '[]';
