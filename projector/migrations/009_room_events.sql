-- Every room event with its revision, as the read side keeps it: what roomEvents replays
-- after a client's cursor before going live. A message's body lives in messages, not here.
CREATE TABLE room_events (
  room_id     uuid        NOT NULL,
  revision    bigint      NOT NULL,
  type        text        NOT NULL,
  actor_id    text        NOT NULL,
  occurred_at timestamptz NOT NULL,
  data        jsonb       NOT NULL,
  PRIMARY KEY (room_id, revision)
);
