import { PAGE_SIZES, roomCursor } from '@chat/platform';
import type { MemberView, RoomView } from '../adapters/read-models.ts';
import { UUID, builder, clientError, requireUser, type Context } from './builder.ts';
import { MessageRef } from './message-ref.ts';
import { PER_VIEWER } from './shared-execution.ts';
import { UserRef } from './users.ts';

// Rooms as their members and visitors see them: public rooms are visible to anyone signed in,
// private and direct rooms only to their members (and to the invited, who see the room they
// are invited to). Members come as a Relay connection in user-id order.

const MAX_PAGE = 100;

const VisibilityEnum = builder.enumType('Visibility', { values: ['PUBLIC', 'PRIVATE'] as const });
const RoomKindEnum = builder.enumType('RoomKind', { values: ['GROUP', 'DIRECT'] as const });
const RoleEnum = builder.enumType('Role', { values: ['OWNER', 'ADMIN', 'MEMBER'] as const });

const MemberRef = builder.objectRef<MemberView>('Member').implement({
  fields: (t) => ({
    userId: t.exposeID('userId'),
    user: t.field({ type: UserRef, nullable: true, resolve: (m, _args, ctx) => ctx.loaders.users.load(m.userId) }),
    role: t.field({ type: RoleEnum, resolve: (m) => m.role }),
    joinedAt: t.string({ resolve: (m) => new Date(m.joinedAt).toISOString() }),
  }),
});

const MemberEdgeRef = builder.objectRef<{ cursor: string; node: MemberView }>('MemberEdge').implement({
  fields: (t) => ({ cursor: t.exposeString('cursor'), node: t.field({ type: MemberRef, resolve: (e) => e.node }) }),
});

const MemberPageInfoRef = builder
  .objectRef<{ startCursor: string | null; endCursor: string | null; hasPreviousPage: boolean; hasNextPage: boolean }>('MemberPageInfo')
  .implement({
    fields: (t) => ({
      startCursor: t.exposeString('startCursor', { nullable: true }),
      endCursor: t.exposeString('endCursor', { nullable: true }),
      hasPreviousPage: t.exposeBoolean('hasPreviousPage'),
      hasNextPage: t.exposeBoolean('hasNextPage'),
    }),
  });

const MemberConnectionRef = builder
  .objectRef<{
    edges: { cursor: string; node: MemberView }[];
    pageInfo: { startCursor: string | null; endCursor: string | null; hasPreviousPage: boolean; hasNextPage: boolean };
  }>('MemberConnection')
  .implement({
    fields: (t) => ({
      edges: t.field({ type: [MemberEdgeRef], resolve: (c) => c.edges }),
      pageInfo: t.field({ type: MemberPageInfoRef, resolve: (c) => c.pageInfo }),
    }),
  });

