import { randomUUID } from 'node:crypto';
import type { Accepted } from '../app/command-handler.ts';
import { ReceiptRef, builder, requireUser, resultUnion } from './builder.ts';

const MessageAcceptedRef = builder.objectRef<Accepted>('MessageAccepted').implement({
  fields: (t) => ({
    roomId: t.exposeID('roomId'),
    messageId: t.id({ resolve: (accepted) => accepted.messageId ?? '' }),
    receipt: t.field({ type: ReceiptRef, resolve: (accepted) => accepted }),
  }),
});

const SendMessageResult = resultUnion('SendMessage', MessageAcceptedRef);

builder.mutationFields((t) => ({
  sendMessage: t.field({
    type: SendMessageResult,
    description:
      'Sends a message. clientMessageId is the idempotency key: resending with the same key returns the first message and appends nothing.',
    args: {
      roomId: t.arg.id({ required: true }),
      body: t.arg.string({ required: true }),
      clientMessageId: t.arg.id({ required: true }),
    },
    resolve: async (_root, args, ctx) => {
      const actorId = requireUser(ctx);
      if (typeof actorId !== 'string') return actorId;
      const outcome = await ctx.handler.handle(
        {
          type: 'SendMessage',
          roomId: args.roomId.toString(),
          actorId,
          commandId: args.clientMessageId.toString(),
          messageId: randomUUID(),
          body: args.body,
        },
        ctx.traceparent,
      );
      return outcome.ok ? outcome : outcome.error;
    },
  }),
}));
