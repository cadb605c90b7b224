import SchemaBuilder from '@pothos/core';
import DataLoader from 'dataloader';
import { createGraphQLError } from 'graphql-yoga';
import { readRoomCursor, type Caller, type CursorKind } from '@chat/platform';
import type { CommandCredentials } from './commands.ts';
import type { RoomFanout } from '../adapters/fanout.ts';
import type { Presence, PresenceView } from '../adapters/presence.ts';
import type { TypingStore } from '../adapters/typing.ts';
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
}

export interface Context extends Services {
  /** Who is asking: the user and session of a verified access token, or why there is none. */
  caller: Caller | NoCaller;
  /** What a mutation proxied to the command service carries for the caller (commands.ts). */
  commandCredentials: CommandCredentials;
  rooms: DataLoader<string, RoomView | undefined>;
  users: DataLoader<string, UserView | undefined>;
  messages: DataLoader<string, MessageView | undefined>;
  reactions: DataLoader<string, ReactionView[]>;
  /** Keyed by "roomId userId". */
  unread: DataLoader<string, { messages: number; mentions: number }>;
  lastMessages: DataLoader<string, MessageView | undefined>;
  presenceOf: DataLoader<string, PresenceView>;
  /** The caller's role and invitation per room, read at most once per request. */
  standing: Map<string, Promise<{ role: MemberView['role'] | null; invited: boolean }>>;
}

export function createContext(caller: Caller | NoCaller, commandCredentials: CommandCredentials, services: Services): Context {
  const { readModels } = services;
  return {
    ...services,
    caller,
    commandCredentials,
    // Per request, so one query that names a room or user many times reads it once.
    rooms: new DataLoader((ids: readonly string[]) => readModels.roomsByIds(ids)),
    users: new DataLoader((ids: readonly string[]) => readModels.usersByIds(ids)),
    messages: new DataLoader((ids: readonly string[]) => readModels.messagesByIds(ids)),
    reactions: new DataLoader((ids: readonly string[]) => readModels.reactionsOf(ids)),
    unread: new DataLoader((keys: readonly string[]) => readModels.unreadOf(keys)),
    lastMessages: new DataLoader((ids: readonly string[]) => readModels.lastMessages(ids)),
    presenceOf: new DataLoader((ids: readonly string[]) => services.presence.of(ids)),
    standing: new Map(),
  };
}

/**
 * Forgets what the loaders remembered: a subscription keeps one context for its whole life,
 * and what a loader remembered for the last event (an unread count, a room's last message) is
 * stale by the next one. Called before each execution of an event (see shared-execution.ts).
 */
export function clearLoaders(ctx: Context): void {
  for (const loader of [ctx.rooms, ctx.users, ctx.messages, ctx.reactions, ctx.unread, ctx.lastMessages, ctx.presenceOf]) loader.clearAll();
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
