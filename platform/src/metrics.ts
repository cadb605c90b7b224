import { Counter, Gauge, Histogram } from 'prom-client';

// Every metric the services export, named in one place so a dashboard and its test find them
// here. Labels take only values the code bounds (an operation type, a root field of the schema,
// a topic, a partition number), never what a client sends, so no caller can grow the series.

export const graphqlOperations = new Counter({
  name: 'graphql_operations_total',
  help: 'GraphQL operations executed, by type, first root field and outcome (ok, error)',
  labelNames: ['type', 'field', 'outcome'] as const,
});
export const graphqlDuration = new Histogram({
  name: 'graphql_operation_duration_seconds',
  help: 'Time to execute a query or mutation, by type and first root field',
  labelNames: ['type', 'field'] as const,
  buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
});

export const kafkaTransactionDuration = new Histogram({
  name: 'kafka_transaction_duration_seconds',
  help: 'Time from a transaction begun to its commit acknowledged (produce latency, acks=all)',
  buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
});
export const kafkaRecordsAppended = new Counter({ name: 'kafka_records_appended_total', help: 'Event records committed to Kafka' });
export const kafkaTransactionAborts = new Counter({
  name: 'kafka_transaction_aborts_total',
  help: 'Transactions that failed and were abandoned',
});
export const partitionsOwned = new Gauge({
  name: 'command_partitions_owned',
  help: 'Room-topic partitions this command-service instance owns',
});

export const projectorEvents = new Counter({
  name: 'projector_events_total',
  help: 'Event records handed to the projection, by topic',
  labelNames: ['topic'] as const,
});
export const projectorBatchRecords = new Histogram({
  name: 'projector_batch_records',
  help: 'Records per fetched batch handed to the projection',
  buckets: [1, 5, 10, 50, 100, 500, 1000, 5000],
});
export const consumerLag = new Gauge({
  name: 'projector_consumer_lag',
  help: 'Records behind the partition high watermark after the last batch, by topic and partition',
  labelNames: ['topic', 'partition'] as const,
});
export const lastCheckpoint = new Gauge({
  name: 'projector_last_checkpoint_timestamp_seconds',
  help: 'When a batch and its checkpoint were last committed to Postgres (Unix time)',
});
export const recordsBehind = new Gauge({
  name: 'projector_records_behind',
  help: 'Records of the projected topics past the read models checkpoints, all partitions (read at each readiness probe)',
});
export const deadLetters = new Counter({ name: 'projector_dead_letters_total', help: 'Records dead-lettered' });

export const redisPublishes = new Counter({
  name: 'redis_publishes_total',
  help: 'Live notifications published to Redis (one per channel per batch)',
});
export const redisMessagesReceived = new Counter({
  name: 'redis_messages_received_total',
  help: 'Live notification messages received from Redis',
});

export const liveSockets = new Gauge({ name: 'graphql_ws_sockets', help: 'graphql-ws sockets open on this instance' });
export const liveSubscriptions = new Gauge({
  name: 'graphql_ws_operations',
  help: 'graphql-ws operations (subscriptions mostly) open on this instance',
});
export const subscriptionExecutions = new Counter({
  name: 'graphql_subscription_executions_total',
  help: 'Executions of subscription selections over events, shared or not',
});
export const subscriptionDeliveries = new Counter({
  name: 'graphql_subscription_results_total',
  help: 'Subscription results handed to subscribers',
});
export const subscriptionFrames = new Counter({
  name: 'graphql_subscription_frames_total',
  help: 'Of those, results written straight to the socket as bytes serialised once per shared execution',
});

// ./chat rebuild serves these on REBUILD_METRICS_PORT while it runs (Prometheus job `rebuild`).
export const rebuildEventsDone = new Gauge({ name: 'rebuild_events_done', help: 'Events the running rebuild has projected' });
export const rebuildEventsTotal = new Gauge({ name: 'rebuild_events_total', help: 'Events the running rebuild must project' });
export const rebuildEventsPerSecond = new Gauge({ name: 'rebuild_events_per_second', help: 'Rebuild speed' });
export const rebuildStage = new Gauge({
  name: 'rebuild_stage',
  help: '1 for the stage the running rebuild is in',
  labelNames: ['stage'] as const,
});
