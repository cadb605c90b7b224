-- Read models for rooms, members and messages, plus the projector's own bookkeeping.
-- All of it is disposable: `rebuild` drops it and replays the topics.

CREATE TABLE rooms (
  room_id       uuid PRIMARY KEY,
  name          text        NOT NULL,
  created_by    text        NOT NULL,
  created_at    timestamptz NOT NULL,
  -- The last message sequence handed out in this room; the next message gets +1.
  last_sequence bigint      NOT NULL DEFAULT 0
);

CREATE TABLE room_members (
  room_id   uuid        NOT NULL REFERENCES rooms (room_id),
  user_id   text        NOT NULL,
  joined_at timestamptz NOT NULL,
  PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_members_by_user ON room_members (user_id);

CREATE TABLE messages (
  room_id           uuid        NOT NULL,
  sequence          bigint      NOT NULL,
  message_id        uuid        NOT NULL UNIQUE,
  sender_id         text        NOT NULL,
  client_message_id text        NOT NULL,
  body              text        NOT NULL,
  sent_at           timestamptz NOT NULL,
  event_id          uuid        NOT NULL,
  PRIMARY KEY (room_id, sequence),
  -- A sender's idempotency key names one message per room, whatever reaches the log.
  UNIQUE (room_id, sender_id, client_message_id)
);

-- Exactly-once in effect: the next offset to apply per partition, written in the same
-- transaction as the rows that offset produced.
CREATE TABLE projection_checkpoints (
  topic       text        NOT NULL,
  partition   integer     NOT NULL,
  next_offset bigint      NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, partition)
);

-- Records that could not be decoded: kept, not dropped, and not allowed to block a partition.
CREATE TABLE dead_letters (
  topic       text        NOT NULL,
  partition   integer     NOT NULL,
  "offset"    bigint      NOT NULL,
  error       text        NOT NULL,
  key         text,
  value       bytea,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, partition, "offset")
);
