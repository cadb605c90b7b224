import type { IncomingMessage, ServerResponse } from 'node:http';
import { createYoga } from 'graphql-yoga';
import { createRemoteJWKSet } from 'jose';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import {
  AccessTokenVerifier,
  SessionRevocations,
  accessTokenSettings,
  bearerToken,
  bootInstanceAuth,
  bootService,
  startInternalServer,
  useOperationMetrics,
  useOperationTracing,
  clientAddress,
  closeServer,
  commandServiceUrl,
  createPgPool,
  createRedis,
  postgresRevocationRecord,
  intFromEnv,
  isRefusal,
  onShutdown,
  playground,
  usePlaygroundPolicy,
  corsFromEnv,
  followReadModels,
  graphqlLimits,
  GRAPHQL_LIMITS,
  startHttpServer,
  readBody,
  handBody,
  type Caller,
  createS3Client,
} from '@chat/platform';
import { RoomFanout } from './adapters/fanout.ts';
import { LostNotificationSweep } from './app/lost-notification-sweep.ts';
import { SubscriptionCaps } from './app/subscription-caps.ts';
import { SubscribeRateLimit } from './adapters/subscribe-rate-limit.ts';
import { QueryRateLimit, QUERY_LIMIT_DEFAULTS } from './adapters/query-rate-limit.ts';
import { QueryBudget, BUDGET_DEFAULTS } from './adapters/query-budget.ts';
import { SOCKET_DEFAULTS, serveGraphqlWs } from './adapters/graphql-ws-server.ts';
import { RedisUserSlots } from './adapters/redis-user-slots.ts';
import { ReadModels } from './adapters/read-models.ts';
import { SocketSessions } from './adapters/socket-sessions.ts';
import { Presence } from './adapters/presence.ts';
import { TypingStore } from './adapters/typing.ts';
import { isBuilt, isWebClientRequest, serveWebClient, webDist } from './adapters/web-client.ts';
import { ATTACHMENT_FETCH_COST, isAttachmentRequest, serveAttachmentFiles } from './adapters/attachment-files.ts';
import { isExportRequest, serveExportFiles } from './adapters/export-files.ts';
import { S3ExportArchive } from './adapters/s3-export-archive.ts';
import { DataExports, EXPORT_TTL_MS } from './app/data-export.ts';
import { signOnProxy } from './adapters/sign-on-proxy.ts';
import { clearLoaders, createContext, type Context, type NoCaller, type Services } from './graphql/builder.ts';
import { commandMutationFields, withCommandMutations, type CommandCredentials } from './graphql/commands.ts';
import { useCommandRouting } from './graphql/command-routing.ts';
import { CommandForwarder } from './adapters/command-forwarder.ts';
import { schema as ownSchema } from './graphql/schema.ts';
import { useSharedSubscriptionExecution } from './graphql/shared-execution.ts';
import { QUERY_PRICES, admitByCost, useAdmission } from './graphql/admission.ts';

const { config, log, port, host, internalPort, internalHost } = bootService('query-service');
// Mutations and sign-on steps reach the command service signed as this instance.
const instanceAuth = bootInstanceAuth('query-service', log);

// The read models are wherever the control row says (a rebuild moves them), followed live.
const readModelPool = await followReadModels(config, log, 10);
// Each execution may make Postgres do only so much (QueryBudget): its statements are counted here.
const budget = new QueryBudget({
  statements: intFromEnv(process.env, 'QUERY_BUDGET_STATEMENTS', BUDGET_DEFAULTS.statements),
  rows: intFromEnv(process.env, 'QUERY_BUDGET_ROWS', BUDGET_DEFAULTS.rows),
});
const readModels = new ReadModels(budget.counted(readModelPool.pool));
const subscriber = createRedis(config, 'fanout');
const fanout = new RoomFanout(subscriber, config.redisPrefix, log);
await fanout.start();
const sweep = new LostNotificationSweep(fanout, (ids) => readModels.revisionsOf(ids), log);
sweep.start(intFromEnv(process.env, 'LIVE_SWEEP_INTERVAL_MS', 600));
fanout.onReconnect = () => sweep.resyncBehind();

