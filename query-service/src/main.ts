import type { IncomingMessage } from 'node:http';
import { GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
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
  liveSockets,
  useOperationMetrics,
  useOperationTracing,
  clientAddress,
  closeServer,
  commandServiceUrl,
  createRedis,
  intFromEnv,
  isRefusal,
  onShutdown,
  playground,
  followReadModels,
  graphqlLimits,
  GRAPHQL_LIMITS,
  startHttpServer,
  type Caller,
} from '@chat/platform';
import { RoomFanout } from './adapters/fanout.ts';
import { LostNotificationSweep } from './app/lost-notification-sweep.ts';
import { SubscriptionCaps } from './app/subscription-caps.ts';
import { SubscribeRateLimit } from './adapters/subscribe-rate-limit.ts';
import { RedisUserSlots } from './adapters/redis-user-slots.ts';
import { ReadModels } from './adapters/read-models.ts';
import { SocketSessions } from './adapters/socket-sessions.ts';
import { Presence } from './adapters/presence.ts';
import { TypingStore } from './adapters/typing.ts';
import { isBuilt, isWebClientRequest, serveWebClient, webDist } from './adapters/web-client.ts';
import { signOnProxy } from './adapters/sign-on-proxy.ts';
import { clearLoaders, createContext, type Context, type NoCaller, type Services } from './graphql/builder.ts';
import { commandExecutor, withCommandMutations, type CommandCredentials } from './graphql/commands.ts';
import { schema as ownSchema } from './graphql/schema.ts';
import { useSharedSubscriptionExecution } from './graphql/shared-execution.ts';

const { config, log, port, host, internalPort, internalHost } = bootService('query-service');
// Mutations and sign-on steps reach the command service signed as this instance.
const instanceAuth = bootInstanceAuth('query-service', log);

// The read models are wherever the control row says (a rebuild moves them), followed live.
const readModelPool = await followReadModels(config, log, 10);
const readModels = new ReadModels(readModelPool.pool);
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
const revocations = new SessionRevocations(redis, config.redisPrefix);
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
const services: Services = {
  readModels,
  fanout,
  presence,
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

// The one endpoint: this service's schema plus the command service's mutations, proxied.
const schema = withCommandMutations(
  ownSchema,
  commandExecutor(`${commandServiceUrl()}/graphql`, (context) => (context as Context).commandCredentials, instanceAuth),
);

const yoga = createYoga({
  schema,
  plugins: [
    ...graphqlLimits(),
    useOperationMetrics(),
    useOperationTracing(),
    useSharedSubscriptionExecution({ beforeEachExecution: (ctx) => clearLoaders(ctx as Context) }),
  ],
  maxRequestBodySize: GRAPHQL_LIMITS.bytes,
  ...playground(
    'Chat',
    'query { myRooms(first: 20) { edges { node { id name unreadCount unreadMentions lastMessage { body sentAt } } } } }\n\n# mutation { sendMessage(roomId: "<roomId>", body: "hello", clientMessageId: "1") { __typename ... on CommandError { code message } } }\n# subscription { messageAdded(roomId: "<roomId>", after: "0") { sequence senderId body sentAt } }\n',
    { subscriptionsProtocol: 'WS' },
  ),
  // Over HTTP the caller comes from the Authorization header; over graphql-ws there is no
  // request, and onSubscribe below passes the socket's caller and credentials instead.
  context: async ({ request, req, socket }: HttpContext & SocketContext) => {
    if (socket) return createContext(socket.caller, socket.credentials, services);
    const authorization = request.headers.get('authorization') ?? undefined;
    return createContext(await callerOf(authorization), { authorization, clientAddress: clientAddress(req) }, services);
  },
});

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
const webClient = serveWebClient(dist);
if (!isBuilt(dist)) log.warn('the web client is not built; / answers 503 until it is', { dist, build: 'npm run build -w @chat/web' });
const signOn = signOnProxy(commandServiceUrl(), instanceAuth, log);

const server = await startHttpServer({
  port,
  host,
  ready: {
    postgres: () => readModelPool.pool.query('SELECT 1'),
    redis: () => redis.ping(),
    fanout: () => subscriber.status === 'ready',
  },
  handler: (req, res) => {
    if (req.url?.startsWith('/auth/')) return signOn(req, res);
    if (isWebClientRequest(req, yoga.graphqlEndpoint)) return webClient(req, res);
    return yoga(req, res);
  },
});

// Metrics only, on the listener that is never published.
const internalServer = await startInternalServer({ port: internalPort, host: internalHost });

// graphql-ws on the same path as HTTP GraphQL, executed through Yoga's envelop so both
// transports share one schema, one context factory and one error masking.
const userSlots = new RedisUserSlots(redis, config.redisPrefix, log);
userSlots.start();
const caps = new SubscriptionCaps(
  {
    perSocket: intFromEnv(process.env, 'SUBSCRIPTIONS_PER_SOCKET', 100),
    perUser: intFromEnv(process.env, 'SUBSCRIPTIONS_PER_USER', 500),
  },
  userSlots,
);
// A message over the size limit closes its socket (1009, message too big).
const wsServer = new WebSocketServer({ server, path: yoga.graphqlEndpoint, maxPayload: GRAPHQL_LIMITS.bytes });
const wsCleanup = useServer(
  {
    // A token in connection_init (`authorization: "Bearer …"`) authenticates the socket; a bad
    // one is refused with Forbidden (4403). A socket opened without one (GraphiQL does this)
    // must carry the token in each operation's extensions.headers instead.
    onConnect: async (ctx) => {
      const authorization = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
      if (authorization === undefined) return true;
      const caller = await callerOf(authorization);
      if ('code' in caller) return false;
      Object.assign(ctx.extra, { caller, authorization: String(authorization) } satisfies SocketExtra);
      sockets.add(ctx.extra.socket, caller);
      return true;
    },
    execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
    subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
    onSubscribe: async (ctx, id, params) => {
      const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
        ...ctx,
        req: ctx.extra.request,
        socket: ctx.extra.socket,
        params,
      });
      // A document that does not parse (or is over the token limit) fails its own operation, not the socket.
      let document;
      try {
        document = parse(params.query);
      } catch (error) {
        return [error instanceof GraphQLError ? error : new GraphQLError('the document could not be parsed')];
      }
      const errors = validate(schema, document);
      if (errors.length > 0) return errors;
      const { caller, authorization } = await operationCaller(ctx.extra, params.extensions);
      const limited = 'code' in caller ? undefined : await subscribeLimit.admit(caller.userId);
      if (limited) return [limited];
      const refused = await caps.admit(ctx.extra.socket, id, 'code' in caller ? undefined : caller.userId);
      if (refused) return [refused];
      return {
        schema,
        operationName: params.operationName,
        document,
        variableValues: params.variables,
        contextValue: await contextFactory({
          socket: { caller, credentials: { authorization, clientAddress: clientAddress(ctx.extra.request) } },
        }),
        rootValue: { execute, subscribe } satisfies EnvelopedRoot,
      };
    },
    onComplete: (ctx, id) => caps.release(ctx.extra.socket, id),
    onClose: (ctx) => caps.releaseSocket(ctx.extra.socket),
  },
  wsServer,
  // No per-socket ping timer of graphql-ws: the one keep-alive loop below pings every socket.
  0,
);

