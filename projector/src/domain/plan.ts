import type { LiveNotification, MessageView, RoomDomainEvent } from '@chat/schemas';

// The effect of a batch of events on the read models, computed without I/O: which rows to
// insert, each room's new last sequence and revision, what to report as a fault, and what to
// announce once the batch commits. Every room's messages get consecutive sequences with no
// gaps, in log order. Revisions are the log's own numbering of a room's events: one already
// applied is a replay and changes nothing; one that skips ahead is applied (the log is the
// truth) and reported, never renumbered.

export interface RoomRow {
  roomId: string;
  name: string;
  createdBy: string;
  createdAt: number;
}

export interface MemberRow {
  roomId: string;
  userId: string;
  joinedAt: number;
}

export interface MessageRow extends MessageView {
  eventId: string;
  revision: number;
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

export interface KnownState {
  /** Last sequence per room already in the read model (absent = no messages yet). */
  lastSequence: ReadonlyMap<string, number>;
  /** Last revision per room already in the read model (absent = none yet). */
  revision: ReadonlyMap<string, number>;
}

export interface BatchPlan {
  rooms: RoomRow[];
  members: MemberRow[];
  messages: MessageRow[];
  /** New last sequence of every room that got messages. */
  lastSequence: Map<string, number>;
  /** New revision of every room that got an event with one. */
  revision: Map<string, number>;
  faults: Fault[];
  notifications: LiveNotification[];
}

export function planBatch(records: readonly PlannedRecord[], known: KnownState): BatchPlan {
  const plan: BatchPlan = {
    rooms: [],
    members: [],
    messages: [],
    lastSequence: new Map(),
    revision: new Map(),
    faults: [],
    notifications: [],
  };
  const seenMembers = new Set<string>();
  for (const { offset, event } of records) {
    if (!followsRevision(plan, known, offset, event)) continue;
    switch (event.type) {
      case 'RoomCreated':
        plan.rooms.push({ roomId: event.roomId, name: event.name, createdBy: event.actorId, createdAt: event.occurredAt });
        addMember(plan, seenMembers, event.roomId, event.actorId, event.occurredAt);
        break;
      case 'MemberJoined':
        addMember(plan, seenMembers, event.roomId, event.userId, event.occurredAt);
        break;
      case 'MessageSent': {
        const sequence = (plan.lastSequence.get(event.roomId) ?? known.lastSequence.get(event.roomId) ?? 0) + 1;
        plan.lastSequence.set(event.roomId, sequence);
        const message: MessageRow = {
          roomId: event.roomId,
          sequence,
          messageId: event.messageId,
          senderId: event.actorId,
          clientMessageId: event.commandId ?? event.messageId,
          body: event.body,
          sentAt: event.occurredAt,
          eventId: event.eventId,
          revision: event.revision,
        };
        plan.messages.push(message);
        const { eventId: _eventId, revision: _revision, ...view } = message;
        plan.notifications.push({ kind: 'message', message: view });
        break;
      }
    }
  }
  return plan;
}

/** Checks the event's revision against the room's; false when it was applied before. */
function followsRevision(plan: BatchPlan, known: KnownState, offset: string, event: RoomDomainEvent): boolean {
  if (event.revision === 0) return true; // written before revisions existed
  const last = plan.revision.get(event.roomId) ?? known.revision.get(event.roomId) ?? 0;
  if (event.revision <= last) {
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
  return true;
}

function addMember(plan: BatchPlan, seen: Set<string>, roomId: string, userId: string, at: number): void {
  const key = `${roomId}\u0000${userId}`;
  if (seen.has(key)) return;
  seen.add(key);
  plan.members.push({ roomId, userId, joinedAt: at });
  plan.notifications.push({ kind: 'member-joined', roomId, userId });
}
