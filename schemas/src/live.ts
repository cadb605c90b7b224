// What the projector publishes on Redis after each commit, and what the query service reads:
// the one contract between them besides the Postgres tables.

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
}

export type LiveNotification =
  | { kind: 'message'; message: MessageView }
  | { kind: 'member-joined'; roomId: string; userId: string }
  | { kind: 'member-left'; roomId: string; userId: string };

export function roomChannel(redisPrefix: string, roomId: string): string {
  return `${redisPrefix}room:${roomId}`;
}

export function roomChannelPattern(redisPrefix: string): string {
  return `${redisPrefix}room:*`;
}

/**
 * Postgres NOTIFY channel on which the projector announces, inside each batch's transaction,
 * how far a partition is projected; command services wait on it for read-your-writes.
 */
export const PROJECTION_CHANNEL = 'chat_projection';

export interface ProjectionProgress {
  topic: string;
  partition: number;
  /** Every offset below this one is in the read models. */
  nextOffset: string;
}
