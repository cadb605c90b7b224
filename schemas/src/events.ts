import type { TopicKey } from '@chat/platform';
import { EVENT_TYPES, type EventPayloads, type MessageSent } from './generated/events.ts';

export type * from './generated/events.ts';
export { EVENT_TYPES };

export type EventType = keyof EventPayloads;

/** An event as the domain sees it: the Avro record plus its type name as a discriminant. */
export type DomainEvent = { [T in EventType]: { type: T } & EventPayloads[T] }[EventType];

export type EventOf<T extends EventType> = Extract<DomainEvent, { type: T }>;

/** A file attached to a message, as MessageSent records it (and the read models keep it). */
export type Attachment = MessageSent['attachments'][number];

/** Which topic each event type lives in, and so which aggregate id is its Kafka key. */
export const EVENT_TOPIC: Record<EventType, TopicKey> = {
  RoomCreated: 'roomEvents',
  MemberJoined: 'roomEvents',
  MessageSent: 'roomEvents',
  RoomRenamed: 'roomEvents',
  RoomTopicChanged: 'roomEvents',
  MemberInvited: 'roomEvents',
  MemberLeft: 'roomEvents',
  MemberRemoved: 'roomEvents',
  MemberRoleChanged: 'roomEvents',
  MessageEdited: 'roomEvents',
  MessageDeleted: 'roomEvents',
  ReactionAdded: 'roomEvents',
  ReactionRemoved: 'roomEvents',
  ReadMarkerMoved: 'roomEvents',
  MemberErased: 'roomEvents',
  RoomRetentionSet: 'roomEvents',
  RoomHistoryExpired: 'roomEvents',
  UserRegistered: 'userEvents',
  ProfileUpdated: 'userEvents',
  AccountDeleted: 'userEvents',
};

export const EVENT_NAMESPACE = 'chat.events';

export function isEventType(name: string): name is EventType {
  return (EVENT_TYPES as readonly string[]).includes(name);
}

/** Events of the room topic: each belongs to one room, its aggregate. */
export type RoomDomainEvent = Extract<DomainEvent, { roomId: string }>;
/** Events of the user topic: each belongs to one user, its aggregate. */
export type UserDomainEvent = Exclude<DomainEvent, RoomDomainEvent>;

export function isRoomEvent(event: DomainEvent): event is RoomDomainEvent {
  return EVENT_TOPIC[event.type] === 'roomEvents';
}

/** The Kafka key: an event's aggregate id, so an aggregate's events share one partition. */
export function eventKey(event: DomainEvent): string {
  return isRoomEvent(event) ? event.roomId : event.userId;
}
