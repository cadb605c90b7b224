-- Account deletion (app/account-deletion.ts). A deleted account keeps its row, emptied, so its
-- id is never handed out again and its AccountDeleted event can be appended again after a
-- crash; its name is free for others (the key and skeleton no username can take).
ALTER TABLE auth_accounts
  ADD COLUMN deletion_started_at timestamptz,
  ADD COLUMN deletion_event_id uuid,
  ADD COLUMN deleted_at timestamptz,
  ADD COLUMN deleted_offset bigint;
CREATE INDEX auth_accounts_undeleted ON auth_accounts (deleted_at) WHERE deleted_at IS NOT NULL AND deleted_offset IS NULL;

-- Authors whose content keys are erased: no new data key is ever made for them, so nothing
-- written in the moment of their deletion is sealed under a key that outlives it.
CREATE TABLE content_erased_users (
  user_id   text        PRIMARY KEY,
  erased_at timestamptz NOT NULL
);
