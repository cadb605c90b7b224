-- Facts about where the read models came from. `kafka_cluster_id` ties them to one Kafka
-- cluster: offsets mean nothing in another one.
CREATE TABLE projection_meta (
  key   text PRIMARY KEY,
  value text NOT NULL
);
