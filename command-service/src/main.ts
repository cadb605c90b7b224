import { createYoga } from 'graphql-yoga';
import {
  bootService,
  closeServer,
  playground,
  createKafka,
  createPgPool,
  intFromEnv,
  onShutdown,
  startHttpServer,
  topicName,
  waitFor,
} from '@chat/platform';
import { EventCodec } from '@chat/schemas';
import { KafkaEventLog, followRoomEvents } from './adapters/kafka-event-log.ts';
import { ProjectionWatcher } from './adapters/projection-watcher.ts';
import { CommandHandler } from './app/command-handler.ts';
import { RoomStore } from './app/room-store.ts';
import { schema } from './graphql/schema.ts';
import type { Context } from './graphql/builder.ts';

const { config, log, port, host } = bootService('command-service');

const codec = new EventCodec(config.schemaRegistryUrl, config.topicPrefix);
// The registry may still be starting (or briefly away): registration waits for it.
await waitFor('the schema registry to take the event schemas', async () => (await codec.registerAll(), true), {
  timeoutMs: 120_000,
  intervalMs: 1000,
});
const kafka = createKafka(config, 'command-service', log);
const eventLog = new KafkaEventLog(kafka, codec, config.topicPrefix);
await eventLog.connect();
const pool = createPgPool(config, 4);
const watcher = new ProjectionWatcher(config, pool, topicName(config.topicPrefix, 'roomEvents'), log);
await watcher.start();

const store = new RoomStore();
const follower = await followRoomEvents(kafka, codec, config.topicPrefix, (event, position) => store.apply(event, position), log);
let caughtUp = false;
void follower.caughtUp.then(() => {
  caughtUp = true;
  log.info('caught up with the event log', { rooms: store.roomCount });
});

const handler = new CommandHandler(store, eventLog, watcher, {
  log,
  appendTimeoutMs: intFromEnv(process.env, 'APPEND_TIMEOUT_MS', 10_000),
  visibilityTimeoutMs: intFromEnv(process.env, 'VISIBILITY_TIMEOUT_MS', 5_000),
});

const yoga = createYoga({
  schema,
  ...playground(
    'Chat commands',
    'mutation { createRoom(name: "general") { __typename ... on RoomAccepted { roomId } ... on CommandError { code message } } }\n',
  ),
  // Commands wait for the catch-up, so no decision is taken on a partial view of the log.
  context: async ({ request }): Promise<Context> => {
    await follower.caughtUp;
    return { userId: request.headers.get('x-user-id'), traceparent: request.headers.get('traceparent') ?? undefined, handler };
  },
});

const server = await startHttpServer({ port, host, ready: () => caughtUp, handler: yoga });
log.info('listening', { url: `http://127.0.0.1:${port}${yoga.graphqlEndpoint}` });

onShutdown(log, async () => {
  await closeServer(server);
  await follower.stop();
  await eventLog.disconnect();
  await watcher.stop();
  await pool.end();
});
