import { randomUUID } from 'node:crypto';
import { isCaller } from '../app/identity.ts';
import type { Accepted } from '../app/outcome.ts';
import { commandError } from '../domain/errors.ts';
import { RETENTION_DAYS, ROLES, VISIBILITIES } from '../domain/room.ts';
import { createdRoomId, directRoomId } from '../domain/room-ids.ts';
import { ReceiptRef, builder, expectedRevisionArg, resultUnion, roomsPerUserCheck, runCommand, type Context } from './builder.ts';

// Rooms and membership: creating rooms and direct rooms, renaming, topics, joining, leaving,
// invitations, removals and roles. Who may do what is the room decider's to say.

const RoomAcceptedRef = builder.objectRef<Accepted>('RoomAccepted').implement({
  fields: (t) => ({
    roomId: t.exposeID('roomId'),
    receipt: t.field({ type: ReceiptRef, resolve: (accepted) => accepted }),
  }),
});

const RoomResult = resultUnion('Room', RoomAcceptedRef);
const VisibilityEnum = builder.enumType('Visibility', { values: VISIBILITIES });
const RoleEnum = builder.enumType('Role', { values: ROLES });

const commandIdArg = { description: 'Idempotency key: a retry with the same key answers the first outcome.' } as const;

/** Refuses a command naming a user who does not exist (before anything is decided). */
async function requireUser(ctx: Context, userId: string) {
  if (!/^[0-9a-f-]{36}$/i.test(userId) || !(await ctx.accounts.exists(userId))) return commandError('USER_NOT_FOUND', 'no such user');
  return undefined;
}

