import type { TopicKey } from '@chat/platform';
import { EVENT_TYPES, type EventPayloads } from './generated/events.ts';

export type * from './generated/events.ts';
export { EVENT_TYPES };

export type EventType = keyof EventPayloads;

/** An event as the domain sees it: the Avro record plus its type name as a discriminant. */
export type DomainEvent = { [T in EventType]: { type: T } & EventPayloads[T] }[EventType];

export type EventOf<T extends EventType> = Extract<DomainEvent, { type: T }>;

/** Which topic each event type lives in, and so which aggregate id is its Kafka key. */
export const EVENT_TOPIC: Record<EventType, TopicKey> = {
  RoomCreated: 'roomEvents',
  MemberJoined: 'roomEvents',
  MessageSent: 'roomEvents',
};

export const EVENT_NAMESPACE = 'chat.events';

export function isEventType(name: string): name is EventType {
  return (EVENT_TYPES as readonly string[]).includes(name);
}

/** The Kafka key: room events are keyed by room id so a room's events share one partition. */
export function eventKey(event: DomainEvent): string {
  return event.roomId;
}