// Tokens are checked against the command service's published keys: no shared secret. jose
// caches the set and fetches it again when a token names a key it does not have.
const tokens = accessTokenSettings();
const redis = createRedis(config);
// Postgres is the record of ended sessions, Redis its cache: while the cache is incomplete (say
// Redis restarted), a session is looked up in the command side's table instead of refused.
const sessionsPool = createPgPool(config, 2);
const revocations = new SessionRevocations(redis, config.redisPrefix, postgresRevocationRecord(sessionsPool, config.pgSchema));
const verifier = new AccessTokenVerifier(
  createRemoteJWKSet(new URL(tokens.jwksUrl), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000, timeoutDuration: 5000 }),
  tokens,
  revocations,
);
const presence = new Presence(redis, config.redisPrefix, log);
await presence.start();
const sockets = new SocketSessions(presence, log);
// Typing signals: a few per second per user are plenty; more is someone flooding a room.
const typingLimiter = new RateLimiterMemory({ points: 5, duration: 1 });
const objectStore = createS3Client(config.objectStore);
const exportArchive = new S3ExportArchive(objectStore, config.objectStore.bucket, config.objectPrefix);
const services: Services = {
  readModels,
  fanout,
  presence,
  exports: new DataExports({
    pool: readModelPool.pool,
    redis,
    prefix: config.redisPrefix,
    archive: exportArchive,
    keyPrefix: config.objectPrefix,
    log,
  }),
  typing: {
    store: new TypingStore(redis, config.redisPrefix),
    allow: (userId) =>
      typingLimiter.consume(userId).then(
        () => true,
        () => false,
      ),
  },
};
const subscribeLimit = new SubscribeRateLimit(redis, config.redisPrefix, intFromEnv(process.env, 'SUBSCRIBE_LIMIT_PER_USER', 60));
const queryLimit = new QueryRateLimit(redis, config.redisPrefix, {
  perUser: intFromEnv(process.env, 'QUERY_LIMIT_PER_USER', QUERY_LIMIT_DEFAULTS.perUser),
  perAddress: intFromEnv(process.env, 'QUERY_LIMIT_PER_ADDRESS', QUERY_LIMIT_DEFAULTS.perAddress),
});
const revocationSubscriber = createRedis(config);
await sockets.listen(revocationSubscriber, revocations.channel);

/** The caller an `Authorization` value names, or why there is none. */
async function callerOf(authorization: unknown): Promise<Caller | NoCaller> {
  try {
    const verdict = await verifier.verify(typeof authorization === 'string' ? bearerToken(authorization) : null);
    return isRefusal(verdict) ? { code: 'UNAUTHENTICATED', message: verdict.message } : verdict;
  } catch (error) {
    log.warn('cannot verify an access token', { error });
    return { code: 'UNAVAILABLE', message: 'cannot check sessions right now; retry shortly' };
  }
}

// The one endpoint: this service's schema plus the command service's mutations, which are
// routed to it before anything here runs them (command-routing.ts).
const schema = withCommandMutations(ownSchema);
const commands = new CommandForwarder(`${commandServiceUrl()}/graphql`, instanceAuth, log);

const yoga = createYoga({
  schema,
  plugins: [
    useAdmission(budget),
    ...graphqlLimits(process.env, { prices: QUERY_PRICES, admit: admitByCost(queryLimit) }),
    useOperationMetrics(),
    useOperationTracing(),
    useSharedSubscriptionExecution({
      beforeEachExecution: (ctx) => clearLoaders(ctx as Context),
      aroundEachExecution: (run) => budget.within(run),
    }),
    usePlaygroundPolicy(),
    useCommandRouting(commands, commandMutationFields(schema, ownSchema)),
  ],
  // No cross-origin callers unless CORS_ORIGINS names them.
  cors: corsFromEnv(),
  // Bodies are read (at most GRAPHQL_LIMITS.bytes) before Yoga, by the handler below.
  maxRequestBodySize: false,
  ...playground(
    'Chat',
    'query { myRooms(first: 20) { edges { node { id name unreadCount unreadMentions lastMessage { body sentAt } } } } }\n\n# mutation { sendMessage(roomId: "<roomId>", body: "hello", clientMessageId: "1") { __typename ... on CommandError { code message } } }\n# subscription { messageAdded(roomId: "<roomId>", after: "0") { sequence senderId body sentAt } }\n',
    { subscriptionsProtocol: 'WS' },
  ),
  // Over HTTP the caller comes from the Authorization header; over graphql-ws there is no
  // request, and graphql-ws-server.ts passes the socket's caller and credentials instead.
  context: async ({ request, req, socket }: HttpContext & SocketContext) => {
    if (socket) return createContext(socket.caller, socket.credentials, services);
    const authorization = request.headers.get('authorization') ?? undefined;
    return createContext(await callerOf(authorization), { authorization, clientAddress: clientAddress(req) }, services);
  },
});

/** 413, in GraphQL's shape: the body ran over GRAPHQL_LIMITS.bytes and was not read on. */
function bodyTooLarge(res: ServerResponse): void {
  res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
  res.end(
    JSON.stringify({ errors: [{ message: `the request body is over ${GRAPHQL_LIMITS.bytes} bytes`, extensions: { code: 'TOO_LARGE' } }] }),
  );
}

