import type { DomainEvent, LiveNotification, MessageView } from '@chat/schemas';

// The effect of a batch of events on the read models, computed without I/O: which rows to
// insert, each room's new last sequence, and what to announce once the batch commits.
// Every room's messages get consecutive sequences with no gaps, in log order.

export interface RoomRow {
  roomId: string;
  name: string;
  createdBy: string;
  createdAt: number;
}

export interface MemberRow {
  roomId: string;
  userId: string;
  joinedAt: number;
}

export interface MessageRow extends MessageView {
  eventId: string;
}

export interface KnownState {
  /** Last sequence per room already in the read model (absent = no messages yet). */
  lastSequence: ReadonlyMap<string, number>;
  /** `messageKey()` of messages already in the read model. */
  storedMessages: ReadonlySet<string>;
}

export interface BatchPlan {
  rooms: RoomRow[];
  members: MemberRow[];
  messages: MessageRow[];
  /** New last sequence of every room that got messages. */
  lastSequence: Map<string, number>;
  notifications: LiveNotification[];
}

export function messageKey(roomId: string, senderId: string, clientMessageId: string): string {
  return `${roomId}\u0000${senderId}\u0000${clientMessageId}`;
}

export function planBatch(events: readonly DomainEvent[], known: KnownState): BatchPlan {
  const plan: BatchPlan = { rooms: [], members: [], messages: [], lastSequence: new Map(), notifications: [] };
  const seenMembers = new Set<string>();
  const seenMessages = new Set<string>();
  for (const event of events) {
    switch (event.type) {
      case 'RoomCreated':
        plan.rooms.push({ roomId: event.roomId, name: event.name, createdBy: event.actorId, createdAt: event.occurredAt });
        addMember(plan, seenMembers, event.roomId, event.actorId, event.occurredAt);
        break;
      case 'MemberJoined':
        addMember(plan, seenMembers, event.roomId, event.userId, event.occurredAt);
        break;
      case 'MessageSent': {
        const clientMessageId = event.commandId ?? event.messageId;
        const key = messageKey(event.roomId, event.actorId, clientMessageId);
        // A second event for the same idempotency key (two writers racing) is not a second message.
        if (known.storedMessages.has(key) || seenMessages.has(key)) break;
        seenMessages.add(key);
        const sequence = (plan.lastSequence.get(event.roomId) ?? known.lastSequence.get(event.roomId) ?? 0) + 1;
        plan.lastSequence.set(event.roomId, sequence);
        const message: MessageRow = {
          roomId: event.roomId,
          sequence,
          messageId: event.messageId,
          senderId: event.actorId,
          clientMessageId,
          body: event.body,
          sentAt: event.occurredAt,
          eventId: event.eventId,
        };
        plan.messages.push(message);
        const { eventId: _eventId, ...view } = message;
        plan.notifications.push({ kind: 'message', message: view });
        break;
      }
    }
  }
  return plan;
}

function addMember(plan: BatchPlan, seen: Set<string>, roomId: string, userId: string, at: number): void {
  const key = `${roomId}\u0000${userId}`;
  if (seen.has(key)) return;
  seen.add(key);
  plan.members.push({ roomId, userId, joinedAt: at });
  plan.notifications.push({ kind: 'member-joined', roomId, userId });
}
