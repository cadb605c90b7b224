import type { RoomView } from '../adapters/read-models.ts';
import { builder, requireMember, requireUser } from './builder.ts';

export const RoomRef = builder.objectRef<RoomView>('Room').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    createdBy: t.exposeID('createdBy'),
    createdAt: t.field({ type: 'String', resolve: (room) => new Date(room.createdAt).toISOString() }),
    lastSequence: t.exposeInt('lastSequence', { description: 'Sequence of the newest message; 0 when there is none.' }),
  }),
});

builder.queryFields((t) => ({
  room: t.field({
    type: RoomRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      await requireMember(ctx, args.id.toString());
      return ctx.rooms.load(args.id.toString());
    },
  }),
  myRooms: t.field({
    type: [RoomRef],
    description: "The caller's rooms, in the order they joined them.",
    resolve: async (_root, _args, ctx) => {
      const ids = await ctx.readModels.roomIdsOf(requireUser(ctx));
      const rooms = await ctx.rooms.loadMany(ids);
      return rooms.filter((r): r is RoomView => r !== undefined && !(r instanceof Error));
    },
  }),
}));
