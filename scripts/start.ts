import { loadConfig, newInternalSecret, serviceInternalPort, servicePort } from '@chat/platform';
import {
  infraUp,
  recordSelf,
  redact,
  runningPid,
  startService,
  stopService,
  withSignOnDefaults,
  type RunningService,
  type ServiceName,
} from '@chat/infra';

// `./chat up`: the infrastructure, then the three services, then the addresses to use, the web
// client's first (the `chat` script built it; the query service serves it at the one origin).
// Ctrl-C stops the services; `./chat down`, from anywhere, stops them and the infrastructure.

const already = runningPid('up');
if (already !== undefined) {
  console.error(`chat: the platform is already up (pid ${already}); \`./chat down\` stops it`);
  process.exit(1);
}
recordSelf('up');
const started = Date.now();
const config = loadConfig();
const running: RunningService[] = [];
const stopAll = async () => {
  await Promise.all(running.map((service) => stopService(service)));
};

// The instances' shared secret (they sign their calls to each other with it): a fresh one per
// run unless given, never written anywhere.
// `./chat up` is for development: the playground and introspection are on (both are off unless
// enabled, as a deployment should leave them); the environment can still turn them off.
const env: NodeJS.ProcessEnv = {
  ...(process.env.INTERNAL_SECRET_FILE ? {} : { INTERNAL_SECRET: newInternalSecret() }),
  GRAPHQL_PLAYGROUND: 'on',
  GRAPHQL_INTROSPECTION: 'on',
  ...process.env,
};
try {
  await infraUp();
  running.push(await startService('projector', env));
  // The command service's public face is the one endpoint, which tells it each caller's address
  // and passes sign-on through (so the provider returns to the query service's origin).
  const commandEnv = withSignOnDefaults(env, servicePort('query-service'));
  running.push(...(await Promise.all([startService('command-service', commandEnv), startService('query-service', env)])));
} catch (error) {
  console.error(`chat: ${error instanceof Error ? error.message : String(error)}`);
  await stopAll();
  process.exit(1);
}

const port = (name: ServiceName) => servicePort(name);
console.log(`
chat platform is up (${((Date.now() - started) / 1000).toFixed(1)} s)

  open this in a browser (the web client)       http://127.0.0.1:${port('query-service')}/

  GraphQL, the one endpoint and its playground  http://127.0.0.1:${port('query-service')}/graphql
    (queries, mutations, subscriptions)         ws://127.0.0.1:${port('query-service')}/graphql (graphql-ws)
  projector health                              http://127.0.0.1:${port('projector')}/readyz
  metrics (internal listeners)                  ${(['command-service', 'query-service', 'projector'] as const).map((name) => `http://127.0.0.1:${serviceInternalPort(name)}/metrics`).join(' ')}

  Kafka ${config.kafkaBrokers.join(',')} · schema registry ${config.schemaRegistryUrl}
  Postgres ${redact(config.databaseUrl)} · Redis ${config.redisUrl}
  service logs: ${running.map((s) => s.log).join(', ')}

  Sign up (logIn takes the same arguments), then send "Authorization: Bearer <accessToken>":
  ${signUpCommand(port('query-service'))}

  Ctrl-C stops the services (or \`./chat down\` from another shell, which stops the infrastructure too).
`);

let stopping = false;
for (const service of running) {
  service.child.once('exit', (code, signal) => {
    if (stopping) return;
    console.error(`chat: ${service.name} stopped (${signal ?? `exit ${code}`}); see ${service.log}. Stopping the others.`);
    void shutdown(1);
  });
}

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  await stopAll();
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

/** A copy-and-paste sign-up with curl. */
function signUpCommand(endpointPort: number): string {
  const query =
    'mutation { signUp(username: "alice", password: "correct horse battery") { ... on Session { accessToken refreshToken } ... on CommandError { code message } } }';
  return `curl -s http://127.0.0.1:${endpointPort}/graphql -H 'content-type: application/json' -d '${JSON.stringify({ query })}'`;
}
