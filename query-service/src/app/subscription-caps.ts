import { GraphQLError } from 'graphql';

// How many operations one socket, and one user on this instance, may hold open at once: each
// is a Redis fan-out listener and a replay that can read Postgres, so an unbounded number is a
// way to exhaust the instance. Counted from subscribe to complete (graphql-ws completes every
// operation, even after an abrupt close).

export interface CapSettings {
  perSocket: number;
  perUser: number;
}

export class SubscriptionCaps {
  private readonly settings: CapSettings;
  private readonly sockets = new WeakMap<object, Map<string, string | undefined>>();
  private readonly users = new Map<string, number>();

  constructor(settings: CapSettings) {
    this.settings = settings;
  }

  /** Takes a slot for operation `id` of `socket` (and of `userId`, when known), or says why not. */
  admit(socket: object, id: string, userId: string | undefined): GraphQLError | undefined {
    const open = this.sockets.get(socket) ?? new Map<string, string | undefined>();
    if (open.size >= this.settings.perSocket) {
      return refusal(`at most ${this.settings.perSocket} operations at once on one connection`);
    }
    if (userId !== undefined && (this.users.get(userId) ?? 0) >= this.settings.perUser) {
      return refusal(`at most ${this.settings.perUser} operations at once per user`);
    }
    open.set(id, userId);
    this.sockets.set(socket, open);
    if (userId !== undefined) this.users.set(userId, (this.users.get(userId) ?? 0) + 1);
    return undefined;
  }

  release(socket: object, id: string): void {
    const open = this.sockets.get(socket);
    if (!open?.has(id)) return;
    const userId = open.get(id);
    open.delete(id);
    if (userId === undefined) return;
    const left = (this.users.get(userId) ?? 1) - 1;
    if (left > 0) this.users.set(userId, left);
    else this.users.delete(userId);
  }

  /** Everything `socket` still held (a safety net: completion should have released it). */
  releaseSocket(socket: object): void {
    for (const id of [...(this.sockets.get(socket)?.keys() ?? [])]) this.release(socket, id);
    this.sockets.delete(socket);
  }

  /** Operations open for `userId` on this instance. */
  openFor(userId: string): number {
    return this.users.get(userId) ?? 0;
  }
}

function refusal(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } });
}
