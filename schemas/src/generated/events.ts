// Generated from schemas/avro/*.avsc by `npm run generate -w schemas`. Do not edit.

/** A user deleted their account: their profile, sessions and linked identities are gone, and their content keys erased (profile events and messages sealed under them read as erased). Read models keep the user id as "deleted user". */
export interface AccountDeleted {
  /** Unique id of this event. */
  eventId: string;
  /** When the command was accepted, epoch milliseconds. */
  occurredAt: number;
  /** The user themself. */
  actorId: string;
  /** The client idempotency key of the command, where there is one. */
  commandId: null | string;
  /** The user; also the Kafka key. */
  userId: string;
}

/** A user deleting their account left the room and took what they wrote with them: their messages become tombstones ("message deleted"), their reactions and read marker go, and so do the mentions of them. Their content was sealed under keys the deletion erased, so the log itself no longer says what they wrote. */
export interface MemberErased {
  /** Unique id of this event. */
  eventId: string;
  /** When the command was accepted, epoch milliseconds. */
  occurredAt: number;
  /** The user deleting their account (the same as userId). */
  actorId: string;
  /** The client idempotency key of the command, where there is one. */
  commandId: null | string;
  /** The room (aggregate) the event belongs to; also the Kafka key. */
  roomId: string;
  /** The room's revision after this event: 1, 2, 3… per room with no gaps, over all its event types. */
  revision: number;
  /** The user whose account is being deleted. */
  userId: string;
  /** When the account's content keys were erased, epoch milliseconds: the deletion time of their messages, the same whether a reader meets this event or only erased content (a rebuild). */
  erasedAt: number;
}

/** An owner or admin invited a user; the user may then join, even a private room. */
export interface MemberInvited {
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
  /** The invited user. */
  userId: string;
}

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
  /** The role the user joined with: MEMBER, or OWNER in a direct room and in a room its last member had left. */
  role: string;
}

/** A member left a room. */
export interface MemberLeft {
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
  /** The user who left (the actor). */
  userId: string;
}

/** An owner or admin removed a member from a room. */
export interface MemberRemoved {
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
  /** The removed user. */
  userId: string;
}

/** An owner changed a member's role. */
export interface MemberRoleChanged {
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
  /** The member whose role changed. */
  userId: string;
  /** OWNER, ADMIN or MEMBER. */
  role: string;
}

/** The author, or an owner or admin, deleted a message. Read models keep its place and drop its body. */
export interface MessageDeleted {
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
  /** The message it applies to. */
  messageId: string;
}

/** The author changed the body of their message. */
export interface MessageEdited {
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
  /** The message it applies to. */
  messageId: string;
  /** The new body. */
  body: string;
  /** The message's content (body and attachments of MessageSent; the new body of MessageEdited), AES-256-GCM encrypted under the message's content key, kept outside the log: erasing the key leaves this unreadable. When set, body is empty and attachments is empty. Added in the fourth version of MessageSent and the second of MessageEdited: events written before carry their content in the clear and read as not sealed. */
  sealed?: null | { dataKeyId: string; shareId: string; ciphertext: Buffer; };
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
  /** The message this one replies to, in the same room; null for none. */
  replyTo: null | string;
  /** How the body is meant to be shown: PLAIN or MARKDOWN. Added in the second version of this event: events written before read as PLAIN. */
  format: string;
  /** Files attached to the message. Added in the third version of this event: events written before read as none. */
  attachments: Array<{ attachmentId: string; name: string; contentType: string; size: number; image: null | { width: number; height: number; placeholder: string; }; }>;
  /** The message's content (body and attachments of MessageSent; the new body of MessageEdited), AES-256-GCM encrypted under the message's content key, kept outside the log: erasing the key leaves this unreadable. When set, body is empty and attachments is empty. Added in the fourth version of MessageSent and the second of MessageEdited: events written before carry their content in the clear and read as not sealed. */
  sealed?: null | { dataKeyId: string; shareId: string; ciphertext: Buffer; };
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
  /** The profile (displayName, avatarUrl and bio), AES-256-GCM encrypted under a key of the user's, kept outside the log: deleting the account erases it and leaves this unreadable. When set, the plain fields are empty (null where they may be). Added in the second version: events written before carry the profile in the clear and read as not sealed. */
  sealed?: null | { dataKeyId: string; shareId: string; ciphertext: Buffer; };
}

/** A member reacted to a message with an emoji (once per member, message and emoji). */
export interface ReactionAdded {
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
  /** The message it applies to. */
  messageId: string;
  /** One emoji (an RGI emoji sequence). */
  emoji: string;
}

