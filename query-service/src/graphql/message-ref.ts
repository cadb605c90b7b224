import type { MessageView } from '@chat/schemas';
import { builder, type Context } from './builder.ts';

// The Message type's reference, apart from its fields (messages.ts), so that rooms can name
// their last message without the two files importing each other; and the one rule for a field
// that loads a message by its id.
export const MessageRef = builder.objectRef<MessageView>('Message');

/**
 * The message `messageId` of room `roomId`, or null: a field that names a message from within
 * a room (a reply, an event, a mention) only ever resolves to a message of that same room, so
 * an id that names another room's message (only a forged event could hold one) reveals nothing.
 * Whoever reads the field is reading that room already (a member: every path to a room's
 * messages and events checks it), so this holds for every subscriber of a shared execution,
 * and needs no per-viewer execution.
 */
export async function messageIn(ctx: Context, roomId: string, messageId: string): Promise<MessageView | null> {
  const message = await ctx.loaders.messages.load(messageId);
  return message && message.roomId === roomId ? message : null;
}
