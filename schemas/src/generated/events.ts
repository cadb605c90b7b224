// Generated from schemas/avro/*.avsc by `npm run generate -w schemas`. Do not edit.

/** A user joined a room. */
export interface MemberJoined {
  /** Unique id of this event. */
  eventId: string;
  /** When the command was accepted, epoch milliseconds. */
  occurredAt: number;
  /** The user whose command produced the event. */
  actorId: string;
  /** The client idempotency key of the command, where there is one. */
  commandId: null | string;
  /** The room (aggregate) the event belongs to; also the Kafka key. */
  roomId: string;
  /** The room's revision after this event: 1, 2, 3… per room with no gaps, over all its event types. 0 only on events written before revisions existed. */
  revision: number;
  /** The user who joined. */
  userId: string;
}

/** A member sent a message to a room. commandId carries the client's clientMessageId. */
export interface MessageSent {
  /** Unique id of this event. */
  eventId: string;
  /** When the command was accepted, epoch milliseconds. */
  occurredAt: number;
  /** The user whose command produced the event. */
  actorId: string;
  /** The client idempotency key of the command, where there is one. */
  commandId: null | string;
  /** The room (aggregate) the event belongs to; also the Kafka key. */
  roomId: string;
  /** The room's revision after this event: 1, 2, 3… per room with no gaps, over all its event types. 0 only on events written before revisions existed. */
  revision: number;
  /** Server-assigned id of the message. */
  messageId: string;
  /** The message text. */
  body: string;
}

/** A user created a room and became its first member. */
export interface RoomCreated {
  /** Unique id of this event. */
  eventId: string;
  /** When the command was accepted, epoch milliseconds. */
  occurredAt: number;
  /** The user whose command produced the event. */
  actorId: string;
  /** The client idempotency key of the command, where there is one. */
  commandId: null | string;
  /** The room (aggregate) the event belongs to; also the Kafka key. */
  roomId: string;
  /** The room's revision after this event: 1, 2, 3… per room with no gaps, over all its event types. 0 only on events written before revisions existed. */
  revision: number;
  /** Display name of the room. */
  name: string;
}

export const EVENT_TYPES = ['MemberJoined', 'MessageSent', 'RoomCreated'] as const;

export interface EventPayloads {
  MemberJoined: MemberJoined;
  MessageSent: MessageSent;
  RoomCreated: RoomCreated;
}
