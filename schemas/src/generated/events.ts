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

/** A user changed their profile. Carries the whole profile after the change, so the last event of a user is its profile. */
export interface ProfileUpdated {
  /** Unique id of this event. */
  eventId: string;
  /** When the command was accepted, epoch milliseconds. */
  occurredAt: number;
  /** The user whose command produced the event: the user themself. */
  actorId: string;
  /** The client idempotency key of the command, where there is one. */
  commandId: null | string;
  /** The user; also the Kafka key. */
  userId: string;
  /** The name shown to others. */
  displayName: string;
  /** An https URL of the user's picture, if any. */
  avatarUrl: null | string;
  /** A short text about the user, if any. */
  bio: null | string;
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

/** An account was created, by sign-up or by a first single sign-on. Carries no credential: passwords, hashes and tokens stay in the command side's own tables. */
export interface UserRegistered {
  /** Unique id of this event. */
  eventId: string;
  /** When the command was accepted, epoch milliseconds. */
  occurredAt: number;
  /** The user whose command produced the event: the new user. */
  actorId: string;
  /** The client idempotency key of the command, where there is one. */
  commandId: null | string;
  /** The server-issued user id; also the Kafka key. */
  userId: string;
  /** The username as chosen (NFC). Unique case-insensitively after NFKC normalization. */
  username: string;
  /** The name shown to others. */
  displayName: string;
}

export const EVENT_TYPES = ['MemberJoined', 'MessageSent', 'ProfileUpdated', 'RoomCreated', 'UserRegistered'] as const;

export interface EventPayloads {
  MemberJoined: MemberJoined;
  MessageSent: MessageSent;
  ProfileUpdated: ProfileUpdated;
  RoomCreated: RoomCreated;
  UserRegistered: UserRegistered;
}