export const RoomRef = builder.objectRef<RoomView>('Room').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name', { description: 'Empty for a direct room: show the other member instead.' }),
    topic: t.exposeString('topic', { nullable: true }),
    retentionDays: t.exposeInt('retentionDays', {
      nullable: true,
      description: 'Days of history the room keeps (its owners set it); older messages are erased. Null keeps everything.',
    }),
    visibility: t.field({ type: VisibilityEnum, resolve: (room) => room.visibility }),
    kind: t.field({ type: RoomKindEnum, resolve: (room) => room.kind }),
    createdBy: t.exposeID('createdBy'),
    createdAt: t.field({ type: 'String', resolve: (room) => new Date(room.createdAt).toISOString() }),
    lastSequence: t.exposeInt('lastSequence', { description: 'Sequence of the newest message; 0 when there is none.' }),
    // The room row and its room_events are written in one projector transaction, so this
    // revision never names an event that roomEvents cannot replay. Not secret: whoever may
    // see the room may see how far it has come, as with lastSequence.
    eventCursor: t.string({
      description:
        "The cursor of the room's latest change as this answer read it; roomEvents(after:) with it delivers every change after what this answer shows, with no gap.",
      resolve: (room) => roomCursor('event', room.id, room.revision),
    }),
    unreadCount: t.int({
      extensions: PER_VIEWER,
      description: "Messages after the caller's read marker (0 for visitors).",
      resolve: async (room, _args, ctx) => (await ctx.loaders.unread.load(`${room.id} ${requireUser(ctx)}`)).messages,
    }),
    unreadMentions: t.int({
      extensions: PER_VIEWER,
      description: "Messages after the caller's read marker that mention them, counted apart.",
      resolve: async (room, _args, ctx) => (await ctx.loaders.unread.load(`${room.id} ${requireUser(ctx)}`)).mentions,
    }),
    lastMessage: t.field({
      extensions: PER_VIEWER,
      type: MessageRef,
      nullable: true,
      description: 'The newest message (members only).',
      resolve: async (room, _args, ctx) => ((await standing(ctx, room.id)).role ? ctx.loaders.lastMessages.load(room.id) : null),
    }),
    myRole: t.field({
      extensions: PER_VIEWER,
      type: RoleEnum,
      nullable: true,
      description: "The caller's role; null when not a member.",
      resolve: async (room, _args, ctx) => (await standing(ctx, room.id)).role,
    }),
    members: t.field({
      extensions: PER_VIEWER,
      type: MemberConnectionRef,
      nullable: true,
      description: 'Members in user-id order: forward with first/after, backward with last/before. Null unless you are a member.',
      args: { first: t.arg.int(), after: t.arg.string(), last: t.arg.int(), before: t.arg.string() },
      resolve: async (room, args, ctx) => {
        if (!(await standing(ctx, room.id)).role) return null;
        const backward = args.last != null || args.before != null;
        if (backward && (args.first != null || args.after != null)) {
          throw clientError('INVALID_INPUT', 'page forward (first/after) or backward (last/before), not both');
        }
        const limit = pageSize(backward ? 'last' : 'first', (backward ? args.last : args.first) ?? PAGE_SIZES.default);
        const rows = await ctx.readModels.members(room.id, {
          after: args.after ?? null,
          before: args.before ?? null,
          limit: limit + 1,
          backward,
        });
        const more = rows.length > limit;
        const page = backward ? rows.slice(-limit) : rows.slice(0, limit);
        return {
          edges: page.map((node) => ({ cursor: node.userId, node })),
          pageInfo: {
            startCursor: page[0]?.userId ?? null,
            endCursor: page.at(-1)?.userId ?? null,
            hasPreviousPage: backward ? more : args.after != null,
            hasNextPage: backward ? args.before != null : more,
          },
        };
      },
    }),
  }),
});

const InvitationRef = builder.objectRef<{ roomId: string; invitedBy: string; invitedAt: number }>('Invitation').implement({
  fields: (t) => ({
    room: t.field({ type: RoomRef, nullable: true, resolve: (i, _args, ctx) => ctx.loaders.rooms.load(i.roomId) }),
    invitedBy: t.field({ type: UserRef, nullable: true, resolve: (i, _args, ctx) => ctx.loaders.users.load(i.invitedBy) }),
    invitedAt: t.string({ resolve: (i) => new Date(i.invitedAt).toISOString() }),
  }),
});

/** The caller's role in a room and whether they are invited, read once per request and room. */
function standing(ctx: Context, roomId: string) {
  let known = ctx.standing.get(roomId);
  if (!known) {
    known = ctx.readModels.standing(roomId, requireUser(ctx));
    ctx.standing.set(roomId, known);
  }
  return known;
}

function pageSize(name: string, value: number): number {
  if (value < 1 || value > MAX_PAGE) throw clientError('INVALID_INPUT', `${name} must be 1 to ${MAX_PAGE}`);
  return value;
}

function checkSearch(search: string | null | undefined): string | null {
  if (search == null || search.trim() === '') return null;
  if (search.length > 100 || !search.isWellFormed() || /[\u0000-\u001F\u007F-\u009F]/.test(search)) {
    throw clientError('INVALID_INPUT', 'search must be plain text of at most 100 characters');
  }
  return search.trim();
}

/** Public-room cursors: the (lower-cased name, id) of the last room seen, opaque to clients. */
function encodeRoomCursor(room: RoomView): string {
  return Buffer.from(JSON.stringify([room.name.toLowerCase(), room.id])).toString('base64url');
}

