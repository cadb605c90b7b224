import { readRoomCursor } from '@chat/platform';
import { randomUUID } from 'node:crypto';
import type { Accepted } from '../app/outcome.ts';
import { commandError } from '../domain/errors.ts';
import { ReceiptRef, builder, expectedRevisionArg, resultUnion, runCommand, type Context } from './builder.ts';
import { isCaller } from '../app/identity.ts';
import { checkCommand, type RoomCommand } from '../domain/room.ts';

// Messages: send (optionally as a reply), edit, delete, react. Who may do what to which
// message is the room decider's to say.

const MessageAcceptedRef = builder.objectRef<Accepted>('MessageAccepted').implement({
  fields: (t) => ({
    roomId: t.exposeID('roomId'),
    messageId: t.id({ resolve: (accepted) => accepted.messageId ?? '' }),
    receipt: t.field({ type: ReceiptRef, resolve: (accepted) => accepted }),
  }),
});

const SendMessageResult = resultUnion('SendMessage', MessageAcceptedRef);
const MessageResult = resultUnion('Message', MessageAcceptedRef);
const commandIdArg = { description: 'Idempotency key: a retry with the same key answers the first outcome.' } as const;
const MessageFormatRef = builder.enumType('MessageFormat', {
  description: 'How a message body is meant to be shown.',
  values: { PLAIN: { description: 'As it is.' }, MARKDOWN: { description: 'As Markdown (CommonMark).' } },
});

builder.mutationFields((t) => ({
  sendMessage: t.field({
    type: SendMessageResult,
    description:
      'Sends a message, optionally as a reply to another message of the room. clientMessageId is the idempotency key: resending with the same key returns the first message and appends nothing.',
    args: {
      roomId: t.arg.id({ required: true }),
      body: t.arg.string({ required: true }),
      clientMessageId: t.arg.id({ required: true }),
      replyTo: t.arg.id({ description: 'The message this one answers.' }),
      format: t.arg({ type: MessageFormatRef, defaultValue: 'PLAIN', description: 'PLAIN unless said otherwise.' }),
      expectedRevision: t.arg.int(expectedRevisionArg),
      attachments: t.arg.idList({
        description: 'Uploads (requestUpload, then PUT) to attach, in order; with any, body may be empty.',
      }),
    },
    resolve: async (_root, args, ctx) => {
      const roomId = args.roomId.toString();
      const key = args.clientMessageId.toString();
      const uploadIds = (args.attachments ?? []).map(String);
      const command: SendCommand = {
        type: 'SendMessage',
        roomId,
        commandId: key,
        messageId: randomUUID(),
        body: args.body,
        replyTo: args.replyTo?.toString() ?? null,
        format: args.format ?? 'PLAIN',
        expectedRevision: args.expectedRevision,
        attachments: [],
      };
      if (uploadIds.length === 0) return runCommand(ctx, command);
      return withAttachments(ctx, command, key, uploadIds);
    },
  }),
  editMessage: t.field({
    type: MessageResult,
    description: 'The author changes the body of their message. The same body again changes nothing.',
    args: {
      roomId: t.arg.id({ required: true }),
      messageId: t.arg.id({ required: true }),
      body: t.arg.string({ required: true }),
      commandId: t.arg.id(commandIdArg),
    },
    resolve: (_root, args, ctx) =>
      runCommand(ctx, {
        type: 'EditMessage',
        roomId: args.roomId.toString(),
        messageId: args.messageId.toString(),
        body: args.body,
        commandId: args.commandId?.toString() ?? null,
      }),
  }),
  deleteMessage: t.field({
    type: MessageResult,
    description: 'The author, an owner or an admin deletes a message: it keeps its place in history without its body.',
    args: { roomId: t.arg.id({ required: true }), messageId: t.arg.id({ required: true }), commandId: t.arg.id(commandIdArg) },
    resolve: (_root, args, ctx) =>
      runCommand(ctx, {
        type: 'DeleteMessage',
        roomId: args.roomId.toString(),
        messageId: args.messageId.toString(),
        commandId: args.commandId?.toString() ?? null,
      }),
  }),
  addReaction: t.field({
    type: MessageResult,
    description: 'Reacts with one emoji; reacting again with the same emoji changes nothing.',
    args: {
      roomId: t.arg.id({ required: true }),
      messageId: t.arg.id({ required: true }),
      emoji: t.arg.string({ required: true }),
      commandId: t.arg.id(commandIdArg),
    },
    resolve: (_root, args, ctx) =>
      runCommand(ctx, {
        type: 'AddReaction',
        roomId: args.roomId.toString(),
        messageId: args.messageId.toString(),
        emoji: args.emoji,
        commandId: args.commandId?.toString() ?? null,
      }),
  }),
  markRead: t.field({
    type: MessageResult,
    description: "Moves the caller's read marker to a message (its cursor). Markers only move forward; unread counts follow.",
    args: { roomId: t.arg.id({ required: true }), upTo: t.arg.string({ required: true }), commandId: t.arg.id(commandIdArg) },
    resolve: (_root, args, ctx) => {
      const roomId = args.roomId.toString();
      const upTo = readRoomCursor('message', roomId, args.upTo);
      if (typeof upTo !== 'number') return commandError('INVALID_INPUT', `upTo ${upTo.refused}`);
      return runCommand(ctx, {
        type: 'MarkRead',
        roomId,
        upTo,
        commandId: args.commandId?.toString() ?? null,
      });
    },
  }),
  removeReaction: t.field({
    type: MessageResult,
    args: {
      roomId: t.arg.id({ required: true }),
      messageId: t.arg.id({ required: true }),
      emoji: t.arg.string({ required: true }),
      commandId: t.arg.id(commandIdArg),
    },
    resolve: (_root, args, ctx) =>
      runCommand(ctx, {
        type: 'RemoveReaction',
        roomId: args.roomId.toString(),
        messageId: args.messageId.toString(),
        emoji: args.emoji,
        commandId: args.commandId?.toString() ?? null,
      }),
  }),
}));

type SendCommand = Omit<Extract<RoomCommand, { type: 'SendMessage' }>, 'actorId'>;

/**
 * A send with files: the command is checked as it is first (junk claims no upload), then its
 * uploads are claimed and checked, then it runs; its outcome settles the uploads.
 */
async function withAttachments(ctx: Context, command: SendCommand, key: string, uploadIds: string[]) {
  if (!isCaller(ctx.caller)) return ctx.caller;
  const userId = ctx.caller.userId;
  const invalid = checkCommand({ ...command, body: command.body === '' ? '-' : command.body, actorId: userId });
  if (invalid) return invalid;
  let attachments;
  try {
    attachments = await ctx.attachments.prepare(userId, command.roomId, key, uploadIds);
  } catch (error) {
    ctx.log.warn('cannot check attachments', { error });
    return commandError('UNAVAILABLE', 'attachments cannot be checked right now; retry with the same clientMessageId');
  }
  if ('code' in attachments) return attachments;
  const result = await runCommand(ctx, { ...command, attachments });
  await ctx.attachments
    .settle(command.roomId, key, uploadIds, result)
    .catch((error: unknown) => ctx.log.warn('cannot settle uploads (the sweeper will)', { error }));
  return result;
}
