import type { MessageView } from '@chat/schemas';
import { builder } from './builder.ts';

// The Message type's reference, apart from its fields (messages.ts), so that rooms can name
// their last message without the two files importing each other.
export const MessageRef = builder.objectRef<MessageView>('Message');