/** A member took back their reaction. */
export interface ReactionRemoved {
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
  /** The message it applies to. */
  messageId: string;
  /** The emoji taken back. */
  emoji: string;
}

/** A member has read their room up to a message sequence. Markers only move forward in the read models. */
export interface ReadMarkerMoved {
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
  /** The sequence of the last message read. */
  upTo: number;
}

/** A user created a room and became its first member (its owner). A direct room (kind DIRECT) is created by openDirect, with a MemberJoined for the other user in the same transaction. */
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
  /** What the room is about; null for none. */
  topic: null | string;
  /** PUBLIC (anyone may find and join it) or PRIVATE (members and invited users only). */
  visibility: string;
  /** GROUP, or DIRECT for the one room of two users. */
  kind: string;
}

/** The room's retention passed: the content keys of every message sent before `before` were erased (their content in the log reads as erased), and read models turn those messages into tombstones. */
export interface RoomHistoryExpired {
  /** Unique id of this event. */
  eventId: string;
  /** When the command was accepted, epoch milliseconds. */
  occurredAt: number;
  /** The retention sweep ("retention"), not a user. */
  actorId: string;
  /** The client idempotency key of the command, where there is one. */
  commandId: null | string;
  /** The room (aggregate) the event belongs to; also the Kafka key. */
  roomId: string;
  /** The room's revision after this event: 1, 2, 3… per room with no gaps, over all its event types. */
  revision: number;
  /** Messages sent before this (the start of a UTC day) expired. */
  before: number;
  /** When their keys were erased: the deletion time of the messages. */
  erasedAt: number;
}

/** An owner or admin renamed a room. */
export interface RoomRenamed {
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
  /** The new name. */
  name: string;
}

/** An owner set how long the room keeps its messages: those sent before the start of the UTC day `days` days ago expire (RoomHistoryExpired), or none when days is null. */
export interface RoomRetentionSet {
  /** Unique id of this event. */
  eventId: string;
  /** When the command was accepted, epoch milliseconds. */
  occurredAt: number;
  /** The owner who set it. */
  actorId: string;
  /** The client idempotency key of the command, where there is one. */
  commandId: null | string;
  /** The room (aggregate) the event belongs to; also the Kafka key. */
  roomId: string;
  /** The room's revision after this event: 1, 2, 3… per room with no gaps, over all its event types. */
  revision: number;
  /** Days of history kept, 1 to 3650; null keeps everything. */
  days: null | number;
}

/** An owner or admin set or cleared a room's topic. */
export interface RoomTopicChanged {
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
  /** The new topic; null clears it. */
  topic: null | string;
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
  /** The profile (username and displayName), AES-256-GCM encrypted under a key of the user's, kept outside the log: deleting the account erases it and leaves this unreadable. When set, the plain fields are empty (null where they may be). Added in the second version: events written before carry the profile in the clear and read as not sealed. */
  sealed?: null | { dataKeyId: string; shareId: string; ciphertext: Buffer; };
}

export const EVENT_TYPES = ['AccountDeleted', 'MemberErased', 'MemberInvited', 'MemberJoined', 'MemberLeft', 'MemberRemoved', 'MemberRoleChanged', 'MessageDeleted', 'MessageEdited', 'MessageSent', 'ProfileUpdated', 'ReactionAdded', 'ReactionRemoved', 'ReadMarkerMoved', 'RoomCreated', 'RoomHistoryExpired', 'RoomRenamed', 'RoomRetentionSet', 'RoomTopicChanged', 'UserRegistered'] as const;

export interface EventPayloads {
  AccountDeleted: AccountDeleted;
  MemberErased: MemberErased;
  MemberInvited: MemberInvited;
  MemberJoined: MemberJoined;
  MemberLeft: MemberLeft;
  MemberRemoved: MemberRemoved;
  MemberRoleChanged: MemberRoleChanged;
  MessageDeleted: MessageDeleted;
  MessageEdited: MessageEdited;
  MessageSent: MessageSent;
  ProfileUpdated: ProfileUpdated;
  ReactionAdded: ReactionAdded;
  ReactionRemoved: ReactionRemoved;
  ReadMarkerMoved: ReadMarkerMoved;
  RoomCreated: RoomCreated;
  RoomHistoryExpired: RoomHistoryExpired;
  RoomRenamed: RoomRenamed;
  RoomRetentionSet: RoomRetentionSet;
  RoomTopicChanged: RoomTopicChanged;
  UserRegistered: UserRegistered;
}
