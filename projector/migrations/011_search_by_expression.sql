-- Full-text search by an expression index instead of a stored tsvector column: a message's
-- vector is computed once on insert (for the index) instead of twice, and a rebuild that
-- creates its indexes after the bulk load computes none while loading.
DROP INDEX messages_search;
ALTER TABLE messages DROP COLUMN search;
CREATE INDEX messages_search ON messages USING gin (to_tsvector('simple', body));
