import SchemaBuilder, { type ObjectRef } from '@pothos/core';
import { ERROR_CODES, commandError, type CommandError } from '../domain/errors.ts';
import type { Caller, Logger } from '@chat/platform';
import type { PgMemberships } from '../adapters/pg-memberships.ts';
import type { AccountDeletion } from '../app/account-deletion.ts';
import type { Accounts } from '../app/accounts.ts';
import type { Attachments } from '../app/attachments.ts';
import type { Arrival, CommandHandler } from '../app/command-handler.ts';
import { isCaller } from '../app/identity.ts';
import type { Accepted, Outcome, Position } from '../app/outcome.ts';
import type { RoomCommand } from '../domain/room.ts';

// The Pothos builder and the types every mutation area shares: errors come back as a typed
// CommandError result, never as a GraphQL error with a stack trace.

export interface Context {
  /** Who is calling (authenticated from the request's headers), or why they could not be. */
  caller: Caller | CommandError;
  /** The client's address, as rate limits count it. */
  address: string;
  arrival: Arrival;
  handler: CommandHandler;
  /** Commands per user, counted where they arrive. */
  commandLimit: (userId: string) => Promise<CommandError | undefined>;
  accounts: Accounts;
  accountDeletion: AccountDeletion;
  attachments: Attachments;
  /** The rooms-per-user cap, checked where a command would make its caller (or a peer) a member of one more room. */
  memberships: PgMemberships;
  log: Logger;
}

export const builder = new SchemaBuilder<{ Context: Context }>({});
type Types = (typeof builder)['$inferSchemaTypes'];

export const ErrorCodeEnum = builder.enumType('ErrorCode', { values: ERROR_CODES });

export const CommandErrorRef = builder.objectRef<CommandError>('CommandError').implement({
  description: 'Why a command was refused. Nothing was appended.',
  fields: (t) => ({
    code: t.field({ type: ErrorCodeEnum, resolve: (e) => e.code }),
    message: t.exposeString('message'),
    currentRevision: t.int({
      nullable: true,
      description: "With CONFLICT: the room's revision the command was checked against.",
      resolve: (e) => e.currentRevision ?? null,
    }),
    retryAfterSeconds: t.int({
      nullable: true,
      description: 'With RATE_LIMITED: seconds to wait before trying again.',
      resolve: (e) => e.retryAfterSeconds ?? null,
    }),
  }),
});

const PositionRef = builder.objectRef<Position>('Position').implement({
  description: 'Where the event sits in the log: its Kafka partition and offset.',
  fields: (t) => ({
    partition: t.exposeInt('partition'),
    offset: t.exposeString('offset', { description: '64-bit offset as a decimal string' }),
  }),
});

export const ReceiptRef = builder.objectRef<Accepted>('Receipt').implement({
  description: 'Proof that a command was accepted: the event that records it and where it is.',
  fields: (t) => ({
    eventId: t.exposeID('eventId', { nullable: true, description: 'Null when the command changed nothing.' }),
    position: t.expose('position', { type: PositionRef, nullable: true }),
    revision: t.exposeInt('revision', { description: "The room's revision after the command (pass it as expectedRevision)." }),
    duplicate: t.exposeBoolean('duplicate', { description: 'This answers a retry of an already accepted command.' }),
    projected: t.exposeBoolean('projected', { description: 'The read models (history) already include the change.' }),
  }),
});

builder.queryType({
  fields: (t) => ({
    me: t.id({
      nullable: true,
      description: "The caller's user id as the command service sees it (profiles are on the query side).",
      resolve: (_root, _args, ctx) => (isCaller(ctx.caller) ? ctx.caller.userId : null),
    }),
  }),
});
builder.mutationType({});

/**
 * A `<Name>Result` union of a success type and CommandError, with the resolver glue that
 * turns a handler outcome into one of them.
 */
export function resultUnion<T extends object>(name: string, success: ObjectRef<Types, T>) {
  return builder.unionType(`${name}Result`, {
    types: [success, CommandErrorRef],
    resolveType: (value) => ('code' in value ? CommandErrorRef : success),
  });
}

type CommandWithoutCaller = RoomCommand extends infer C ? (C extends unknown ? Omit<C, 'actorId'> : never) : never;

/** Runs a command as the authenticated caller; a typed CommandError otherwise. */
/**
 * LIMIT_REACHED when a command would put `userIds` (the caller first) in one room more than
 * ROOMS_PER_USER; UNAVAILABLE when that cannot be checked.
 */
export async function roomsPerUserCheck(ctx: Context, roomId: string, userIds: readonly string[]): Promise<CommandError | undefined> {
  try {
    for (const [i, userId] of userIds.entries()) {
      const refused = await ctx.memberships.roomFor(userId, roomId, i === 0 ? 'you' : 'that user');
      if (refused) return refused;
    }
    return undefined;
  } catch (error) {
    ctx.log.warn('cannot count rooms of a user', { error });
    return commandError('UNAVAILABLE', 'cannot check room limits right now; retry shortly');
  }
}

export async function runCommand(ctx: Context, command: CommandWithoutCaller): Promise<Accepted | CommandError> {
  if (!isCaller(ctx.caller)) return ctx.caller;
  const limited = await ctx
    .commandLimit(ctx.caller.userId)
    .catch(() => commandError('UNAVAILABLE', 'cannot check rate limits right now; retry shortly'));
  if (limited) return limited;
  const outcome: Outcome = await ctx.handler.handle({ ...command, actorId: ctx.caller.userId } as RoomCommand, ctx.arrival);
  return outcome.ok ? outcome : outcome.error;
}

export const expectedRevisionArg = {
  description: 'Optimistic concurrency: the room revision you last saw; if the room has moved on, CONFLICT and nothing is appended.',
} as const;
