import { intFromEnv, loadConfig, type PlatformConfig } from './config.ts';
import { environmentProblems } from './env-schema.ts';
import { createLogger, type Logger } from './log.ts';
import { tracing } from './tracing.ts';

// The three services, their HTTP ports and the variables that move them. `infra` starts
// them from this table; each main.ts boots from it.

export const SERVICES = {
  projector: { entry: 'projector/src/main.ts', portVar: 'PROJECTOR_PORT', defaultPort: 4003 },
  'command-service': { entry: 'command-service/src/main.ts', portVar: 'COMMAND_PORT', defaultPort: 4001 },
  'query-service': { entry: 'query-service/src/main.ts', portVar: 'QUERY_PORT', defaultPort: 4002 },
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
  return { config: loadConfig(env), log, port: servicePort(name, env), host: env.HOST ?? '127.0.0.1' };
}