// A peer that vanished without closing (a closed laptop, a dropped network) is found by ping:
// a socket that has not answered the last one when the next is due is terminated, which
// completes its operations and frees their slots.
const answeredPing = new WeakSet<WebSocket>();
wsServer.on('connection', (socket) => {
  liveSockets.inc();
  socket.once('close', () => liveSockets.dec());
  answeredPing.add(socket);
  socket.on('pong', () => answeredPing.add(socket));
});
const keepAlive = setInterval(
  () => {
    for (const socket of wsServer.clients) {
      if (!answeredPing.delete(socket)) socket.terminate();
      else socket.ping();
    }
  },
  intFromEnv(process.env, 'WS_KEEPALIVE_MS', 30_000),
);
keepAlive.unref();

interface SocketExtra {
  caller?: Caller;
  authorization?: string;
}

/**
 * The caller of an operation on a socket: the socket's own, or one named by the operation's
 * headers; the socket is then tied to that session too, and closes when it ends or expires.
 */
async function operationCaller(
  extra: { socket: WebSocket },
  extensions: unknown,
): Promise<{ caller: Caller | NoCaller; authorization: string | undefined }> {
  const own = extra as SocketExtra;
  if (own.caller) return { caller: own.caller, authorization: own.authorization };
  const header = operationHeaders(extensions)?.authorization;
  const authorization = typeof header === 'string' ? header : undefined;
  const caller = await callerOf(authorization);
  if (!('code' in caller)) sockets.add(extra.socket, caller);
  return { caller, authorization };
}

/** The headers GraphiQL sends inside each graphql-ws operation's extensions, with lower-case names. */
function operationHeaders(extensions: unknown): Record<string, unknown> | undefined {
  const headers = (extensions as { headers?: unknown } | undefined)?.headers;
  if (typeof headers !== 'object' || headers === null) return undefined;
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

type EnvelopedRoot = Pick<ReturnType<typeof yoga.getEnveloped>, 'execute' | 'subscribe'>;

log.info('listening', { url: `http://127.0.0.1:${port}${yoga.graphqlEndpoint}`, ws: `ws://127.0.0.1:${port}${yoga.graphqlEndpoint}` });

onShutdown(log, async () => {
  clearInterval(keepAlive);
  await wsCleanup.dispose();
  await userSlots.stop();
  await sweep.stop();
  await presence.stop();
  await closeServer(server);
  await closeServer(internalServer);
  subscriber.disconnect();
  revocationSubscriber.disconnect();
  redis.disconnect();
  await readModelPool.stop();
});