builder.mutationFields((t) => ({
  createRoom: t.field({
    type: RoomResult,
    description: 'Creates a group room; the caller becomes its first member and owner.',
    args: {
      name: t.arg.string({ required: true }),
      topic: t.arg.string(),
      visibility: t.arg({
        type: VisibilityEnum,
        defaultValue: 'PUBLIC',
        description: 'PRIVATE rooms are joined by invitation and hidden from others.',
      }),
      commandId: t.arg.id(commandIdArg),
    },
    resolve: async (_root, args, ctx) => {
      // Without a key of the client's, one of ours still makes the internal retries safe.
      const commandId = args.commandId?.toString() ?? randomUUID();
      if (!isCaller(ctx.caller)) return ctx.caller;
      const roomId = createdRoomId(ctx.caller.userId, commandId);
      const full = await roomsPerUserCheck(ctx, roomId, [ctx.caller.userId]);
      if (full) return full;
      return runCommand(ctx, {
        type: 'CreateRoom',
        roomId,
        name: args.name,
        topic: args.topic ?? null,
        visibility: args.visibility ?? 'PUBLIC',
        commandId,
      });
    },
  }),
  openDirect: t.field({
    type: RoomResult,
    description: 'The direct room of the caller and another user, created on first use; both are its only members.',
    args: { userId: t.arg.id({ required: true }), commandId: t.arg.id(commandIdArg) },
    resolve: async (_root, args, ctx) => {
      if (!isCaller(ctx.caller)) return ctx.caller;
      const peerId = args.userId.toString();
      const missing = await requireUser(ctx, peerId);
      if (missing) return missing;
      const roomId = directRoomId(ctx.caller.userId, peerId);
      const full = await roomsPerUserCheck(ctx, roomId, [ctx.caller.userId, peerId]);
      if (full) return full;
      return runCommand(ctx, {
        type: 'OpenDirect',
        roomId,
        peerId,
        commandId: args.commandId?.toString() ?? null,
      });
    },
  }),
  renameRoom: t.field({
    type: RoomResult,
    description: 'Owners and admins.',
    args: {
      roomId: t.arg.id({ required: true }),
      name: t.arg.string({ required: true }),
      commandId: t.arg.id(commandIdArg),
      expectedRevision: t.arg.int(expectedRevisionArg),
    },
    resolve: (_root, args, ctx) =>
      runCommand(ctx, {
        type: 'RenameRoom',
        roomId: args.roomId.toString(),
        name: args.name,
        commandId: args.commandId?.toString() ?? null,
        expectedRevision: args.expectedRevision,
      }),
  }),
  setRoomTopic: t.field({
    type: RoomResult,
    description: 'Owners and admins; null clears the topic.',
    args: {
      roomId: t.arg.id({ required: true }),
      topic: t.arg.string(),
      commandId: t.arg.id(commandIdArg),
      expectedRevision: t.arg.int(expectedRevisionArg),
    },
    resolve: (_root, args, ctx) =>
      runCommand(ctx, {
        type: 'SetRoomTopic',
        roomId: args.roomId.toString(),
        topic: args.topic ?? null,
        commandId: args.commandId?.toString() ?? null,
        expectedRevision: args.expectedRevision,
      }),
  }),
  setRoomRetention: t.field({
    type: RoomResult,
    description: `Owners only: how many days of history the room keeps (${RETENTION_DAYS.min} to ${RETENTION_DAYS.max}), or null to keep everything. Messages sent before the start of the UTC day that many days ago expire: their content keys are erased (unreadable everywhere, the event log included) and they become tombstones, within RETENTION_SWEEP_INTERVAL_MS (10 minutes by default) of the day passing.`,
    args: {
      roomId: t.arg.id({ required: true }),
      days: t.arg.int(),
      commandId: t.arg.id(commandIdArg),
      expectedRevision: t.arg.int(expectedRevisionArg),
    },
    resolve: (_root, args, ctx) =>
      runCommand(ctx, {
        type: 'SetRoomRetention',
        roomId: args.roomId.toString(),
        days: args.days ?? null,
        commandId: args.commandId?.toString() ?? null,
        expectedRevision: args.expectedRevision,
      }),
  }),
  joinRoom: t.field({
    type: RoomResult,
    description: 'Joins a public room, or a private one you were invited to. Joining a room you are in changes nothing and succeeds.',
    args: { roomId: t.arg.id({ required: true }), commandId: t.arg.id(commandIdArg), expectedRevision: t.arg.int(expectedRevisionArg) },
    resolve: async (_root, args, ctx) => {
      if (!isCaller(ctx.caller)) return ctx.caller;
      const full = await roomsPerUserCheck(ctx, args.roomId.toString(), [ctx.caller.userId]);
      if (full) return full;
      return runCommand(ctx, {
        type: 'JoinRoom',
        roomId: args.roomId.toString(),
        commandId: args.commandId?.toString() ?? null,
        expectedRevision: args.expectedRevision,
      });
    },
  }),
  leaveRoom: t.field({
    type: RoomResult,
    description: 'The last owner of a room with other members must make someone else an owner first (LAST_OWNER).',
    args: { roomId: t.arg.id({ required: true }), commandId: t.arg.id(commandIdArg), expectedRevision: t.arg.int(expectedRevisionArg) },
    resolve: (_root, args, ctx) =>
      runCommand(ctx, {
        type: 'LeaveRoom',
        roomId: args.roomId.toString(),
        commandId: args.commandId?.toString() ?? null,
        expectedRevision: args.expectedRevision,
      }),
  }),
  inviteMember: t.field({
    type: RoomResult,
    description: 'Owners and admins. The invited user may then join, even a private room.',
    args: {
      roomId: t.arg.id({ required: true }),
      userId: t.arg.id({ required: true }),
      commandId: t.arg.id(commandIdArg),
      expectedRevision: t.arg.int(expectedRevisionArg),
    },
    resolve: async (_root, args, ctx) => {
      const missing = await requireUser(ctx, args.userId.toString());
      if (missing) return missing;
      return runCommand(ctx, {
        type: 'InviteMember',
        roomId: args.roomId.toString(),
        userId: args.userId.toString(),
        commandId: args.commandId?.toString() ?? null,
        expectedRevision: args.expectedRevision,
      });
    },
  }),
  removeMember: t.field({
    type: RoomResult,
    description: 'Owners remove anyone else; admins remove members.',
    args: {
      roomId: t.arg.id({ required: true }),
      userId: t.arg.id({ required: true }),
      commandId: t.arg.id(commandIdArg),
      expectedRevision: t.arg.int(expectedRevisionArg),
    },
    resolve: (_root, args, ctx) =>
      runCommand(ctx, {
        type: 'RemoveMember',
        roomId: args.roomId.toString(),
        userId: args.userId.toString(),
        commandId: args.commandId?.toString() ?? null,
        expectedRevision: args.expectedRevision,
      }),
  }),
  setMemberRole: t.field({
    type: RoomResult,
    description: 'Owners only. A room keeps at least one owner (LAST_OWNER).',
    args: {
      roomId: t.arg.id({ required: true }),
      userId: t.arg.id({ required: true }),
      role: t.arg({ type: RoleEnum, required: true }),
      commandId: t.arg.id(commandIdArg),
      expectedRevision: t.arg.int(expectedRevisionArg),
    },
    resolve: (_root, args, ctx) =>
      runCommand(ctx, {
        type: 'SetMemberRole',
        roomId: args.roomId.toString(),
        userId: args.userId.toString(),
        role: args.role,
        commandId: args.commandId?.toString() ?? null,
        expectedRevision: args.expectedRevision,
      }),
  }),
}));
