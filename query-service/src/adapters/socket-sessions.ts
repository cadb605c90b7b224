import type { Redis } from 'ioredis';
import type { WebSocket } from 'ws';
import type { Caller, Logger } from '@chat/platform';
import type { Presence } from './presence.ts';

// Open graphql-ws sockets by the session that opened them, so that a session's end closes its
// sockets at once on every instance (the revocation channel), and a socket whose access token
// expires is closed with TOKEN_EXPIRED: the client reconnects with a fresh token and its cursors.
// The same sockets make their users present (see Presence).

/** graphql-ws's Forbidden: the credentials are not (or no longer) good. */
export const FORBIDDEN_CLOSE = 4403;
/** Ours, in the private range: the token expired; reconnect with a fresh one. graphql-ws clients retry it. */
export const TOKEN_EXPIRED_CLOSE = 4419;

export class SocketSessions {
  private readonly bySession = new Map<string, Set<WebSocket>>();
  /** The users each open socket counts as present, once each. */
  private readonly usersOf = new WeakMap<WebSocket, Set<string>>();
  private readonly presence: Presence;
  private readonly log: Logger;

  constructor(presence: Presence, log: Logger) {
    this.presence = presence;
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
    const users = this.usersOf.get(socket) ?? new Set<string>();
    this.usersOf.set(socket, users);
    if (!users.has(caller.userId)) {
      users.add(caller.userId);
      this.presence.connected(caller.userId);
      socket.once('close', () => this.presence.disconnected(caller.userId));
    }
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
