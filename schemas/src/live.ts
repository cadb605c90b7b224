// What the projector publishes on Redis after each commit, and what the query service reads:
// the one contract between them besides the Postgres tables.

import type { Attachment } from './events.ts';

export interface MessageView {
  roomId: string;
  sequence: number;
  messageId: string;
  senderId: string;
  clientMessageId: string;
  body: string;
  /** epoch milliseconds */
  sentAt: number;
  /** The message this one replies to, if any. */
  replyTo: string | null;
  /** When the author last edited it (epoch ms), if ever. */
  editedAt: number | null;
  /** Deleted: its place is kept, its body is empty. */
  deleted: boolean;
  /** How the body is meant to be shown: PLAIN or MARKDOWN. */
  format: string;
  /** Files attached, as MessageSent records them; none once deleted. */
  attachments: Attachment[];
}

/**
 * One room event as the read side keeps it (room_events) and announces it: its type, who and
 * when, and what it says beyond the envelope. A MessageSent carries the whole message.
 */
export interface RoomEventView {
  roomId: string;
  revision: number;
  type: string;
  actorId: string;
  /** epoch milliseconds */
  occurredAt: number;
  /** The event's own fields (messageId, userId, role, name, topic, emoji, upTo…). */
  data: Record<string, unknown>;
  /** With MessageSent: the message as history has it. */
  message?: MessageView;
}

/**
 * What the projector publishes after each commit: one per room event, on the room's channel;
 * and, on a user's own channel, the events that bring them into a room they are not in yet
 * (an invitation, being added to a direct room). A channel's message is a JSON array of them,
 * in order: all that a commit brought that channel.
 */
export interface LiveNotification {
  kind: 'room-event';
  event: RoomEventView;
  /** Set on a user-channel copy: whom it is for. */
  forUser?: string;
  /** W3C trace context (traceparent, tracestate) of its publish: the query service's delivery continues that trace. */
  trace?: Record<string, string>;
}

export function userChannel(redisPrefix: string, userId: string): string {
  return `${redisPrefix}user:${userId}`;
}

export function roomChannel(redisPrefix: string, roomId: string): string {
  return `${redisPrefix}room:${roomId}`;
}

/**
 * Postgres NOTIFY channel on which the projector announces, inside each transaction, how far
 * the partitions it wrote are projected (a JSON array of ProjectionProgress); command services
 * wait on it for read-your-writes.
 */
export const PROJECTION_CHANNEL = 'chat_projection';

export interface ProjectionProgress {
  topic: string;
  partition: number;
  /** Every offset below this one is in the read models. */
  nextOffset: string;
}
