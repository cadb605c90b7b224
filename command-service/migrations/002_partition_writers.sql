-- Which producer generation (transactional id) last claimed each partition of the room
-- topic. A new owner swaps itself in and fences the one it replaced; an owner whose producer
-- failed may only move the claim from its own old generation to its new one, so an instance
-- that lost a partition while it was frozen learns it here instead of taking it back.
CREATE TABLE command_partition_writers (
  topic            text        NOT NULL,
  partition        integer     NOT NULL,
  transactional_id text        NOT NULL,
  claimed_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, partition)
);
