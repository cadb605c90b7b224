-- Which schema holds the read models now: what every service reads and the projector writes.
-- One row. `./chat rebuild` builds a new generation in a schema of its own and switches this
-- row once it matches; `previous` is kept for `./chat rebuild --rollback`.
CREATE TABLE read_model_control (
  id          boolean     PRIMARY KEY DEFAULT true CHECK (id),
  active      text        NOT NULL,
  previous    text,
  -- 'serving', or 'paused' while a rebuild or rollback brings its target level with the active one
  phase       text        NOT NULL DEFAULT 'serving',
  generation  integer     NOT NULL DEFAULT 0,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Each live projector instance says here what it is doing, every few seconds and at once when
-- it pauses or resumes: a rebuild waits until every live one has paused.
CREATE TABLE read_model_projectors (
  instance_id text        PRIMARY KEY,
  phase       text        NOT NULL,
  schema_name text        NOT NULL,
  seen_at     timestamptz NOT NULL DEFAULT now()
);
