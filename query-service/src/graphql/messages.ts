import { PAGE_SIZES, roomCursor } from '@chat/platform';
import { SEARCH_DEFAULT_PAGE } from './admission.ts';
import type { MessageView } from '@chat/schemas';
import { NoLongerMemberError, liveMessages } from '../app/live-messages.ts';
import { RoomRef } from './rooms.ts';
import { reactionsKey, type ReactionView } from '../adapters/read-models.ts';
import { UUID, builder, clientError, cursorIn, passThrough, requireMember, requireUser, type Context } from './builder.ts';
import { MessageRef, messageIn } from './message-ref.ts';
import { AttachmentRef, attachmentsOf } from './attachments.ts';
import { PER_VIEWER, SHARES_EXECUTION } from './shared-execution.ts';
import { UserRef } from './users.ts';

const MAX_PAGE = 200;

const ReactionRef = builder.objectRef<ReactionView>('Reaction').implement({
  fields: (t) => ({
    emoji: t.exposeString('emoji'),
    count: t.exposeInt('count'),
    me: t.boolean({
      description: 'Whether the caller reacted with this emoji.',
      extensions: PER_VIEWER,
      resolve: (r, _args, ctx) => r.userIds.includes(requireUser(ctx)),
    }),
  }),
});

const MessageFormatRef = builder.enumType('MessageFormat', {
  description: 'How a message body is meant to be shown.',
  values: { PLAIN: { description: 'As it is.' }, MARKDOWN: { description: 'As Markdown (CommonMark).' } },
});

MessageRef.implement({
  fields: (t) => ({
    id: t.exposeID('messageId'),
    roomId: t.exposeID('roomId'),
    sequence: t.exposeInt('sequence', { description: "Position in the room's history: 1, 2, 3… with no gaps." }),
    cursor: t.string({
      description: 'Where it sits in its room, for `after`/`before`, `messageAdded(after:)` and `markRead(upTo:)`.',
      resolve: (m) => roomCursor('message', m.roomId, m.sequence),
    }),
    senderId: t.exposeID('senderId'),
    sender: t.field({ type: UserRef, nullable: true, resolve: (m, _args, ctx) => ctx.loaders.users.load(m.senderId) }),
    clientMessageId: t.exposeID('clientMessageId'),
    body: t.exposeString('body', { description: 'Empty once deleted.' }),
    sentAt: t.string({ resolve: (m) => new Date(m.sentAt).toISOString() }),
    editedAt: t.string({ nullable: true, resolve: (m) => (m.editedAt === null ? null : new Date(m.editedAt).toISOString()) }),
    deleted: t.exposeBoolean('deleted'),
    format: t.field({ type: MessageFormatRef, resolve: (m) => (m.format === 'MARKDOWN' ? 'MARKDOWN' : 'PLAIN') }),
    replyTo: t.field({
      type: MessageRef,
      nullable: true,
      description: 'The message this one answers, if any (as it is now: empty once deleted).',
      resolve: (m, _args, ctx) => (m.replyTo === null ? null : messageIn(ctx, m.roomId, m.replyTo)),
    }),
    reactions: t.field({
      type: [ReactionRef],
      description: 'Reactions by emoji, in the order first used.',
      resolve: (m, _args, ctx) => (m.deleted ? [] : ctx.loaders.reactions.load(reactionsKey(m.roomId, m.messageId))),
    }),
    attachments: t.field({
      type: [AttachmentRef],
      description: 'Files attached, in the order sent (at most ATTACHMENTS_PER_MESSAGE); none once deleted.',
      resolve: attachmentsOf,
    }),
    room: t.field({ type: RoomRef, nullable: true, resolve: (m, _args, ctx) => ctx.loaders.rooms.load(m.roomId) }),
  }),
});

interface Edge {
  cursor: string;
  node: MessageView;
}

const EdgeRef = builder.objectRef<Edge>('MessageEdge').implement({
  fields: (t) => ({ cursor: t.exposeString('cursor'), node: t.expose('node', { type: MessageRef }) }),
});

interface PageInfo {
  startCursor: string | null;
  endCursor: string | null;
  hasPreviousPage: boolean;
  hasNextPage: boolean;
}

