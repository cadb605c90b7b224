import { mentionedNames, type LiveNotification, type MessageView, type RoomDomainEvent, type RoomEventView } from '@chat/schemas';

// The effect of a batch of events on the read models, computed without I/O: which rows to
// insert, each room's new last sequence and revision, what to report as a fault, and what to
// announce once the batch commits. Every room's messages get consecutive sequences with no
// gaps, in log order. Revisions are the log's own numbering of a room's events: the event
// already applied at a revision, seen again, is a replay and changes nothing; another event at
// a revision already applied means two writers wrote one revision, which no replay explains: the
// plan stops there (a conflict) rather than skip an acknowledged event. One that skips ahead is
// applied (the log is the truth) and reported, never renumbered.
//
// A message belongs to its room: every change is planned by (room, message id), so an event
// of one room naming another room's message changes nothing there. A deleted message takes
// what it said with it: its body, every edit's text, its reactions and mentions.

export interface RoomRow {
  roomId: string;
  name: string;
  topic: string | null;
  visibility: string;
  kind: string;
  createdBy: string;
  createdAt: number;
}

/** Where a membership ends up after the batch: (re)joined with a role, a new role only, or gone. */
export type Membership =
  | { roomId: string; userId: string; change: 'joined'; role: string; joinedAt: number }
  | { roomId: string; userId: string; change: 'role'; role: string }
  | { roomId: string; userId: string; change: 'gone' };

/** Where an invitation ends up after the batch: open, or gone (accepted by joining, or the user left). */
export type Invitation =
  | { roomId: string; userId: string; change: 'invited'; invitedBy: string; invitedAt: number }
  | { roomId: string; userId: string; change: 'gone' };

/** A room's name or topic after the batch, where an event changed it. */
export interface RoomUpdate {
  name?: string;
  topic?: string | null;
  retentionDays?: number | null;
}

export interface MessageRow extends MessageView {
  eventId: string;
  revision: number;
  /** The share its content was sealed with (schemas/src/content.ts): erased with the message. */
  contentShare: string | null;
}

export interface PlannedRecord {
  offset: string;
  event: RoomDomainEvent;
}

export interface Fault {
  offset: string;
  roomId: string;
  kind: 'revision-gap' | 'revision-replayed';
  detail: string;
}

/** Two different events at one room revision: the partition must stop before `offset`. */
export interface Conflict {
  offset: string;
  roomId: string;
  detail: string;
}

export interface KnownState {
  /** Last sequence per room already in the read model (absent = no messages yet). */
  lastSequence: ReadonlyMap<string, number>;
  /** Last revision per room already in the read model (absent = none yet). */
  revision: ReadonlyMap<string, number>;
  /**
   * The event id stored at each (room, revision) of the batch that the room has already passed,
   * by `revisionKey` (absent: projected before event ids were kept, or never applied).
   */
  eventIds?: ReadonlyMap<string, string>;
  /** User ids by username key, for the names the batch's messages mention (members or not). */
  usersByName?: ReadonlyMap<string, string>;
  /**
   * Re-driving dead letters: an event the room has moved past was never applied (it was set
   * aside), so it applies now, in its place in room_events, without moving the room back.
   */
  redrive?: boolean;
  /**
   * Re-driving: the letters (by `revisionKey`) whose effect a later, applied event of their
   * room overrides (see `overriddenBy`): they take their place in room_events only.
   */
  superseded?: ReadonlySet<string>;
}

/** Which later events of the room override an event's effect, as room_events rows they would be. */
export interface Overrides {
  types: readonly RoomDomainEvent['type'][];
  /** Set: only events about this member (data.userId), message (data.messageId), emoji (data.emoji) or by this actor count. */
  userId?: string;
  messageId?: string;
  emoji?: string;
  actorId?: string;
}

const MEMBERSHIP = ['MemberJoined', 'MemberLeft', 'MemberRemoved', 'MemberErased'] as const;

/**
 * What overrides `event` when it is applied late (a dead letter re-driven after the room went
 * on): a later rename overrides a rename, a later change of a member's membership (or role) a
 * change of the same member, a later edit or deletion of a message an edit, a later reaction
 * of the same person with the same emoji on the same message a reaction. Undefined: nothing
 * later can undo it (a room's creation, a message, a deletion, a read marker, which only moves
 * forward), so it always applies.
 */
