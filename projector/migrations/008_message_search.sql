-- Full-text search over message bodies. 'simple' (no stemming, no stop words): chats mix
-- languages, and a word should find itself whatever the language. A deleted message's body
-- is empty, so it matches nothing.
ALTER TABLE messages ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED;
CREATE INDEX messages_search ON messages USING gin (search);
