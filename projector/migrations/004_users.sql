-- Users as others see them, from the user topic. No credential is ever here: passwords,
-- hashes, sessions and tokens live in the command side's own tables, which `rebuild` leaves alone.
CREATE TABLE users (
  user_id       uuid        PRIMARY KEY,
  username      text        NOT NULL,
  display_name  text        NOT NULL,
  avatar_url    text,
  bio           text,
  registered_at timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL
);
CREATE INDEX users_by_username ON users (lower(username));