interface HttpContext {
  request: Request;
  req: IncomingMessage;
}
interface SocketContext {
  socket?: { caller: Caller | NoCaller; credentials: CommandCredentials };
}

// The browser client at this same origin, with single sign-on passed to the command service;
// GraphQL (and GraphiQL on GET) stays on its endpoint.
const dist = webDist();
const webClient = serveWebClient(dist, new URL(config.objectStore.publicEndpoint).origin);
if (!isBuilt(dist)) log.warn('the web client is not built; / answers 503 until it is', { dist, build: './chat build -w @chat/web' });
const signOn = signOnProxy(commandServiceUrl(), instanceAuth, log);
const admitFile = async (userId: string) => {
  const refused = await queryLimit.admit({ userId }, ATTACHMENT_FETCH_COST);
  return refused ? { retryAfterSeconds: Number(refused.extensions.retryAfterSeconds ?? 1) } : undefined;
};
const exportFiles = serveExportFiles({ callerOf, admit: admitFile, exports: services.exports, log });
// Archives are served for a day, then removed (the Redis job that names one expires with it).
const exportSweep = setInterval(
  () =>
    void exportArchive
      .removeOlderThan(Date.now() - EXPORT_TTL_MS)
      .catch((error: unknown) => log.warn('removing old exports failed', { error })),
  3600_000,
);
const attachmentFiles = serveAttachmentFiles({
  callerOf,
  admit: admitFile,
  readModels: readModelPool.pool,
  store: objectStore,
  bucket: config.objectStore.bucket,
  keyPrefix: config.objectPrefix,
  log,
});

const server = await startHttpServer({
  port,
  host,
  // The one public listener: connections are capped per client address too.
  public: true,
  ready: {
    postgres: () => readModelPool.pool.query('SELECT 1'),
    redis: () => redis.ping(),
    fanout: () => subscriber.status === 'ready',
  },
  handler: (req, res) => {
    if (req.url?.startsWith('/auth/')) return signOn(req, res);
    if (isAttachmentRequest(req)) return attachmentFiles(req, res);
    if (isExportRequest(req)) return exportFiles(req, res);
    if (isWebClientRequest(req, yoga.graphqlEndpoint)) return webClient(req, res);
    if (req.method !== 'POST') return yoga(req, res);
    void readBody(req, GRAPHQL_LIMITS.bytes).then(
      (body) => {
        if (!body) return bodyTooLarge(res);
        handBody(req, body);
        return yoga(req, res);
      },
      () => res.destroy(),
    );
  },
});

// Metrics only, on the listener that is never published.
const internalServer = await startInternalServer({ port: internalPort, host: internalHost });

// graphql-ws on the same path, through the same envelop and admission as HTTP.
const userSlots = new RedisUserSlots(redis, config.redisPrefix, log);
userSlots.start();
const caps = new SubscriptionCaps(
  {
    perSocket: intFromEnv(process.env, 'SUBSCRIPTIONS_PER_SOCKET', 100),
    perUser: intFromEnv(process.env, 'SUBSCRIPTIONS_PER_USER', 500),
  },
  userSlots,
);
const graphqlWs = serveGraphqlWs({
  server,
  yoga,
  callerOf,
  sockets,
  caps,
  subscribeLimit,
  settings: {
    authTimeoutMs: intFromEnv(process.env, 'WS_AUTH_TIMEOUT_MS', SOCKET_DEFAULTS.authTimeoutMs),
    perAddress: intFromEnv(process.env, 'WS_SOCKETS_PER_ADDRESS', SOCKET_DEFAULTS.perAddress),
    maxSockets: intFromEnv(process.env, 'WS_MAX_SOCKETS', SOCKET_DEFAULTS.maxSockets),
    keepAliveMs: intFromEnv(process.env, 'WS_KEEPALIVE_MS', SOCKET_DEFAULTS.keepAliveMs),
  },
  log,
});

log.info('listening', { url: `http://127.0.0.1:${port}${yoga.graphqlEndpoint}`, ws: `ws://127.0.0.1:${port}${yoga.graphqlEndpoint}` });

onShutdown(log, async () => {
  clearInterval(exportSweep);
  await graphqlWs.dispose();
  await userSlots.stop();
  await sweep.stop();
  await presence.stop();
  await closeServer(server);
  await closeServer(internalServer);
  commands.close();
  subscriber.disconnect();
  revocationSubscriber.disconnect();
  redis.disconnect();
  await readModelPool.stop();
  await sessionsPool.end();
});
