import { hostname } from 'node:os';
import { intFromEnv, loadConfig, type PlatformConfig } from './config.ts';
import { InstanceAuth, MIN_SECRET_LENGTH, internalSecret } from './instance-auth.ts';
import { environmentProblems } from './env-schema.ts';
import { createLogger, type Logger } from './log.ts';
import { tracing } from './tracing.ts';

// The three services, their HTTP ports and the variables that move them. `infra` starts
// them from this table; each main.ts boots from it. Each has two listeners: its own port and
// an internal one (metrics, instance-to-instance routes) that is never published.

export const SERVICES = {
  projector: {
    entry: 'projector/src/main.ts',
    portVar: 'PROJECTOR_PORT',
    defaultPort: 4003,
    internalPortVar: 'PROJECTOR_INTERNAL_PORT',
    defaultInternalPort: 4103,
  },
  'command-service': {
    entry: 'command-service/src/main.ts',
    portVar: 'COMMAND_PORT',
    defaultPort: 4001,
    internalPortVar: 'COMMAND_INTERNAL_PORT',
    defaultInternalPort: 4101,
  },
  'query-service': {
    entry: 'query-service/src/main.ts',
    portVar: 'QUERY_PORT',
    defaultPort: 4002,
    internalPortVar: 'QUERY_INTERNAL_PORT',
    defaultInternalPort: 4102,
  },
} as const;

export type ServiceName = keyof typeof SERVICES;

/**
 * Node's arguments before a service's entry (relative to the repository): the tracing
 * preload, which must load before the service's modules (platform/src/instrument.ts).
 */
export const SERVICE_NODE_ARGS = ['--import', './platform/src/instrument.ts'] as const;

export interface ServiceBoot {
  config: PlatformConfig;
  log: Logger;
  port: number;
  /** Interface to listen on: loopback unless HOST says otherwise (containers use 0.0.0.0). */
  host: string;
  /** The internal listener's port and interface (INTERNAL_HOST, else HOST). */
  internalPort: number;
  internalHost: string;
}

/** The internal listener's port of a service under `env`. */
export function serviceInternalPort(name: ServiceName, env: NodeJS.ProcessEnv = process.env): number {
  const { internalPortVar, defaultInternalPort } = SERVICES[name];
  return intFromEnv(env, internalPortVar, defaultInternalPort);
}

/** The HTTP port a service listens on under `env`. */
export function servicePort(name: ServiceName, env: NodeJS.ProcessEnv = process.env): number {
  const { portVar, defaultPort } = SERVICES[name];
  return intFromEnv(env, portVar, defaultPort);
}

export function bootService(name: ServiceName, env: NodeJS.ProcessEnv = process.env): ServiceBoot {
  const log = createLogger(name);
  // A bad configuration stops the service before it touches anything, naming every bad variable.
  const problems = environmentProblems(env);
  if (problems.length > 0) {
    log.error(`invalid configuration: ${problems.join('; ')}`, { problems });
    process.exit(2);
  }
  const exportWanted = env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (!tracing.started && exportWanted && env.OTEL_SDK_DISABLED !== 'true') {
    log.warn(`an OTLP endpoint is set but tracing is off: start the service with node ${SERVICE_NODE_ARGS.join(' ')}`);
  }
  const host = env.HOST ?? '127.0.0.1';
  return {
    config: loadConfig(env),
    log,
    port: servicePort(name, env),
    host,
    internalPort: serviceInternalPort(name, env),
    internalHost: env.INTERNAL_HOST ?? host,
  };
}

/**
 * This instance's signer and verifier of instance-to-instance calls, from the shared secret
 * (INTERNAL_SECRET or INTERNAL_SECRET_FILE); without one the service cannot talk to its peers,
 * so it stops at once, saying so in one line (exit 2, as for any bad configuration).
 */
export function bootInstanceAuth(name: ServiceName, log: Logger, env: NodeJS.ProcessEnv = process.env): InstanceAuth {
  let secret: string | undefined;
  try {
    secret = internalSecret(env);
  } catch (error) {
    log.error(`invalid configuration: INTERNAL_SECRET_FILE cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    process.exit(2);
  }
  if (secret === undefined || secret.length < MIN_SECRET_LENGTH) {
    log.error(
      `invalid configuration: INTERNAL_SECRET (or INTERNAL_SECRET_FILE) must hold a secret of at least ${MIN_SECRET_LENGTH} characters shared by every instance`,
    );
    process.exit(2);
  }
  return new InstanceAuth(secret, `${name}@${hostname()}:${process.pid}`);
}
