import type { Redis } from 'ioredis';
import type { WebSocket } from 'ws';
import type { Caller, Logger } from '@chat/platform';

// Open graphql-ws sockets by the session that opened them, so that a session's end closes its
// sockets at once on every instance (the revocation channel), and a socket whose access token
// expires is closed with TOKEN_EXPIRED: the client reconnects with a fresh token and its cursors.

/** graphql-ws's Forbidden: the credentials are not (or no longer) good. */
export const FORBIDDEN_CLOSE = 4403;
/** Ours, in the private range: the token expired; reconnect with a fresh one. graphql-ws clients retry it. */
export const TOKEN_EXPIRED_CLOSE = 4419;

export class SocketSessions {
  private readonly bySession = new Map<string, Set<WebSocket>>();
  private readonly log: Logger;

  constructor(log: Logger) {
    this.log = log;
  }

  /** Listens for ended sessions on `channel` with a subscriber connection of its own. */
  async listen(subscriber: Redis, channel: string): Promise<void> {
    subscriber.on('message', (from: string, sessionId: string) => {
      if (from === channel) this.ended(sessionId);
    });
    await subscriber.subscribe(channel);
  }

  /** Tracks a socket authenticated as `caller` until it closes. */
  add(socket: WebSocket, caller: Caller): void {
    const sockets = this.bySession.get(caller.sessionId) ?? new Set();
    if (sockets.has(socket)) return; // tied to this session already (several operations, one token)
    sockets.add(socket);
    this.bySession.set(caller.sessionId, sockets);
    // setTimeout's limit is about 24.8 days; access tokens live minutes.
    const expiry = setTimeout(() => socket.close(TOKEN_EXPIRED_CLOSE, 'Token expired'), Math.max(0, caller.expiresAt - Date.now()));
    socket.once('close', () => {
      clearTimeout(expiry);
      sockets.delete(socket);
      if (sockets.size === 0) this.bySession.delete(caller.sessionId);
    });
  }

  private ended(sessionId: string): void {
    const sockets = this.bySession.get(sessionId);
    if (!sockets) return;
    this.log.info('closing the sockets of an ended session', { sessionId, sockets: sockets.size });
    for (const socket of sockets) socket.close(FORBIDDEN_CLOSE, 'Forbidden: session ended');
  }
}
