import { randomUUID } from 'node:crypto';
import type { Accepted } from '../app/outcome.ts';
import { ReceiptRef, builder, expectedRevisionArg, resultUnion, runCommand } from './builder.ts';

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
      expectedRevision: t.arg.int(expectedRevisionArg),
    },
    resolve: (_root, args, ctx) =>
      runCommand(ctx, {
        type: 'SendMessage',
        roomId: args.roomId.toString(),
        commandId: args.clientMessageId.toString(),
        messageId: randomUUID(),
        body: args.body,
        expectedRevision: args.expectedRevision,
      }),
  }),
}));
