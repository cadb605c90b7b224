-- The share each message's content, and each edit's, was sealed with (platform/src/content-keys):
-- deleting the message erases these shares in the same transaction that empties its rows, so
-- the log's ciphertext of it can never be opened again. Null for content written in the clear.
ALTER TABLE messages ADD COLUMN content_share uuid;
ALTER TABLE message_edits ADD COLUMN content_share uuid;
