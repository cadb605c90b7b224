import type { Server } from 'node:http';
import { addressKey, trustedProxies } from './client-address.ts';
import { intFromEnv } from './config.ts';
import { OpenCounts } from './open-counts.ts';

// Deadlines and a connection cap for a public listener, so a client cannot hold the process's
// connections open by sending slowly: Node's defaults give a request's headers 60 s and the
// whole request 300 s, and accept connections without limit. Each figure has an environment
// variable; the defaults are far above what a browser or the test clients need on a live
// connection (a request of at most 1 MiB, the GraphQL body limit). WebSockets are not cut by
// these: after the upgrade their liveness is the keep-alive pings' business.

export interface HttpHardening {
  /** The request's headers must all arrive within this (HTTP_HEADERS_TIMEOUT_MS). */
  headersTimeoutMs: number;
  /** The whole request, headers and body, must arrive within this (HTTP_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** An idle kept-alive connection is closed after this (HTTP_KEEP_ALIVE_TIMEOUT_MS). */
  keepAliveTimeoutMs: number;
  /** Open connections at most, WebSockets included; more are closed as they come (HTTP_MAX_CONNECTIONS). */
  maxConnections: number;
  /**
   * Open connections per client address on a public listener (HTTP_CONNECTIONS_PER_ADDRESS),
   * counted by address key; connections from a trusted proxy (TRUST_PROXY) are not counted
   * here, since they carry many clients (their sockets are capped per client address instead).
   */
  connectionsPerAddress: number;
}

export const HTTP_HARDENING_DEFAULTS: HttpHardening = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 20_000,
  connectionsPerAddress: 256,
};

export function httpHardening(env: NodeJS.ProcessEnv = process.env): HttpHardening {
  const headersTimeoutMs = intFromEnv(env, 'HTTP_HEADERS_TIMEOUT_MS', HTTP_HARDENING_DEFAULTS.headersTimeoutMs);
  return {
    headersTimeoutMs,
    // Node requires the headers' deadline to fall within the request's.
    requestTimeoutMs: Math.max(headersTimeoutMs, intFromEnv(env, 'HTTP_REQUEST_TIMEOUT_MS', HTTP_HARDENING_DEFAULTS.requestTimeoutMs)),
    keepAliveTimeoutMs: intFromEnv(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', HTTP_HARDENING_DEFAULTS.keepAliveTimeoutMs),
    maxConnections: intFromEnv(env, 'HTTP_MAX_CONNECTIONS', HTTP_HARDENING_DEFAULTS.maxConnections),
    connectionsPerAddress: intFromEnv(env, 'HTTP_CONNECTIONS_PER_ADDRESS', HTTP_HARDENING_DEFAULTS.connectionsPerAddress),
  };
}

/**
 * Applies `settings` to a server that has not started listening yet; with `perAddress` (a
 * public listener), also the cap of connections per client address.
 */
export function hardenHttpServer(server: Server, settings: HttpHardening = httpHardening(), perAddress = false): Server {
  if (perAddress) capConnectionsPerAddress(server, settings.connectionsPerAddress);
  server.headersTimeout = settings.headersTimeoutMs;
  server.requestTimeout = settings.requestTimeoutMs;
  server.keepAliveTimeout = settings.keepAliveTimeoutMs;
  server.maxConnections = settings.maxConnections;
  // Node checks the two deadlines every 30 s by default, so a 10 s deadline could hold 40 s;
  // read when the server starts listening, hence before listen().
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.min(1000, settings.headersTimeoutMs);
  return server;
}

/** Closes a connection at once when its peer already holds `cap` (a trusted proxy's are not counted). */
function capConnectionsPerAddress(server: Server, cap: number, trust = trustedProxies(process.env.TRUST_PROXY)): void {
  const open = new OpenCounts();
  server.on('connection', (socket) => {
    const peer = socket.remoteAddress;
    if (!peer || trust(peer, 0)) return;
    const key = addressKey(peer);
    if (!open.take(key, cap)) return void socket.destroy();
    socket.once('close', () => open.release(key));
  });
}
