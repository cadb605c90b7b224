-- MessageSent's second version says how the body is meant to be shown; events written before read as PLAIN.
ALTER TABLE messages ADD COLUMN format text NOT NULL DEFAULT 'PLAIN';
