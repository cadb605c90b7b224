-- Command-side snapshots: one per partition of the room topic, written by the partition's
-- owner, so a new owner restores from here plus the log's tail instead of the whole log.
-- `state` is the JSON of PartitionState.toSnapshot(); offsets only mean something in the
-- Kafka cluster that issued them, hence the cluster id.
CREATE TABLE command_snapshots (
  topic            text        NOT NULL,
  partition        integer     NOT NULL,
  next_offset      bigint      NOT NULL,
  kafka_cluster_id text        NOT NULL,
  state            text        NOT NULL,
  taken_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, partition)
);
