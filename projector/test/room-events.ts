import type { DomainEvent } from '@chat/schemas';

// A room's first events, as the projection tests feed them: the room is revision 1, and
// message i is revision i + 1.

export function roomCreated(roomId: string): DomainEvent {
  return {
    type: 'RoomCreated',
    topic: null,
    visibility: 'PUBLIC',
    kind: 'GROUP',
    eventId: crypto.randomUUID(),
    occurredAt: 1,
    actorId: 'a',
    commandId: null,
    roomId,
    revision: 1,
    name: 'r',
  };
}

export function messageSent(roomId: string, i: number, body = `m${i}`): DomainEvent {
  return {
    type: 'MessageSent',
    format: 'PLAIN',
    attachments: [],
    replyTo: null,
    eventId: crypto.randomUUID(),
    occurredAt: 1000 + i,
    actorId: 'a',
    commandId: `c${i}`,
    roomId,
    revision: i + 1,
    messageId: crypto.randomUUID(),
    body,
  };
}
