import type { MessageView } from '@chat/schemas';
import { liveMessages } from '../app/live-messages.ts';
import { RoomRef } from './rooms.ts';
import { builder, clientError, requireMember } from './builder.ts';

const MAX_PAGE = 200;

const MessageRef = builder.objectRef<MessageView>('Message').implement({
  fields: (t) => ({
    id: t.exposeID('messageId'),
    roomId: t.exposeID('roomId'),
    sequence: t.exposeInt('sequence', { description: "Position in the room's history: 1, 2, 3… with no gaps." }),
    cursor: t.string({ resolve: (m) => String(m.sequence) }),
    senderId: t.exposeID('senderId'),
    clientMessageId: t.exposeID('clientMessageId'),
    body: t.exposeString('body'),
    sentAt: t.string({ resolve: (m) => new Date(m.sentAt).toISOString() }),
    room: t.field({ type: RoomRef, nullable: true, resolve: (m, _args, ctx) => ctx.rooms.load(m.roomId) }),
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
  endCursor: string | null;
  hasNextPage: boolean;
}

const PageInfoRef = builder.objectRef<PageInfo>('PageInfo').implement({
  fields: (t) => ({
    endCursor: t.exposeString('endCursor', { nullable: true }),
    hasNextPage: t.exposeBoolean('hasNextPage'),
  }),
});

const ConnectionRef = builder.objectRef<{ edges: Edge[]; pageInfo: PageInfo }>('MessageConnection').implement({
  fields: (t) => ({
    edges: t.expose('edges', { type: [EdgeRef] }),
    pageInfo: t.expose('pageInfo', { type: PageInfoRef }),
  }),
});

/** Cursors are message sequences; null means "from the start". */
function parseCursor(after: string | null | undefined): number | null {
  if (after === null || after === undefined || after === '') return null;
  if (!/^\d{1,15}$/.test(after)) throw clientError('INVALID_INPUT', 'after must be a cursor returned by this API');
  return Number(after);
}

builder.queryFields((t) => ({
  messages: t.field({
    type: ConnectionRef,
    description: "A room's history, oldest first, after the given cursor.",
    args: {
      roomId: t.arg.id({ required: true }),
      first: t.arg.int({ defaultValue: 50 }),
      after: t.arg.string(),
    },
    resolve: async (_root, args, ctx) => {
      const roomId = args.roomId.toString();
      await requireMember(ctx, roomId);
      const first = args.first ?? 50;
      if (first < 1 || first > MAX_PAGE) throw clientError('INVALID_INPUT', `first must be 1 to ${MAX_PAGE}`);
      // One extra row tells whether another page follows.
      const rows = await ctx.readModels.messagesAfter(roomId, parseCursor(args.after) ?? 0, first + 1);
      const page = rows.slice(0, first);
      return {
        edges: page.map((node) => ({ cursor: String(node.sequence), node })),
        pageInfo: { endCursor: page.length ? String(page.at(-1)!.sequence) : (args.after ?? null), hasNextPage: rows.length > first },
      };
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
      await requireMember(ctx, roomId);
      const source = {
        messagesAfter: ctx.readModels.messagesAfter.bind(ctx.readModels),
        lastSequence: ctx.readModels.lastSequence.bind(ctx.readModels),
        subscribe: ctx.fanout.subscribe.bind(ctx.fanout),
      };
      return liveMessages(source, roomId, parseCursor(args.after));
    },
    resolve: (message) => message,
  }),
}));