export function overriddenBy(event: RoomDomainEvent): Overrides | undefined {
  switch (event.type) {
    case 'RoomRenamed':
    case 'RoomTopicChanged':
    case 'RoomRetentionSet':
      return { types: [event.type] };
    case 'MemberJoined':
    case 'MemberLeft':
    case 'MemberRemoved':
      return { types: MEMBERSHIP, userId: event.userId };
    case 'MemberRoleChanged':
      return { types: [...MEMBERSHIP, 'MemberRoleChanged'], userId: event.userId };
    case 'MemberInvited':
      return { types: [...MEMBERSHIP, 'MemberInvited'], userId: event.userId };
    case 'MessageEdited':
      return { types: ['MessageEdited', 'MessageDeleted'], messageId: event.messageId };
    case 'ReactionAdded':
    case 'ReactionRemoved':
      return { types: ['ReactionAdded', 'ReactionRemoved'], messageId: event.messageId, emoji: event.emoji, actorId: event.actorId };
    default:
      return undefined;
  }
}

/** A reaction after the batch: there, or taken back. */
export type Reaction =
  | { roomId: string; messageId: string; userId: string; emoji: string; change: 'added'; at: number }
  | { roomId: string; messageId: string; userId: string; emoji: string; change: 'removed' };

/** A message of a room: what every change of a message is keyed by. */
export interface MessageKey {
  roomId: string;
  messageId: string;
}

/** The text of one edit, kept for replays (roomEvents) until its message is deleted. */
export interface EditText extends MessageKey {
  revision: number;
  body: string;
  /** The share the edit was sealed with: erased with its message. */
  contentShare: string | null;
}

export interface BatchPlan {
  rooms: RoomRow[];
  /** Final state of each membership the batch touched, by room and user. */
  memberships: Map<string, Membership>;
  invitations: Map<string, Invitation>;
  roomUpdates: Map<string, RoomUpdate>;
  messages: MessageRow[];
  /** Each edited message's last body in the batch, by `messageKey`. */
  edits: Map<string, MessageKey & { body: string; editedAt: number }>;
  /** Every edit's text, for replays, unless its message was deleted later in the batch. */
  editTexts: EditText[];
  /** Messages deleted in the batch, and when, by `messageKey`. */
  deletes: Map<string, MessageKey & { at: number }>;
  /**
   * Members who deleted their account (MemberErased), in log order: everything they wrote in
   * the room becomes a tombstone of that time, after the rest of the batch is written.
   */
  erasures: { roomId: string; userId: string; at: number }[];
  /** Rooms whose retention passed (RoomHistoryExpired), in log order: messages sent before `before` become tombstones of `at`. */
  expiries: { roomId: string; before: number; at: number }[];
  /**
   * Content shares to erase beside those the read model holds for the deleted messages: those
   * of edits the batch both made and deleted, which never reach message_edits.
   */
  erasedShares: string[];
  reactions: Map<string, Reaction>;
  /** Each member's read marker after the batch (the highest seen), by room and user. */
  readMarkers: Map<string, { roomId: string; userId: string; upTo: number }>;
  /** Members named in the batch's messages. */
  mentions: { messageId: string; roomId: string; sequence: number; userId: string }[];
  /** Every applied event with a revision, for the per-room event history (room_events) and live delivery. */
  roomEvents: RoomEventView[];
  /** New last activity of every room that got a message. */
  lastActivity: Map<string, number>;
  /** New last sequence of every room that got messages. */
  lastSequence: Map<string, number>;
  /** New revision of every room that got an event with one. */
  revision: Map<string, number>;
  /** The event applied at each (room, revision) of the batch, by `revisionKey`. */
  eventIds: Map<string, string>;
  faults: Fault[];
  /** Set when the batch met another event at a revision already applied: planning stopped there. */
  conflict?: Conflict;
  notifications: LiveNotification[];
}

