import { ContentIntegrityError, open, refKey, seal, type ContentKeyRef, type OpenedKey } from '@chat/platform';
import type { DomainEvent, EventOf } from './events.ts';

// Which parts of which events are personal content, sealed before they enter the log (see
// platform/src/content-keys): the body and attachments of MessageSent, the body of
// MessageEdited. Everything else (ids, times, the room, the format) stays readable, so the
// log can be routed, ordered and projected without any key. Erased content opens as an empty
// body without attachments: the message keeps its place, as a deleted message does.

export type SealableEvent = EventOf<'MessageSent'> | EventOf<'MessageEdited'>;

/** What the command side needs to seal: a fresh key per message or edit (PgContentKeys). */
export interface ContentSealer {
  keyForNew(userId: string, roomId: string, at: number, messageId: string): Promise<{ ref: ContentKeyRef; key: Buffer }>;
}

/** What a reader needs to open: the keys of a batch's sealed events, read in one go (PgContentKeys). */
export interface ContentOpener {
  open(refs: readonly (ContentKeyRef & { messageId: string })[]): Promise<Map<string, OpenedKey>>;
}

interface SealedMessage {
  body: string;
  attachments?: EventOf<'MessageSent'>['attachments'];
}

export function isSealable(event: DomainEvent): event is SealableEvent {
  return event.type === 'MessageSent' || event.type === 'MessageEdited';
}

/** The associated data: the ciphertext belongs to this event of this message, and opens nowhere else. */
function boundTo(event: SealableEvent): string {
  return `${event.type}\u0000${event.eventId}\u0000${event.messageId}`;
}

/** The event as it goes into the log: its content sealed, its plaintext fields emptied. */
export async function sealContent<E extends DomainEvent>(event: E, keys: ContentSealer): Promise<E> {
  if (!isSealable(event) || event.sealed) return event;
  const { ref, key } = await keys.keyForNew(event.actorId, event.roomId, event.occurredAt, event.messageId);
  const content: SealedMessage = event.type === 'MessageSent' ? { body: event.body, attachments: event.attachments } : { body: event.body };
  const ciphertext = seal(key, Buffer.from(JSON.stringify(content), 'utf8'), boundTo(event));
  const emptied = event.type === 'MessageSent' ? { body: '', attachments: [] } : { body: '' };
  return { ...event, ...emptied, sealed: { ...ref, ciphertext } };
}

/**
 * The events with their content opened: erased content as an empty body without attachments.
 * One read of the key tables for the whole batch. A missing key, a wrong master key or altered
 * bytes throw ContentIntegrityError: never text that is not what was sealed.
 */
export async function openContent(events: readonly DomainEvent[], keys: ContentOpener): Promise<DomainEvent[]> {
  const sealed = events.filter((event): event is SealableEvent & { sealed: ContentKeyRef } => isSealable(event) && !!event.sealed);
  if (sealed.length === 0) return [...events];
  const opened = await keys.open(sealed.map((event) => ({ ...event.sealed, messageId: event.messageId })));
  return events.map((event) => {
    if (!isSealable(event) || !event.sealed) return event;
    const key = opened.get(refKey(event.sealed))!;
    if ('erased' in key) return event.type === 'MessageSent' ? { ...event, body: '', attachments: [] } : { ...event, body: '' };
    const content = parseContent(open(key.key, event.sealed.ciphertext, boundTo(event)), event);
    return event.type === 'MessageSent'
      ? { ...event, body: content.body, attachments: content.attachments ?? [] }
      : { ...event, body: content.body };
  });
}

function parseContent(plaintext: Buffer, event: SealableEvent): SealedMessage {
  const content = JSON.parse(plaintext.toString('utf8')) as SealedMessage;
  if (typeof content?.body !== 'string') throw new ContentIntegrityError(`sealed content of ${event.eventId} has no body`);
  return content;
}
