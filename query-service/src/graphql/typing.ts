import { typingUsers } from '../app/typing-users.ts';
import { builder, clientError, requireMember } from './builder.ts';
import { UserRef } from './users.ts';

// Typing: its own mutation and subscription, apart from roomEvents: it is ephemeral (Redis,
// a few seconds), never in the log, and has no cursor.

const TypingRef = builder.objectRef<{ roomId: string; userIds: string[] }>('Typing').implement({
  fields: (t) => ({
    roomId: t.exposeID('roomId'),
    userIds: t.exposeIDList('userIds'),
    users: t.field({
      type: [UserRef],
      resolve: async (typing, _args, ctx) =>
        (await ctx.loaders.users.loadMany(typing.userIds)).filter((u) => u && !(u instanceof Error)) as never,
    }),
  }),
});

builder.mutationFields((t) => ({
  setTyping: t.boolean({
    description: 'Shows the room you are typing (for a few seconds; send again while you type), or stops it.',
    args: { roomId: t.arg.id({ required: true }), typing: t.arg.boolean({ defaultValue: true }) },
    resolve: async (_root, args, ctx) => {
      const roomId = args.roomId.toString();
      const userId = await requireMember(ctx, roomId);
      if (!(await ctx.typing.allow(userId))) throw clientError('RATE_LIMITED', 'typing signals come at most a few per second');
      await ctx.typing.store.set(roomId, userId, args.typing ?? true);
      return true;
    },
  }),
}));

builder.subscriptionFields((t) => ({
  typing: t.field({
    type: TypingRef,
    description: 'Who else is typing in a room, each time it changes (first the state now).',
    args: { roomId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, ctx) => {
      const roomId = args.roomId.toString();
      const userId = await requireMember(ctx, roomId);
      const source = {
        current: (id: string) => ctx.typing.store.current(id),
        subscribeTyping: ctx.fanout.subscribeTyping.bind(ctx.fanout),
        subscribe: ctx.fanout.subscribe.bind(ctx.fanout),
      };
      return typingUsers(source, roomId, userId);
    },
    resolve: (userIds, args) => ({ roomId: args.roomId.toString(), userIds }),
  }),
}));
