import { z } from 'zod';
import { parseMasterKeys } from './content-keys/master-keys.ts';
import { REDACTED, redactText } from './redact.ts';
import { trustProxyProblem } from './client-address.ts';

// Every environment variable a service reads, with what makes it valid. Checked once when a
// service boots, so a bad deployment stops at once with every bad variable named in one
// message, instead of failing later, one variable at a time, or silently using a typo as a
// value. Defaults stay with the code that reads each variable (loadConfig, intFromEnv, …);
// this says only what a value that is set must look like. Unset is always allowed, except
// where a variable needs another (NEEDED_WITH).

const integer = (min: number, max?: number) =>
  z
    .string()
    .refine(
      (raw) => /^-?\d+$/.test(raw) && Number(raw) >= min && Number(raw) <= (max ?? Number.MAX_SAFE_INTEGER),
      max === undefined ? `must be a whole number of at least ${min}` : `must be a whole number from ${min} to ${max}`,
    );
const positive = integer(1);
const nonNegative = integer(0);
const port = integer(1, 65_535);
const url = (...schemes: string[]) =>
  z.string().refine(
    (raw) => {
      try {
        return schemes.includes(new URL(raw).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    },
    `must be a URL (${schemes.join(', ')})`,
  );
const httpUrl = url('http', 'https');
/** `key=value` pairs, comma-separated (OTLP headers). */
const keyValues = z
  .string()
  .refine((raw) => raw.split(',').every((pair) => /^[^=\s]+=.*$/.test(pair.trim())), 'must be key=value pairs, comma-separated');
const oneOf = (...values: [string, ...string[]]) => z.enum(values, { error: `must be one of ${values.join(', ')}` });

export const ENV_SCHEMA = z
  .object({
    KAFKA_BROKERS: z
      .string()
      .refine((raw) => raw.split(',').every((broker) => /^[A-Za-z0-9.-]+:\d{1,5}$/.test(broker.trim())), 'must be host:port[,host:port…]'),
    SCHEMA_REGISTRY_URL: httpUrl,
    DATABASE_URL: url('postgres', 'postgresql'),
    REDIS_URL: url('redis', 'rediss'),
    // The object store (platform/src/config.ts).
    S3_ENDPOINT: httpUrl,
    S3_PUBLIC_ENDPOINT: httpUrl,
    S3_REGION: z.string().min(1),
    S3_BUCKET: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a bucket name (3-63 lower-case letters, digits, dots, hyphens)'),
    S3_ACCESS_KEY_ID: z.string().min(1),
    S3_SECRET_ACCESS_KEY: z.string().min(1),
    S3_SECRET_ACCESS_KEY_FILE: z.string().min(1),
    OBJECT_PREFIX: z.string(),
    // Never echoed back in a problem line (see environmentProblems).
    CONTENT_MASTER_KEYS: z
      .string()
      .refine(validMasterKeys, 'must be id:base64 entries of 32-byte keys, comma-separated, the first current'),
    CONTENT_MASTER_KEYS_FILE: z.string().min(1),
    COMMAND_PORT: port,
    QUERY_PORT: port,
    PROJECTOR_PORT: port,
    COMMAND_INTERNAL_PORT: port,
    QUERY_INTERNAL_PORT: port,
    PROJECTOR_INTERNAL_PORT: port,
    INTERNAL_HOST: z.string().min(1),
    // Never echoed back in a problem line (see environmentProblems).
    INTERNAL_SECRET: z.string().min(32, 'must be at least 32 characters'),
    INTERNAL_SECRET_FILE: z.string().min(1),
    HOST: z.string().min(1),
    TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/, 'may hold only letters, digits, ".", "_" and "-" (Kafka topic names)'),
    // Quoted wherever it is used, so any name Postgres takes: up to 63 characters, no quotes or controls.
    PG_SCHEMA: z.string().regex(/^[^\x00-\x1f"]{1,63}$/, 'must be a Postgres name: 1 to 63 characters, no quotes or control characters'),
    REDIS_PREFIX: z.string().regex(/^\S*$/, 'may not hold spaces'),
    LOG_LEVEL: oneOf('debug', 'info', 'warn', 'error'),
    COMMAND_ADVERTISED_URL: httpUrl,
    COMMAND_SERVICE_URL: httpUrl,
    JWKS_URL: httpUrl,
    TOKEN_ISSUER: z.string().min(1),
    TOKEN_AUDIENCE: z.string().min(1),
    ACCESS_TOKEN_TTL_SECONDS: positive,
    REFRESH_TOKEN_TTL_MS: positive,
    SIGNING_KEY_ROTATE_AFTER_MS: positive,
    SIGNING_KEY_PUBLISH_LEAD_MS: nonNegative,
    ACCOUNT_UPKEEP_INTERVAL_MS: positive,
    IDEMPOTENCY_WINDOW_MS: positive,
    VISIBILITY_TIMEOUT_MS: positive,
    APPEND_TIMEOUT_MS: positive,
    COMMAND_SESSION_TIMEOUT_MS: positive,
    PROJECTOR_SESSION_TIMEOUT_MS: positive,
    PROJECTOR_READY_MAX_BEHIND: nonNegative,
    REBUILD_METRICS_PORT: port,
    REBUILD_METRICS_LINGER_MS: nonNegative,
    MAX_PENDING_PER_PARTITION: positive,
    MAX_PENDING_PER_ROOM: positive,
    SNAPSHOT_INTERVAL_MS: positive,
    RETENTION_SWEEP_INTERVAL_MS: positive,
    SNAPSHOT_AFTER_RECORDS: positive,
    CLUSTER_CHECK_INTERVAL_MS: positive,
    TRANSACTION_INTERVAL_MS: nonNegative,
    LIVE_SWEEP_INTERVAL_MS: positive,
    WS_KEEPALIVE_MS: positive,
    // The public listener and graphql-ws (platform/src/http-hardening.ts, query-service/src/adapters/graphql-ws-server.ts).
    HTTP_HEADERS_TIMEOUT_MS: positive,
    HTTP_REQUEST_TIMEOUT_MS: positive,
    HTTP_KEEP_ALIVE_TIMEOUT_MS: positive,
    HTTP_MAX_CONNECTIONS: positive,
    HTTP_CONNECTIONS_PER_ADDRESS: positive,
    WS_AUTH_TIMEOUT_MS: positive,
    WS_SOCKETS_PER_ADDRESS: positive,
    WS_MAX_SOCKETS: positive,
    // What queries may cost (query-service/src/graphql/admission.ts).
    QUERY_LIMIT_PER_USER: positive,
    QUERY_LIMIT_PER_ADDRESS: positive,
    QUERY_BUDGET_STATEMENTS: positive,
    QUERY_BUDGET_ROWS: positive,
    CORS_ORIGINS: z.string().refine(
      (raw) =>
        raw
          .split(',')
          .map((origin) => origin.trim())
          .filter(Boolean)
          .every((origin) => httpUrl.safeParse(origin).success),
      'must be origins (http or https URLs), comma-separated',
    ),
    SIGN_UP_LIMIT_PER_ADDRESS: positive,
    SIGN_ON_START_LIMIT_PER_ADDRESS: positive,
    LOG_IN_LIMIT_PER_USERNAME: positive,
    LOG_IN_LIMIT_PER_ADDRESS: positive,
    LOG_IN_FREE_FAILURES: positive,
    LOG_IN_BACKOFF_MAX_SECONDS: positive,
    COMMAND_LIMIT_PER_USER: positive,
    SUBSCRIBE_LIMIT_PER_USER: positive,
    SUBSCRIPTIONS_PER_SOCKET: positive,
    SUBSCRIPTIONS_PER_USER: positive,
    ROOMS_PER_USER: positive,
    // Attachments (command-service/src/app/attachments.ts).
    ATTACHMENT_MAX_BYTES: positive,
    ATTACHMENTS_PER_MESSAGE: positive,
    UPLOADS_PER_USER_PER_DAY: positive,
    UPLOAD_BYTES_PER_USER_PER_DAY: positive,
    UPLOAD_URL_TTL_SECONDS: positive,
    UPLOAD_GRACE_MS: positive,
    UPLOAD_SWEEP_INTERVAL_MS: positive,
    ATTACHMENT_CHECKS_AT_ONCE: positive,
    TEST_PUBLISH_HOLD_MS: nonNegative,
    SHUTDOWN_TIMEOUT_MS: positive,
    GRAPHQL_INTROSPECTION: oneOf('on', 'off'),
    GRAPHQL_PLAYGROUND: oneOf('on', 'off'),
    // Which proxies' X-Forwarded-For hops to believe (platform/src/client-address.ts).
    TRUST_PROXY: z.string().superRefine((raw, ctx) => {
      const problem = trustProxyProblem(raw);
      if (problem)
        ctx.addIssue({ code: 'custom', message: `must be a hop count or addresses, CIDRs, loopback, linklocal, uniquelocal (${problem})` });
    }),
    WEB_DIST: z.string().min(1),
    OIDC_ISSUER: httpUrl,
    OIDC_CLIENT_ID: z.string().min(1),
    OIDC_CLIENT_SECRET: z.string(),
    OIDC_SCOPES: z.string().min(1),
    OIDC_REDIRECT_URI: httpUrl,
    // Traces (platform/src/tracing-sdk.ts): exported over OTLP/HTTP only when an endpoint is set.
    OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl,
    OTEL_EXPORTER_OTLP_PROTOCOL: oneOf('http/protobuf', 'http/json'),
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: oneOf('http/protobuf', 'http/json'),
    OTEL_EXPORTER_OTLP_HEADERS: keyValues,
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: keyValues,
    OTEL_SERVICE_NAME: z.string().min(1),
    OTEL_SDK_DISABLED: oneOf('true', 'false'),
    OTEL_BSP_SCHEDULE_DELAY: nonNegative,
    OTEL_BSP_MAX_QUEUE_SIZE: positive,
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: positive,
    OTEL_BSP_EXPORT_TIMEOUT: positive,
    OTEL_TRACES_SAMPLER: oneOf(
      'parentbased_always_on',
      'parentbased_always_off',
      'parentbased_traceidratio',
      'always_on',
      'always_off',
      'traceidratio',
    ),
    OTEL_TRACES_SAMPLER_ARG: z.string().refine((raw) => /^(0(\.\d+)?|1(\.0+)?)$/.test(raw), 'must be a ratio from 0 to 1'),
    OIDC_RETURN_ORIGINS: z.string().refine(
      (raw) =>
        raw
          .split(',')
          .filter(Boolean)
          .every((origin) => httpUrl.safeParse(origin).success),
      'must be URLs (http, https), comma-separated',
    ),
  })
  .partial();

function validMasterKeys(spec: string): boolean {
  try {
    parseMasterKeys(spec);
    return true;
  } catch {
    return false;
  }
}

/** Every variable checked, in the schema's order: the README's configuration table lists these (a test holds it to that). */
export const ENV_VARIABLES: readonly string[] = Object.keys(ENV_SCHEMA.shape);

/** Variables that must be set when another one is. */
const NEEDED_WITH: Record<string, string> = { OIDC_CLIENT_ID: 'OIDC_ISSUER' };

/** Every problem with the environment's values, one line each; empty when all is well. */
export function environmentProblems(env: NodeJS.ProcessEnv): string[] {
  // Only the variables named above, and only when set: an empty value means unset.
  const known = Object.fromEntries(Object.keys(ENV_SCHEMA.shape).flatMap((name) => (env[name] ? [[name, env[name]]] : [])));
  const result = ENV_SCHEMA.safeParse(known);
  const problems = (result.error?.issues ?? []).map((issue) => {
    const name = String(issue.path[0]);
    return `${name} ${issue.message} (${shownValue(name, String(known[name]))})`;
  });
  for (const [name, other] of Object.entries(NEEDED_WITH))
    if (known[other] && !known[name]) problems.push(`${name} is needed with ${other}`);
  return problems;
}

/**
 * How a problem line shows a bad value: never a secret's (INTERNAL_SECRET, OIDC_CLIENT_SECRET…),
 * URLs with their passwords and credential parameters redacted, and of text with an "@" that is
 * no URL (a connection string missing its "//", say) only what follows the last "@".
 */
function shownValue(name: string, value: string): string {
  if (/SECRET|PASSWORD|TOKEN|HEADERS|MASTER_KEYS/.test(name)) return 'value not shown';
  let shown = redactText(value);
  if (shown.includes('@') && !shown.includes(`${REDACTED}@`)) shown = `…${shown.slice(shown.lastIndexOf('@'))}`;
  return `got "${shown.slice(0, 80)}"`;
}
