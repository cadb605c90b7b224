import { ContentIntegrityError, open, refKey, seal, type ContentKeyRef, type OpenedKey } from '@chat/platform';
import type { DomainEvent, EventOf } from './events.ts';

// Which parts of which events are personal content, sealed before they enter the log (see
// platform/src/content-keys): the body and attachments of MessageSent, the body of
// MessageEdited, and the profile in UserRegistered and ProfileUpdated. Everything else (ids,
// times, the room, the format) stays readable, so the log can be routed, ordered and projected
// without any key. Erased content opens as its fields emptied: a message keeps its place, as a
// deleted message does, and a deleted user keeps their id.

export type SealableEvent = EventOf<'MessageSent'> | EventOf<'MessageEdited'> | EventOf<'UserRegistered'> | EventOf<'ProfileUpdated'>;

/** The scope a user's profile is sealed under: one data key per user, apart from their rooms and days. */
export const PROFILE_SCOPE = { roomId: '', at: 0 } as const;

/** What the command side needs to seal: a fresh key per message, edit or profile event (PgContentKeys). */
export interface ContentSealer {
  keyForNew(userId: string, roomId: string, at: number, subjectId: string): Promise<{ ref: ContentKeyRef; key: Buffer }>;
}

/** What a reader needs to open: the keys of a batch's sealed events, read in one go (PgContentKeys). */
export interface ContentOpener {
  open(refs: readonly (ContentKeyRef & { subjectId: string })[]): Promise<Map<string, OpenedKey>>;
}

/**
 * The sealed fields of each type, as they read when emptied (in the log) or erased. The shape
 * of each value is also what an opened field must have.
 */
const SEALED_FIELDS = {
  MessageSent: { body: '', attachments: [] },
  MessageEdited: { body: '' },
  UserRegistered: { username: '', displayName: '' },
  ProfileUpdated: { displayName: '', avatarUrl: null, bio: null },
} as const satisfies { [T in SealableEvent['type']]: Partial<EventOf<T>> };

export function isSealable(event: DomainEvent): event is SealableEvent {
  return event.type in SEALED_FIELDS;
}

/** Whose key seals the event, in which scope, and what the key is bound to: the message, or the profile event. */
function keyScope(event: SealableEvent): { userId: string; roomId: string; at: number; subjectId: string } {
  if (event.type === 'MessageSent' || event.type === 'MessageEdited') {
    return { userId: event.actorId, roomId: event.roomId, at: event.occurredAt, subjectId: event.messageId };
  }
  return { userId: event.userId, ...PROFILE_SCOPE, subjectId: event.eventId };
}

/** The associated data: the ciphertext belongs to this event of this message or user, and opens nowhere else. */
function boundTo(event: SealableEvent): string {
  const owner = 'messageId' in event ? event.messageId : event.userId;
  return `${event.type}\u0000${event.eventId}\u0000${owner}`;
}

/** The event as it goes into the log: its content sealed, its plaintext fields emptied. */
export async function sealContent<E extends DomainEvent>(event: E, keys: ContentSealer): Promise<E> {
  if (!isSealable(event) || event.sealed) return event;
  const { userId, roomId, at, subjectId } = keyScope(event);
  const { ref, key } = await keys.keyForNew(userId, roomId, at, subjectId);
  const emptied = SEALED_FIELDS[event.type];
  const content = Object.fromEntries(Object.keys(emptied).map((field) => [field, event[field as keyof typeof event]]));
  const ciphertext = seal(key, Buffer.from(JSON.stringify(content), 'utf8'), boundTo(event));
  return { ...event, ...emptied, sealed: { ...ref, ciphertext } };
}

/**
 * The events with their content opened, erased content as its fields emptied. One read of the
 * key tables for the whole batch. A missing key, a wrong master key or altered bytes throw
 * ContentIntegrityError: never text that is not what was sealed.
 */
export async function openContent(events: readonly DomainEvent[], keys: ContentOpener): Promise<DomainEvent[]> {
  const sealed = events.filter((event): event is SealableEvent & { sealed: ContentKeyRef } => isSealable(event) && !!event.sealed);
  if (sealed.length === 0) return [...events];
  const opened = await keys.open(sealed.map((event) => ({ ...event.sealed, subjectId: keyScope(event).subjectId })));
  return events.map((event) => {
    if (!isSealable(event) || !event.sealed) return event;
    const key = opened.get(refKey(event.sealed))!;
    if ('erased' in key) return { ...event, ...SEALED_FIELDS[event.type] };
    return { ...event, ...parseContent(open(key.key, event.sealed.ciphertext, boundTo(event)), event) };
  });
}

/** The opened fields, each of the shape its type has; anything else is a fault, not content. */
function parseContent(plaintext: Buffer, event: SealableEvent): Record<string, unknown> {
  const content = JSON.parse(plaintext.toString('utf8')) as Record<string, unknown> | null;
  const fields: Record<string, unknown> = {};
  for (const [field, emptied] of Object.entries(SEALED_FIELDS[event.type])) {
    // Only attachments may be absent (a message without files); every other field must be there.
    const value = content && field in content ? content[field] : Array.isArray(emptied) ? [] : undefined;
    const fits =
      emptied === null
        ? value === null || typeof value === 'string'
        : Array.isArray(emptied)
          ? Array.isArray(value)
          : typeof value === 'string';
    if (!fits) throw new ContentIntegrityError(`sealed content of ${event.eventId} has no valid ${field}`);
    fields[field] = value;
  }
  return fields;
}