const PageInfoRef = builder.objectRef<PageInfo>('PageInfo').implement({
  fields: (t) => ({
    startCursor: t.exposeString('startCursor', { nullable: true }),
    endCursor: t.exposeString('endCursor', { nullable: true }),
    hasPreviousPage: t.exposeBoolean('hasPreviousPage'),
    hasNextPage: t.exposeBoolean('hasNextPage'),
  }),
});

const ConnectionRef = builder.objectRef<{ edges: Edge[]; pageInfo: PageInfo }>('MessageConnection').implement({
  fields: (t) => ({
    edges: t.expose('edges', { type: [EdgeRef] }),
    pageInfo: t.expose('pageInfo', { type: PageInfoRef }),
  }),
});

function pageSize(name: string, value: number): number {
  if (value < 1 || value > MAX_PAGE) throw clientError('INVALID_INPUT', `${name} must be 1 to ${MAX_PAGE}`);
  return value;
}

function connection(page: MessageView[], info: Pick<PageInfo, 'hasPreviousPage' | 'hasNextPage'>) {
  return {
    edges: page.map((node) => ({ cursor: roomCursor('message', node.roomId, node.sequence), node })),
    pageInfo: {
      startCursor: page.length ? roomCursor('message', page[0]!.roomId, page[0]!.sequence) : null,
      endCursor: page.length ? roomCursor('message', page.at(-1)!.roomId, page.at(-1)!.sequence) : null,
      ...info,
    },
  };
}

builder.queryFields((t) => ({
  messages: t.field({
    type: ConnectionRef,
    description:
      "A room's history, oldest first in every page. Forward with `first`/`after` (from the beginning by default); " +
      'backward with `last`/`before`, e.g. `last: 50` for the newest 50, then `before: startCursor` for older ones.',
    args: {
      roomId: t.arg.id({ required: true }),
      first: t.arg.int(),
      after: t.arg.string(),
      last: t.arg.int(),
      before: t.arg.string(),
    },
    resolve: (_root, args, ctx) => historyPage(ctx, args.roomId.toString(), args),
  }),
}));

const SearchHitRef = builder.objectRef<{ cursor: string; node: MessageView; rank: number }>('SearchHit').implement({
  fields: (t) => ({
    cursor: t.exposeString('cursor'),
    rank: t.exposeFloat('rank', { description: 'How well it matches; higher is better.' }),
    node: t.field({ type: MessageRef, resolve: (hit) => hit.node }),
  }),
});

const SearchResultsRef = builder
  .objectRef<{ edges: { cursor: string; node: MessageView; rank: number }[]; hasNextPage: boolean; endCursor: string | null }>(
    'SearchResults',
  )
  .implement({
    fields: (t) => ({
      edges: t.field({ type: [SearchHitRef], resolve: (r) => r.edges }),
      hasNextPage: t.exposeBoolean('hasNextPage'),
      endCursor: t.exposeString('endCursor', { nullable: true }),
    }),
  });

function decodeSearchCursor(cursor: string | null | undefined): [number, string] | null {
  if (cursor == null) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString());
    if (Array.isArray(value) && typeof value[0] === 'number' && typeof value[1] === 'string' && UUID.test(value[1]))
      return [value[0], value[1]];
  } catch {
    // fall through
  }
  throw clientError('INVALID_INPUT', 'after is not a cursor of these results');
}

interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/** A page of a room's history, for members. One rule for `messages` and `Room.messages`. */
async function historyPage(ctx: Context, roomId: string, args: PageArgs) {
  await requireMember(ctx, roomId);
  const backward = args.last != null || args.before != null;
  if (backward && (args.first != null || args.after != null)) {
    throw clientError('INVALID_INPUT', 'page forward (first/after) or backward (last/before), not both');
  }
  // One extra row tells whether another page follows; sequences have no gaps, so a
  // cursor past 0 means there are messages on its other side.
  if (backward) {
    const last = pageSize('last', args.last ?? PAGE_SIZES.default);
    const before = cursorIn('message', roomId, 'before', args.before);
    const rows = await ctx.readModels.messagesBefore(roomId, before, last + 1);
    return connection(rows.slice(-last), { hasPreviousPage: rows.length > last, hasNextPage: before !== null });
  }
  const first = pageSize('first', args.first ?? PAGE_SIZES.default);
  const after = cursorIn('message', roomId, 'after', args.after) ?? 0;
  const rows = await ctx.readModels.messagesAfter(roomId, after, first + 1);
  return connection(rows.slice(0, first), { hasPreviousPage: after > 0, hasNextPage: rows.length > first });
}

