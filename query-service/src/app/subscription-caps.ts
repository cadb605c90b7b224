import { liveSubscriptions } from '@chat/platform';
import { GraphQLError } from 'graphql';

// How many operations one socket, and one user across every instance, may hold open at once:
// each is a Redis fan-out listener and a replay that can read Postgres, so an unbounded number
// is a way to exhaust the service. Counted from subscribe to complete (graphql-ws completes
// every operation, even after an abrupt close).

export interface CapSettings {
  perSocket: number;
  perUser: number;
}

/** A user's open operations, counted wherever they are open (RedisUserSlots). */
export interface UserSlots {
  /** A slot for one more of `userId`'s operations, or undefined when `limit` are open. */
  take(userId: string, limit: number): Promise<string | undefined>;
  give(userId: string, slot: string): void;
}

interface Held {
  userId: string | undefined;
  /** The user slot, once taken (undefined for an anonymous operation or a refused one). */
  slot: Promise<string | undefined>;
}

export class SubscriptionCaps {
  private readonly settings: CapSettings;
  private readonly slots: UserSlots;
  private readonly sockets = new WeakMap<object, Map<string, Held>>();

  constructor(settings: CapSettings, slots: UserSlots) {
    this.settings = settings;
    this.slots = slots;
  }

  /** Takes a slot for operation `id` of `socket` (and of `userId`, when known), or says why not. */
  async admit(socket: object, id: string, userId: string | undefined): Promise<GraphQLError | undefined> {
    const open = this.sockets.get(socket) ?? new Map<string, Held>();
    this.sockets.set(socket, open);
    if (open.size >= this.settings.perSocket) {
      return refusal(`at most ${this.settings.perSocket} operations at once on one connection`);
    }
    // Held before the user's count answers, so operations started side by side on one socket
    // cannot all pass the socket's count.
    const slot = userId === undefined ? Promise.resolve(undefined) : this.slots.take(userId, this.settings.perUser);
    open.set(id, { userId, slot });
    if (userId !== undefined && (await slot) === undefined) {
      open.delete(id);
      return refusal(`at most ${this.settings.perUser} operations at once per user`);
    }
    liveSubscriptions.inc();
    return undefined;
  }

  release(socket: object, id: string): void {
    const open = this.sockets.get(socket);
    const held = open?.get(id);
    if (!held) return;
    open!.delete(id);
    liveSubscriptions.dec();
    void held.slot.then((slot) => {
      if (slot !== undefined && held.userId !== undefined) this.slots.give(held.userId, slot);
    });
  }

  /** Everything `socket` still held (a safety net: completion should have released it). */
  releaseSocket(socket: object): void {
    for (const id of [...(this.sockets.get(socket)?.keys() ?? [])]) this.release(socket, id);
    this.sockets.delete(socket);
  }
}

function refusal(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } });
}
