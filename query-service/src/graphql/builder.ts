import SchemaBuilder from '@pothos/core';
import DataLoader from 'dataloader';
import { createGraphQLError } from 'graphql-yoga';
import { readRoomCursor, type Caller, type CursorKind } from '@chat/platform';
import type { CommandCredentials } from './commands.ts';
import { ATTACH_LANE, acceptsLane } from '../app/live-queue.ts';
import type { RoomFanout } from '../adapters/fanout.ts';
import type { Presence, PresenceView } from '../adapters/presence.ts';
import type { TypingStore } from '../adapters/typing.ts';
import type { DataExports } from '../app/data-export.ts';
import type { MessageView } from '@chat/schemas';
import type { MemberView, ReactionView, ReadModels, RoomView, UserView } from '../adapters/read-models.ts';

/** Why a request has no caller: no or a bad token (UNAUTHENTICATED), or sessions cannot be checked (UNAVAILABLE). */
export interface NoCaller {
  code: 'UNAUTHENTICATED' | 'UNAVAILABLE';
  message: string;
}

/** What every request shares: the read models, live fan-out, and the ephemeral state in Redis. */
export interface Services {
  readModels: ReadModels;
  fanout: RoomFanout;
  typing: { store: TypingStore; allow(userId: string): Promise<boolean> };
  presence: Presence;
  exports: DataExports;
}

export interface Context extends Services {
  /** Who is asking: the user and session of a verified access token, or why there is none. */
  caller: Caller | NoCaller;
  /** What a mutation proxied to the command service carries for the caller (commands.ts). */
  commandCredentials: CommandCredentials;
  /** Per request (per event, for a subscription), so one query that names a room or user many times reads it once. */
  loaders: Loaders;
  /** The caller's role and invitation per room, read at most once per request. */
  standing: Map<string, Promise<{ role: MemberView['role'] | null; invited: boolean }>>;
}

export function createContext(caller: Caller | NoCaller, commandCredentials: CommandCredentials, services: Services): Context {
  return { ...services, caller, commandCredentials, loaders: new Loaders(services), standing: new Map() };
}

/**
 * The request's DataLoaders, each made on first use: a subscription holds its context for
 * its whole life, and most never use most of them, so ten thousand idle subscriptions would
 * otherwise hold seventy thousand empty loaders.
 */
export class Loaders {
  private readonly services: Services;
  private made: DataLoader<string, unknown>[] = [];
  #rooms?: DataLoader<string, RoomView | undefined>;
  #users?: DataLoader<string, UserView | undefined>;
  #messages?: DataLoader<string, MessageView | undefined>;
  #reactions?: DataLoader<string, ReactionView[]>;
  #unread?: DataLoader<string, { messages: number; mentions: number }>;
  #lastMessages?: DataLoader<string, MessageView | undefined>;
  #presenceOf?: DataLoader<string, PresenceView>;

  constructor(services: Services) {
    this.services = services;
  }

  get rooms() {
    return (this.#rooms ??= this.make((ids) => this.services.readModels.roomsByIds(ids)));
  }
  get users() {
    return (this.#users ??= this.make((ids) => this.services.readModels.usersByIds(ids)));
  }
  get messages() {
    return (this.#messages ??= this.make((ids) => this.services.readModels.messagesByIds(ids)));
  }
  /** Keyed by `reactionsKey(roomId, messageId)`: a message's reactions are its room's. */
  get reactions() {
    return (this.#reactions ??= this.make((keys) => this.services.readModels.reactionsOf(keys)));
  }
  /** Keyed by "roomId userId". */
  get unread() {
    return (this.#unread ??= this.make((keys) => this.services.readModels.unreadOf(keys)));
  }
  get lastMessages() {
    return (this.#lastMessages ??= this.make((ids) => this.services.readModels.lastMessages(ids)));
  }
  get presenceOf() {
    return (this.#presenceOf ??= this.make((ids) => this.services.presence.of(ids)));
  }

  /** Forgets what every loader remembered. */
  clearAll(): void {
    for (const loader of this.made) loader.clearAll();
  }

  private make<V>(batch: (keys: readonly string[]) => Promise<V[]>): DataLoader<string, V> {
    const loader = new DataLoader(batch);
    this.made.push(loader as DataLoader<string, unknown>);
    return loader;
  }
}

/**
 * Forgets what the loaders remembered: a subscription keeps one context for its whole life,
 * and what a loader remembered for the last event (an unread count, a room's last message) is
 * stale by the next one. Called before each execution of an event (see shared-execution.ts).
 */
export function clearLoaders(ctx: Context): void {
  ctx.loaders.clearAll();
  ctx.standing.clear();
}

/**
 * A stream seen through `each` (before every event) and `error` (mapping a failure), with
 * return() passed straight through: a client's unsubscribe then ends the stream and its replay
 * at once, where an async generator would not notice until its next event arrived.
 */
export function passThrough<T>(
  events: AsyncIterable<T>,
  { each, error: mapError }: { each?: () => void; error?: (error: unknown) => unknown },
): AsyncIterableIterator<T> {
  const inner = events[Symbol.asyncIterator]();
  return {
    // Values pass unchanged, so a live value may skip this wrapper too (app/live-queue.ts),
    // unless `each` must see every one.
    ...(!each && acceptsLane<T>(events) ? { [ATTACH_LANE]: events[ATTACH_LANE].bind(events) } : {}),
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      try {
        const result = await inner.next();
        if (!result.done) each?.();
        return result;
      } catch (error) {
        throw mapError ? mapError(error) : error;
      }
    },
    async return(value?: unknown) {
      return (await inner.return?.(value)) ?? { done: true, value: undefined };
    },
  };
}

export const builder = new SchemaBuilder<{ Context: Context; DefaultFieldNullability: false }>({
  defaultFieldNullability: false,
});

builder.queryType({});
// Mutations of live, ephemeral state only (typing, presence); everything durable is the command service's.
builder.mutationType({});
builder.subscriptionType({});

/** Errors reach clients as a message and an extensions.code, never as a stack trace. */
export function clientError(code: 'UNAUTHENTICATED' | 'UNAVAILABLE' | 'NOT_A_MEMBER' | 'INVALID_INPUT' | 'RATE_LIMITED', message: string) {
  return createGraphQLError(message, { extensions: { code } });
}

export function requireUser(ctx: Context): string {
  if ('code' in ctx.caller) throw clientError(ctx.caller.code, ctx.caller.message);
  return ctx.caller.userId;
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** History is for members only. */
export async function requireMember(ctx: Context, roomId: string): Promise<string> {
  const userId = requireUser(ctx);
  if (!UUID.test(roomId)) throw clientError('INVALID_INPUT', 'roomId must be a UUID');
  if (!(await ctx.readModels.isMember(roomId, userId))) throw clientError('NOT_A_MEMBER', 'you are not a member of this room');
  return userId;
}

/** The position a cursor argument names in `roomId`; null when absent. Any other cursor is INVALID_INPUT. */
export function cursorIn(kind: CursorKind, roomId: string, name: string, cursor: string | null | undefined): number | null {
  if (cursor === null || cursor === undefined || cursor === '') return null;
  const position = readRoomCursor(kind, roomId, cursor);
  if (typeof position !== 'number') throw clientError('INVALID_INPUT', `${name} ${position.refused}`);
  return position;
}