export function planBatch(records: readonly PlannedRecord[], known: KnownState): BatchPlan {
  const plan: BatchPlan = {
    rooms: [],
    memberships: new Map(),
    invitations: new Map(),
    roomUpdates: new Map(),
    messages: [],
    edits: new Map(),
    editTexts: [],
    erasedShares: [],
    deletes: new Map(),
    erasures: [],
    expiries: [],
    reactions: new Map(),
    readMarkers: new Map(),
    mentions: [],
    lastActivity: new Map(),
    roomEvents: [],
    lastSequence: new Map(),
    revision: new Map(),
    eventIds: new Map(),
    faults: [],
    notifications: [],
  };
  for (const { offset, event } of records) {
    if (!followsRevision(plan, known, offset, event)) {
      if (plan.conflict) break;
      continue;
    }
    if (known.superseded?.has(revisionKey(event.roomId, event.revision))) {
      // History only: its effect was overridden by a later event the room already shows.
      plan.roomEvents.push(roomEventView(event, undefined, []));
      continue;
    }
    const { roomId } = event;
    let announced: MessageView | undefined;
    const mentioned: string[] = [];
    switch (event.type) {
      case 'RoomCreated':
        plan.rooms.push({
          roomId,
          name: event.name,
          topic: event.topic,
          visibility: event.visibility,
          kind: event.kind,
          createdBy: event.actorId,
          createdAt: event.occurredAt,
        });
        joined(plan, roomId, event.actorId, 'OWNER', event.occurredAt);
        break;
      case 'RoomRenamed':
        plan.roomUpdates.set(roomId, { ...plan.roomUpdates.get(roomId), name: event.name });
        break;
      case 'RoomTopicChanged':
        plan.roomUpdates.set(roomId, { ...plan.roomUpdates.get(roomId), topic: event.topic });
        break;
      case 'RoomRetentionSet':
        plan.roomUpdates.set(roomId, { ...plan.roomUpdates.get(roomId), retentionDays: event.days });
        break;
      case 'RoomHistoryExpired':
        plan.expiries.push({ roomId, before: event.before, at: event.erasedAt });
        break;
      case 'MemberInvited':
        plan.invitations.set(key(roomId, event.userId), {
          roomId,
          userId: event.userId,
          change: 'invited',
          invitedBy: event.actorId,
          invitedAt: event.occurredAt,
        });
        break;
      case 'MemberJoined':
        joined(plan, roomId, event.userId, event.role, event.occurredAt);
        break;
      case 'MemberLeft':
      case 'MemberRemoved':
        plan.memberships.set(key(roomId, event.userId), { roomId, userId: event.userId, change: 'gone' });
        break;
      case 'MemberErased':
        plan.memberships.set(key(roomId, event.userId), { roomId, userId: event.userId, change: 'gone' });
        plan.invitations.set(key(roomId, event.userId), { roomId, userId: event.userId, change: 'gone' });
        plan.erasures.push({ roomId, userId: event.userId, at: event.erasedAt });
        break;
      case 'MemberRoleChanged': {
        const k = key(roomId, event.userId);
        const before = plan.memberships.get(k);
        plan.memberships.set(
          k,
          before?.change === 'joined'
            ? { ...before, role: event.role }
            : { roomId, userId: event.userId, change: 'role', role: event.role },
        );
        break;
      }
      case 'MessageSent': {
        const sequence = (plan.lastSequence.get(roomId) ?? known.lastSequence.get(roomId) ?? 0) + 1;
        plan.lastSequence.set(roomId, sequence);
        const message: MessageRow = {
          roomId,
          sequence,
          messageId: event.messageId,
          senderId: event.actorId,
          clientMessageId: event.commandId ?? event.messageId,
          body: event.body,
          sentAt: event.occurredAt,
          replyTo: event.replyTo,
          editedAt: null,
          deleted: false,
          format: event.format,
          attachments: event.attachments,
          eventId: event.eventId,
          revision: event.revision,
          contentShare: event.sealed?.shareId ?? null,
        };
        plan.messages.push(message);
        plan.lastActivity.set(roomId, event.occurredAt);
        // Sending reads: your own messages never count as unread.
        moveMarker(plan, roomId, event.actorId, sequence);
        for (const name of mentionedNames(event.body)) {
          const userId = known.usersByName?.get(name);
          if (userId && userId !== event.actorId) {
            plan.mentions.push({ messageId: event.messageId, roomId, sequence, userId });
            mentioned.push(userId);
          }
        }
        const { eventId: _eventId, revision: _revision, contentShare: _share, ...view } = message;
        announced = view;
        break;
      }
      case 'MessageEdited': {
        const { messageId, body } = event;
        plan.edits.set(messageKey(roomId, messageId), { roomId, messageId, body, editedAt: event.occurredAt });
        const contentShare = event.sealed?.shareId ?? null;
        if (event.revision > 0) plan.editTexts.push({ roomId, messageId, revision: event.revision, body, contentShare });
        break;
      }
      case 'MessageDeleted': {
        const { messageId } = event;
        const k = messageKey(roomId, messageId);
        const same = (m: MessageKey) => m.roomId === roomId && m.messageId === messageId;
        plan.deletes.set(k, { roomId, messageId, at: event.occurredAt });
        // The edit's time stays (as when the delete comes in a later batch); its text goes.
        const edit = plan.edits.get(k);
        if (edit) plan.edits.set(k, { ...edit, body: '' });
        for (const e of plan.editTexts) if (same(e) && e.contentShare) plan.erasedShares.push(e.contentShare);
        plan.editTexts = plan.editTexts.filter((e) => !same(e));
        plan.mentions = plan.mentions.filter((m) => !same(m));
        for (const [rk, reaction] of plan.reactions) if (same(reaction)) plan.reactions.delete(rk);
        break;
      }
      case 'ReadMarkerMoved':
        moveMarker(plan, roomId, event.actorId, event.upTo);
        break;
      case 'ReactionAdded':
      case 'ReactionRemoved': {
        const { messageId, actorId: userId, emoji } = event;
        plan.reactions.set(
          `${messageKey(roomId, messageId)}\u0000${userId}\u0000${emoji}`,
          event.type === 'ReactionAdded'
            ? { roomId, messageId, userId, emoji, change: 'added', at: event.occurredAt }
            : { roomId, messageId, userId, emoji, change: 'removed' },
        );
        break;
      }
    }
    if (event.revision > 0) {
      const view = roomEventView(event, announced, mentioned);
      plan.roomEvents.push(view);
      plan.notifications.push({ kind: 'room-event', event: view });
      // Invited to a room, or in one now (joined, or added to a direct room): they may not be
      // following it yet, so tell them on their own channel too.
      if (event.type === 'MemberInvited' || event.type === 'MemberJoined') {
        plan.notifications.push({ kind: 'room-event', event: view, forUser: event.userId });
      }
    }
  }
  return plan;
}

