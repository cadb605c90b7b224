import SchemaBuilder from '@pothos/core';
import DataLoader from 'dataloader';
import { createGraphQLError } from 'graphql-yoga';
import type { RoomFanout } from '../adapters/fanout.ts';
import type { ReadModels, RoomView } from '../adapters/read-models.ts';

export interface Context {
  /** Who is asking. Until sign-up and tokens land, the x-user-id header (or connection param) stands in. */
  userId: string | null;
  readModels: ReadModels;
  fanout: RoomFanout;
  rooms: DataLoader<string, RoomView | undefined>;
}

export function createContext(userId: string | null, readModels: ReadModels, fanout: RoomFanout): Context {
  return {
    userId: userId?.trim() || null,
    readModels,
    fanout,
    // Per request, so one query that names a room many times reads it once.
    rooms: new DataLoader((ids: readonly string[]) => readModels.roomsByIds(ids)),
  };
}

export const builder = new SchemaBuilder<{ Context: Context; DefaultFieldNullability: false }>({
  defaultFieldNullability: false,
});

builder.queryType({});
builder.subscriptionType({});

/** Errors reach clients as a message and an extensions.code, never as a stack trace. */
export function clientError(code: 'UNAUTHENTICATED' | 'NOT_A_MEMBER' | 'INVALID_INPUT', message: string) {
  return createGraphQLError(message, { extensions: { code } });
}

export function requireUser(ctx: Context): string {
  if (!ctx.userId) throw clientError('UNAUTHENTICATED', 'send the x-user-id header (or the userId connection parameter)');
  return ctx.userId;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** History is for members only. */
export async function requireMember(ctx: Context, roomId: string): Promise<string> {
  const userId = requireUser(ctx);
  if (!UUID.test(roomId)) throw clientError('INVALID_INPUT', 'roomId must be a UUID');
  if (!(await ctx.readModels.isMember(roomId, userId))) throw clientError('NOT_A_MEMBER', 'you are not a member of this room');
  return userId;
}
