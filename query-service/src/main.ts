import { useServer } from 'graphql-ws/use/ws';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { bootService, closeServer, createPgPool, createRedis, onShutdown, startHttpServer } from '@chat/platform';
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
  // The playground bundled into the page: it works offline, with no CDN.
  renderGraphiQL,
  graphiql: { title: 'Chat', subscriptionsProtocol: 'WS' },
  context: ({ request, connectionParams }: { request: Request; connectionParams?: Record<string, unknown> }) => {
    const fromSocket = typeof connectionParams?.userId === 'string' ? connectionParams.userId : null;
    return createContext(fromSocket ?? request.headers.get('x-user-id'), readModels, fanout);
  },
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
        contextValue: await contextFactory({ connectionParams: ctx.connectionParams }),
        rootValue: { execute, subscribe } satisfies EnvelopedRoot,
      };
    },
  },
  wsServer,
);

type EnvelopedRoot = Pick<ReturnType<typeof yoga.getEnveloped>, 'execute' | 'subscribe'>;

log.info('listening', { url: `http://127.0.0.1:${port}${yoga.graphqlEndpoint}`, ws: `ws://127.0.0.1:${port}${yoga.graphqlEndpoint}` });

onShutdown(log, async () => {
  await wsCleanup.dispose();
  await closeServer(server);
  subscriber.disconnect();
  await pool.end();
});
