import { useServer } from 'graphql-ws/use/ws';
import { createYoga } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { bootService, closeServer, playground, createPgPool, createRedis, onShutdown, startHttpServer } from '@chat/platform';
import { RoomFanout } from './adapters/fanout.ts';
import { ReadModels } from './adapters/read-models.ts';
import { createContext } from './graphql/builder.ts';
import { schema } from './graphql/schema.ts';

const { config, log, port, host } = bootService('query-service');

const pool = createPgPool(config, 10);
const readModels = new ReadModels(pool);
const subscriber = createRedis(config);
const fanout = new RoomFanout(subscriber, config.redisPrefix, log);
await fanout.start();

const yoga = createYoga({
  schema,
  ...playground(
    'Chat',
    'query { myRooms { id name lastSequence } }\n\n# subscription { messageAdded(roomId: "<roomId>", after: "0") { sequence senderId body sentAt } }\n',
    { subscriptionsProtocol: 'WS' },
  ),
  // Over HTTP the caller is the x-user-id header; over graphql-ws there is no request, and
  // onSubscribe below passes socketUserId instead.
  context: ({ request, socketUserId }: { request?: Request; socketUserId?: string | null }) =>
    createContext(socketUserId ?? request?.headers.get('x-user-id') ?? null, readModels, fanout),
});

const server = await startHttpServer({ port, host, ready: () => true, handler: yoga });

// graphql-ws on the same path as HTTP GraphQL, executed through Yoga's envelop so both
// transports share one schema, one context factory and one error masking.
const wsServer = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
const wsCleanup = useServer(
  {
    execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
    subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
    onSubscribe: async (ctx, _id, params) => {
      const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
        ...ctx,
        req: ctx.extra.request,
        socket: ctx.extra.socket,
        params,
      });
      const document = parse(params.query);
      const errors = validate(schema, document);
      if (errors.length > 0) return errors;
      return {
        schema,
        operationName: params.operationName,
        document,
        variableValues: params.variables,
        contextValue: await contextFactory({ socketUserId: socketUserId(ctx.connectionParams, params.extensions) }),
        rootValue: { execute, subscribe } satisfies EnvelopedRoot,
      };
    },
  },
  wsServer,
);

/**
 * Who a graphql-ws subscriber is: `userId` (or `x-user-id`) in the connection parameters, or
 * an `x-user-id` header that GraphiQL sends inside each operation's extensions.
 */
function socketUserId(connectionParams: Readonly<Record<string, unknown>> | undefined, extensions: unknown): string | null {
  const fromHeaders = (extensions as { headers?: Record<string, unknown> } | undefined)?.headers?.['x-user-id'];
  const candidate = connectionParams?.userId ?? connectionParams?.['x-user-id'] ?? fromHeaders;
  return typeof candidate === 'string' ? candidate : null;
}

type EnvelopedRoot = Pick<ReturnType<typeof yoga.getEnveloped>, 'execute' | 'subscribe'>;

log.info('listening', { url: `http://127.0.0.1:${port}${yoga.graphqlEndpoint}`, ws: `ws://127.0.0.1:${port}${yoga.graphqlEndpoint}` });

onShutdown(log, async () => {
  await wsCleanup.dispose();
  await closeServer(server);
  subscriber.disconnect();
  await pool.end();
});
