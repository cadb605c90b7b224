import { randomUUID } from 'node:crypto';
import { v5 as uuidV5 } from 'uuid';
import type { Accepted } from '../app/outcome.ts';
import { isCaller } from '../app/identity.ts';
import { ReceiptRef, builder, expectedRevisionArg, resultUnion, runCommand } from './builder.ts';

const RoomAcceptedRef = builder.objectRef<Accepted>('RoomAccepted').implement({
  fields: (t) => ({
    roomId: t.exposeID('roomId'),
    receipt: t.field({ type: ReceiptRef, resolve: (accepted) => accepted }),
  }),
});

const CreateRoomResult = resultUnion('CreateRoom', RoomAcceptedRef);
const JoinRoomResult = resultUnion('JoinRoom', RoomAcceptedRef);

// Namespace of name-based room ids (RFC 9562 v5): caller + idempotency key → room id, so a
// retried createRoom names the same room on any instance and can never create a second one.
const ROOM_ID_NAMESPACE = '3c1b2a5e-8f0d-4c1e-9b7a-6d2f4e8a1c30';

builder.mutationFields((t) => ({
  createRoom: t.field({
    type: CreateRoomResult,
    description: 'Creates a room; the caller becomes its first member.',
    args: {
      name: t.arg.string({ required: true }),
      commandId: t.arg.id({ description: 'Idempotency key: a retry with the same key returns the same room.' }),
    },
    resolve: (_root, args, ctx) => {
      // Without a key of the client's, one of ours still makes the internal retries safe.
      const commandId = args.commandId?.toString() ?? randomUUID();
      const caller = isCaller(ctx.caller) ? ctx.caller.userId : '';
      return runCommand(ctx, {
        type: 'CreateRoom',
        roomId: uuidV5(`${caller}\u0000${commandId}`, ROOM_ID_NAMESPACE),
        name: args.name,
        commandId,
      });
    },
  }),
  joinRoom: t.field({
    type: JoinRoomResult,
    description: 'Joins a room. Joining a room you are in changes nothing and succeeds.',
    args: {
      roomId: t.arg.id({ required: true }),
      commandId: t.arg.id(),
      expectedRevision: t.arg.int(expectedRevisionArg),
    },
    resolve: (_root, args, ctx) =>
      runCommand(ctx, {
        type: 'JoinRoom',
        roomId: args.roomId.toString(),
        commandId: args.commandId?.toString() ?? null,
        expectedRevision: args.expectedRevision,
      }),
  }),
}));