/**
 * An event as room_events stores it: without the message it announces and without an edit's
 * text (in message_edits, which a deletion empties), so that no row of room_events ever holds
 * what a message said. The live view keeps both: it goes out once, as it happens.
 */
export function storedRoomEvent({ message: _message, ...event }: RoomEventView): Omit<RoomEventView, 'message'> {
  if (event.type !== 'MessageEdited' || !('body' in event.data)) return event;
  const { body: _body, ...data } = event.data;
  return { ...event, data };
}

export function messageKey(roomId: string, messageId: string): string {
  return `${roomId}\u0000${messageId}`;
}

/** The event as its live view has it: the envelope apart, its own fields as data (a message's body lives in messages). */
function roomEventView(event: RoomDomainEvent, message: MessageView | undefined, mentioned: string[]): RoomEventView {
  const { type, roomId, revision, actorId, occurredAt, eventId: _id, commandId: _key, ...fields } = event;
  const data: Record<string, unknown> = fields;
  // Sealed content is opened into the fields above; its ciphertext and key ids are the log's alone.
  delete data.sealed;
  if (type === 'MessageSent') {
    // Like the body, its files are the message's: in messages, which a deletion empties.
    delete data.body;
    delete data.attachments;
    // Members named in it (whether or not they are still members is the reader's to check).
    if (mentioned.length) data.mentions = mentioned;
  }
  return { roomId, revision, type, actorId, occurredAt, data, ...(message ? { message } : {}) };
}

export function revisionKey(roomId: string, revision: number): string {
  return `${roomId}\u0000${revision}`;
}

/** Checks the event's revision against the room's; false when it was applied before, or conflicts (`plan.conflict`). */
function followsRevision(plan: BatchPlan, known: KnownState, offset: string, event: RoomDomainEvent): boolean {
  if (event.revision === 0) return true; // written before revisions existed
  const at = revisionKey(event.roomId, event.revision);
  const last = plan.revision.get(event.roomId) ?? known.revision.get(event.roomId) ?? 0;
  if (event.revision <= last && known.redrive) return applied(plan, at, event);
  if (event.revision <= last) {
    const seen = plan.eventIds.get(at) ?? known.eventIds?.get(at);
    if (seen !== undefined && seen !== event.eventId) {
      plan.conflict = {
        offset,
        roomId: event.roomId,
        detail: `revision ${event.revision} holds event ${seen}; event ${event.eventId} claims it too`,
      };
      return false;
    }
    plan.faults.push({
      offset,
      roomId: event.roomId,
      kind: 'revision-replayed',
      detail: `revision ${event.revision} after ${last}: skipped`,
    });
    return false;
  }
  if (event.revision > last + 1) {
    plan.faults.push({ offset, roomId: event.roomId, kind: 'revision-gap', detail: `revision ${event.revision} after ${last}: applied` });
  }
  plan.revision.set(event.roomId, event.revision);
  return applied(plan, at, event);
}

function applied(plan: BatchPlan, at: string, event: RoomDomainEvent): true {
  plan.eventIds.set(at, event.eventId);
  return true;
}

/** Markers only move forward (the writer clamps them to the room's last sequence). */
function moveMarker(plan: BatchPlan, roomId: string, userId: string, upTo: number): void {
  const k = key(roomId, userId);
  const before = plan.readMarkers.get(k);
  if (!before || before.upTo < upTo) plan.readMarkers.set(k, { roomId, userId, upTo });
}

function key(roomId: string, userId: string): string {
  return `${roomId}\u0000${userId}`;
}

/** A user (re)joins: the membership row is theirs with this role from now, and any invitation is used up. */
function joined(plan: BatchPlan, roomId: string, userId: string, role: string, at: number): void {
  const k = key(roomId, userId);
  plan.memberships.set(k, { roomId, userId, change: 'joined', role, joinedAt: at });
  plan.invitations.set(k, { roomId, userId, change: 'gone' });
}
