// Loaded before a service's own modules, with `node --import <this file> <service>/src/main.ts`
// (infra starts every service so; see serviceNodeArgs). It must come first: the services are ES
// modules, and the libraries traced (pg, ioredis, node:http) are patched as they are loaded:
// CommonJS files they require by require-in-the-middle, and the modules imported from ES
// modules by import-in-the-middle's loader hooks, which this registers in-thread
// (module.registerHooks) and only for those modules, so nothing else is wrapped.
// Nothing else is imported statically: what this file imports loads before its hooks exist.
import { register } from 'import-in-the-middle/register-hooks.mjs';

register({ include: ['pg', 'pg-pool', 'ioredis', 'http', 'https'] });

const { SERVICES } = await import('./service.ts');
const { environmentProblems } = await import('./env-schema.ts');
const { startTracing } = await import('./tracing-sdk.ts');

const entry = process.argv[1] ?? '';
const service = Object.entries(SERVICES).find(([, { entry: path }]) => entry.endsWith(path))?.[0];
const name = process.env.OTEL_SERVICE_NAME || service;
// A bad configuration is the service's to report (bootService names every bad variable and exits).
// OTEL_SDK_DISABLED=true leaves the SDK out altogether (no trace ids in logs or headers either).
if (name && process.env.OTEL_SDK_DISABLED !== 'true' && environmentProblems(process.env).length === 0) await startTracing(name);