builder.objectField(RoomRef, 'messages', (t) =>
  t.field({
    type: ConnectionRef,
    description: 'Its history, as the top-level `messages` (members only).',
    args: { first: t.arg.int(), after: t.arg.string(), last: t.arg.int(), before: t.arg.string() },
    resolve: (room, args, ctx) => historyPage(ctx, room.id, args),
  }),
);

builder.queryFields((t) => ({
  searchMessages: t.field({
    type: SearchResultsRef,
    description:
      'Messages of your rooms matching words ("quoted phrases" and -excluded words work), best match first. ' +
      'The query needs at least one word that must be present (INVALID_INPUT otherwise); deleted messages never match.',
    args: { query: t.arg.string({ required: true }), first: t.arg.int(), after: t.arg.string() },
    resolve: async (_root, args, ctx) => {
      const userId = requireUser(ctx);
      const words = args.query.trim();
      if (words === '' || words.length > 200 || !words.isWellFormed() || /[\u0000-\u001F\u007F-\u009F]/.test(words)) {
        throw clientError('INVALID_INPUT', 'query must be plain text of 1 to 200 characters');
      }
      // Exclusions alone would list every message of every room of the caller's.
      if (!(await ctx.readModels.searchable(words))) {
        throw clientError('INVALID_INPUT', 'query needs at least one word to look for, not only excluded ones');
      }
      const first = pageSize('first', args.first ?? SEARCH_DEFAULT_PAGE);
      const rows = await ctx.readModels.searchMessages(userId, words, decodeSearchCursor(args.after), first + 1);
      const page = rows.slice(0, first);
      const cursor = (row: (typeof rows)[number]) => Buffer.from(JSON.stringify([row.rank, row.messageId])).toString('base64url');
      for (const { rank: _rank, ...message } of page) ctx.loaders.messages.prime(message.messageId, message);
      return {
        edges: page.map(({ rank, ...node }) => ({ cursor: cursor({ ...node, rank }), node, rank })),
        hasNextPage: rows.length > first,
        endCursor: page.length ? cursor(page.at(-1)!) : null,
      };
    },
  }),
  message: t.field({
    type: MessageRef,
    nullable: true,
    description: 'One message, for members of its room; null otherwise, as for a message that does not exist.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const userId = requireUser(ctx);
      const id = args.id.toString();
      if (!UUID.test(id)) throw clientError('INVALID_INPUT', 'id must be a UUID');
      const message = await ctx.loaders.messages.load(id);
      if (!message) return null;
      return (await ctx.readModels.isMember(message.roomId, userId)) ? message : null;
    },
  }),
}));

builder.subscriptionFields((t) => ({
  messageAdded: t.field({
    type: MessageRef,
    description:
      "A room's messages as they are sent. With `after`, first every message after that cursor, then live, with no gap and no duplicate.",
    args: {
      roomId: t.arg.id({ required: true }),
      after: t.arg.string(),
    },
    subscribe: async (_root, args, ctx) => {
      const roomId = args.roomId.toString();
      const userId = await requireMember(ctx, roomId);
      const source = {
        messagesAfter: ctx.readModels.messagesAfter.bind(ctx.readModels),
        lastSequence: ctx.readModels.lastSequence.bind(ctx.readModels),
        subscribe: ctx.fanout.subscribe.bind(ctx.fanout),
        isMember: ctx.readModels.isMember.bind(ctx.readModels),
      };
      const after = cursorIn('message', roomId, 'after', args.after);
      // A cursor past the end would silently swallow the messages up to it.
      if (after !== null && after > (await ctx.readModels.lastSequence(roomId))) {
        throw clientError('INVALID_INPUT', 'after is beyond the room’s last message');
      }
      return endsAsNotAMember(liveMessages(source, roomId, userId, after));
    },
    resolve: (message) => message,
    extensions: SHARES_EXECUTION,
  }),
}));

/** A stream that a member's leaving ends with the typed NOT_A_MEMBER error, not a masked one. */
function endsAsNotAMember<T>(stream: AsyncIterable<T>): AsyncIterableIterator<T> {
  return passThrough(stream, {
    error: (error) => (error instanceof NoLongerMemberError ? clientError('NOT_A_MEMBER', error.message) : error),
  });
}
