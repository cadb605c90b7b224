import type { IncomingMessage, Server } from 'node:http';
import { GraphQLError, getOperationAST, type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { GRAPHQL_LIMITS, OpenCounts, addressKey, clientAddress, liveSockets, type Caller, type Logger } from '@chat/platform';
import type { NoCaller } from '../graphql/builder.ts';
import type { CommandCredentials } from '../graphql/commands.ts';
import type { SubscriptionCaps } from '../app/subscription-caps.ts';
import { framesTo } from './live-frames.ts';
import { FORBIDDEN_CLOSE, type SocketSessions } from './socket-sessions.ts';
import type { SubscribeRateLimit } from './subscribe-rate-limit.ts';

// graphql-ws on the same path as HTTP GraphQL, executed through Yoga's envelop so both
// transports share one schema, one context factory, one error masking and one admission
// (graphql/admission.ts). What is the socket's own:
// - who may hold one: at most WS_SOCKETS_PER_ADDRESS per client address and WS_MAX_SOCKETS per
//   process (the upgrade is refused with 429 or 503), and a socket must authenticate within
//   WS_AUTH_TIMEOUT_MS of opening, by a token in connection_init or in an operation's
//   extensions.headers (GraphiQL's way), or it is closed with 4401;
// - its session: a socket is tied to the sessions that authenticated it and closed when one ends
//   or its token expires (SocketSessions);
// - its operations: the caps per socket and per user, and the subscribe rate limit;
// - its peer's liveness: one keep-alive loop pings every socket, and terminates one that did not
//   answer the last ping.

/** graphql-ws's Unauthorized: the socket did not authenticate in time. */
export const UNAUTHENTICATED_CLOSE = 4401;

export interface SocketSettings {
  /** WS_AUTH_TIMEOUT_MS */
  authTimeoutMs: number;
  /** WS_SOCKETS_PER_ADDRESS */
  perAddress: number;
  /** WS_MAX_SOCKETS */
  maxSockets: number;
  /** WS_KEEPALIVE_MS */
  keepAliveMs: number;
}

export const SOCKET_DEFAULTS: SocketSettings = { authTimeoutMs: 5000, perAddress: 200, maxSockets: 10_000, keepAliveMs: 30_000 };

type Executed = ExecutionResult | AsyncIterableIterator<ExecutionResult>;

/** What is used of the Yoga instance: its path and its envelop (one schema, context factory, plugins). */
export interface EnvelopedEndpoint {
  graphqlEndpoint: string;
  getEnveloped(initialContext: Record<string, unknown>): {
    schema: GraphQLSchema;
    parse(source: string): DocumentNode;
    validate(schema: GraphQLSchema, document: DocumentNode): readonly GraphQLError[];
    contextFactory(extension: Record<string, unknown>): unknown;
    execute(args: ExecutionArgs): Executed | Promise<Executed>;
    subscribe(args: ExecutionArgs): Executed | Promise<Executed>;
  };
}

export interface GraphqlWsOptions {
  server: Server;
  yoga: EnvelopedEndpoint;
  /** The caller an `Authorization` value names, or why there is none. */
  callerOf: (authorization: unknown) => Promise<Caller | NoCaller>;
  sockets: SocketSessions;
  caps: SubscriptionCaps;
  subscribeLimit: SubscribeRateLimit;
  settings: SocketSettings;
  log: Logger;
}

interface SocketExtra extends Record<PropertyKey, unknown> {
  socket: WebSocket;
  request: IncomingMessage;
  caller?: Caller;
  authorization?: string;
}

type EnvelopedRoot = Pick<ReturnType<EnvelopedEndpoint['getEnveloped']>, 'execute' | 'subscribe'>;

export function serveGraphqlWs({ server, yoga, callerOf, sockets, caps, subscribeLimit, settings, log }: GraphqlWsOptions): {
  dispose: () => Promise<void>;
} {
  const perAddress = new OpenCounts();
  let open = 0;
  const authenticated = new WeakSet<WebSocket>();

  const wsServer = new WebSocketServer({
    server,
    path: yoga.graphqlEndpoint,
    // A message over the size limit closes its socket (1009, message too big).
    maxPayload: GRAPHQL_LIMITS.bytes,
    // ws's default, said aloud: compressing each small message would cost more CPU than a delivery.
    perMessageDeflate: false,
    // Counted from the upgrade to the TCP connection's end, so a refused or broken handshake frees its place too.
    verifyClient: ({ req }: { req: IncomingMessage }, done: (ok: boolean, status?: number, message?: string) => void) => {
      // Counted by its key, as every per-address limit is (an IPv6 host by its /64).
      const address = addressKey(clientAddress(req));
      if (open >= settings.maxSockets) return done(false, 503, 'Too many connections');
      if (!perAddress.take(address, settings.perAddress)) return done(false, 429, 'Too many connections from this address');
      open += 1;
      req.socket.once('close', () => {
        open -= 1;
        perAddress.release(address);
      });
      done(true);
    },
  });

  /**
   * The caller of an operation on a socket: the socket's own, or one named by the operation's
   * headers; the socket is then tied to that session too, and closes when it ends or expires.
   */
  const operationCaller = async (
    extra: SocketExtra,
    extensions: unknown,
  ): Promise<{ caller: Caller | NoCaller; authorization: string | undefined }> => {
    if (extra.caller) return { caller: extra.caller, authorization: extra.authorization };
    const header = operationHeaders(extensions)?.authorization;
    const authorization = typeof header === 'string' ? header : undefined;
    const caller = await callerOf(authorization);
    if (!('code' in caller)) {
      authenticated.add(extra.socket);
      sockets.add(extra.socket, caller);
    }
    return { caller, authorization };
  };

  const cleanup = useServer<Record<string, unknown> | undefined, SocketExtra>(
    {
      // A token in connection_init (`authorization: "Bearer …"`) authenticates the socket; a bad
      // one is refused with Forbidden (4403) and why, as the close reason (graphql-ws's own close
      // says only "Forbidden"). A socket opened without one (GraphiQL does this) must carry the
      // token in an operation's extensions.headers before its deadline.
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        if (authorization === undefined) return true;
        const caller = await callerOf(authorization);
        if ('code' in caller) {
          ctx.extra.socket.close(FORBIDDEN_CLOSE, closeReason(`Forbidden: ${caller.message}`));
          return false;
        }
        Object.assign(ctx.extra, { caller, authorization: String(authorization) });
        authenticated.add(ctx.extra.socket);
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
        // Queries are weighed by cost like any (admission.ts); starting a subscription has its own limit.
        const isSubscription = getOperationAST(document, params.operationName)?.operation === 'subscription';
        const limited = isSubscription && !('code' in caller) ? await subscribeLimit.admit(caller.userId) : undefined;
        if (limited) return [limited];
        const refused = await caps.admit(ctx.extra.socket, id, 'code' in caller ? undefined : caller.userId);
        if (refused) return [refused];
        const credentials: CommandCredentials = { authorization, clientAddress: clientAddress(ctx.extra.request) };
        const contextValue = (await contextFactory({ socket: { caller, credentials } })) as Record<string, unknown>;
        // A shared subscription's live events may be written to the socket as this operation's messages (live-frames.ts).
        framesTo(contextValue, ctx.extra.socket, id);
        return {
          schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue,
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
    answeredPing.add(socket);
    socket.on('pong', () => answeredPing.add(socket));
    const deadline = setTimeout(() => {
      if (authenticated.has(socket)) return;
      log.debug('closing a socket that did not authenticate in time');
      socket.close(UNAUTHENTICATED_CLOSE, `Unauthorized: authenticate within ${settings.authTimeoutMs} ms`);
    }, settings.authTimeoutMs);
    socket.once('close', () => {
      clearTimeout(deadline);
      liveSockets.dec();
    });
  });
  const keepAlive = setInterval(() => {
    for (const socket of wsServer.clients) {
      if (!answeredPing.delete(socket)) socket.terminate();
      else socket.ping();
    }
  }, settings.keepAliveMs);
  keepAlive.unref();

  return {
    dispose: async () => {
      clearInterval(keepAlive);
      await cleanup.dispose();
    },
  };
}

/** The headers GraphiQL sends inside each graphql-ws operation's extensions, with lower-case names. */
function operationHeaders(extensions: unknown): Record<string, unknown> | undefined {
  const headers = (extensions as { headers?: unknown } | undefined)?.headers;
  if (typeof headers !== 'object' || headers === null) return undefined;
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

/** A WebSocket close reason is at most 123 bytes of UTF-8. */
function closeReason(text: string): string {
  let reason = text;
  while (Buffer.byteLength(reason) > 123) reason = reason.slice(0, -1);
  return reason;
}
