import { randomUUID } from 'node:crypto';
import type { Accepted } from '../app/command-handler.ts';
import { ReceiptRef, builder, requireUser, resultUnion } from './builder.ts';

const RoomAcceptedRef = builder.objectRef<Accepted>('RoomAccepted').implement({
  fields: (t) => ({
    roomId: t.exposeID('roomId'),
    receipt: t.field({ type: ReceiptRef, resolve: (accepted) => accepted }),
  }),
});

const CreateRoomResult = resultUnion('CreateRoom', RoomAcceptedRef);
const JoinRoomResult = resultUnion('JoinRoom', RoomAcceptedRef);

builder.mutationFields((t) => ({
  createRoom: t.field({
    type: CreateRoomResult,
    description: 'Creates a room; the caller becomes its first member.',
    args: {
      name: t.arg.string({ required: true }),
      commandId: t.arg.id({ description: 'Idempotency key: a retry with the same key returns the same room.' }),
    },
    resolve: async (_root, args, ctx) => {
      const actorId = requireUser(ctx);
      if (typeof actorId !== 'string') return actorId;
      const outcome = await ctx.handler.handle(
        { type: 'CreateRoom', roomId: randomUUID(), name: args.name, actorId, commandId: args.commandId?.toString() ?? null },
        ctx.traceparent,
      );
      return outcome.ok ? outcome : outcome.error;
    },
  }),
  joinRoom: t.field({
    type: JoinRoomResult,
    description: 'Joins a room. Joining a room you are in changes nothing and succeeds.',
    args: {
      roomId: t.arg.id({ required: true }),
      commandId: t.arg.id(),
    },
    resolve: async (_root, args, ctx) => {
      const actorId = requireUser(ctx);
      if (typeof actorId !== 'string') return actorId;
      const outcome = await ctx.handler.handle(
        { type: 'JoinRoom', roomId: args.roomId.toString(), actorId, commandId: args.commandId?.toString() ?? null },
        ctx.traceparent,
      );
      return outcome.ok ? outcome : outcome.error;
    },
  }),
}));
