-- The Kafka cluster whose log this deployment follows. Offsets, checkpoints, snapshots and the
-- idempotency keys folded from the log only mean something in that cluster. Set by the first
-- service to start (for a deployment older than this column, from its active read models' own
-- record), then changed only by `./chat rebuild --new-log`: a service that finds another
-- cluster answering decides and projects nothing until an operator has said which log is right.
ALTER TABLE read_model_control ADD COLUMN log_cluster text;