function decodeRoomCursor(cursor: string | null | undefined): [string, string] | null {
  if (cursor == null) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString());
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string' && UUID.test(value[1])) {
      return [value[0], value[1]];
    }
  } catch {
    // fall through
  }
  throw clientError('INVALID_INPUT', 'after is not a cursor of this list');
}

/** myRooms cursors: the (last activity, id) of the last room seen, opaque to clients. */
function decodeActivityCursor(cursor: string | null | undefined): [number, string] | null {
  if (cursor == null) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString());
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'number' && typeof value[1] === 'string' && UUID.test(value[1])) {
      return [value[0], value[1]];
    }
  } catch {
    // fall through
  }
  throw clientError('INVALID_INPUT', 'after is not a cursor of this list');
}

const RoomEdgeRef = builder.objectRef<{ cursor: string; node: RoomView }>('RoomEdge').implement({
  fields: (t) => ({ cursor: t.exposeString('cursor'), node: t.field({ type: RoomRef, resolve: (e) => e.node }) }),
});

const RoomConnectionRef = builder
  .objectRef<{ edges: { cursor: string; node: RoomView }[]; hasNextPage: boolean; endCursor: string | null }>('RoomConnection')
  .implement({
    fields: (t) => ({
      edges: t.field({ type: [RoomEdgeRef], resolve: (c) => c.edges }),
      hasNextPage: t.exposeBoolean('hasNextPage'),
      endCursor: t.exposeString('endCursor', { nullable: true }),
    }),
  });

builder.queryFields((t) => ({
  room: t.field({
    type: RoomRef,
    nullable: true,
    description: 'A public room, or one you are a member of or invited to; null otherwise (private rooms are invisible to others).',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      requireUser(ctx);
      const id = args.id.toString();
      if (!UUID.test(id)) throw clientError('INVALID_INPUT', 'id must be a UUID');
      const room = await ctx.loaders.rooms.load(id);
      if (!room) return null;
      if (room.visibility === 'PUBLIC' && room.kind === 'GROUP') return room;
      const { role, invited } = await standing(ctx, id);
      return role || invited ? room : null;
    },
  }),
  publicRooms: t.field({
    type: RoomConnectionRef,
    description: 'Public rooms by name; `search` matches any part of the name, ignoring case.',
    args: { search: t.arg.string(), first: t.arg.int(), after: t.arg.string() },
    resolve: async (_root, args, ctx) => {
      requireUser(ctx);
      const first = pageSize('first', args.first ?? PAGE_SIZES.default);
      const rows = await ctx.readModels.publicRooms(checkSearch(args.search), decodeRoomCursor(args.after), first + 1);
      const page = rows.slice(0, first);
      for (const room of page) ctx.loaders.rooms.prime(room.id, room);
      return {
        edges: page.map((node) => ({ cursor: encodeRoomCursor(node), node })),
        hasNextPage: rows.length > first,
        endCursor: page.length ? encodeRoomCursor(page.at(-1)!) : null,
      };
    },
  }),
  myRooms: t.field({
    type: RoomConnectionRef,
    description: "The caller's rooms, newest activity first, with unread counts and last messages on each Room.",
    args: { first: t.arg.int(), after: t.arg.string() },
    resolve: async (_root, args, ctx) => {
      const first = pageSize('first', args.first ?? PAGE_SIZES.default);
      const rows = await ctx.readModels.myRooms(requireUser(ctx), decodeActivityCursor(args.after), first + 1);
      const page = rows.slice(0, first);
      for (const room of page) ctx.loaders.rooms.prime(room.id, room);
      const cursor = (room: (typeof page)[number]) => Buffer.from(JSON.stringify([room.activityAt, room.id])).toString('base64url');
      return {
        edges: page.map((node) => ({ cursor: cursor(node), node })),
        hasNextPage: rows.length > first,
        endCursor: page.length ? cursor(page.at(-1)!) : null,
      };
    },
  }),
  myInvitations: t.field({
    type: [InvitationRef],
    description: 'Rooms you are invited to and have not joined yet, newest first.',
    resolve: (_root, _args, ctx) => ctx.readModels.invitationsOf(requireUser(ctx)),
  }),
}));
