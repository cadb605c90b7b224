import { roomsPerUser } from '@chat/platform';
import { createGraphQLError } from 'graphql-yoga';
import type { RoomFanout } from '../adapters/fanout.ts';
import { MyEventsHub, TooManyRooms, type MyEvent } from '../app/my-events.ts';
import { builder, passThrough, requireUser, type Context } from './builder.ts';
import { MessageRef, messageIn } from './message-ref.ts';
import { RoomRef } from './rooms.ts';
import { UserRef } from './users.ts';

// myEvents: what concerns the caller across all their rooms, live (see app/my-events.ts).

// One hub per process: every context of a process shares its fan-out, so the hub hangs off it.
// The bound is read here, beside the one rule that uses it, rather than threaded through main.ts.
const hubs = new WeakMap<RoomFanout, MyEventsHub>();

function hubOf(ctx: Context): MyEventsHub {
  let hub = hubs.get(ctx.fanout);
  if (!hub) {
    const source = {
      roomIdsOf: ctx.readModels.roomIdsOf.bind(ctx.readModels),
      subscribe: ctx.fanout.subscribe.bind(ctx.fanout),
      subscribeUser: ctx.fanout.subscribeUser.bind(ctx.fanout),
    };
    hub = new MyEventsHub(source, roomsPerUser());
    hubs.set(ctx.fanout, hub);
  }
  return hub;
}

function eventType<K extends MyEvent['kind']>(name: string, description: string, withBy: boolean, withMessage = false) {
  return builder.objectRef<Extract<MyEvent, { kind: K }>>(name).implement({
    description,
    fields: (t) => ({
      roomId: t.id({ resolve: (e) => e.roomId }),
      room: t.field({ type: RoomRef, nullable: true, resolve: (e, _args, ctx) => ctx.loaders.rooms.load(e.roomId) }),
      ...(withBy
        ? { by: t.field({ type: UserRef, nullable: true, resolve: (e, _args, ctx) => ctx.loaders.users.load((e as { by: string }).by) }) }
        : {}),
      ...(withMessage
        ? {
            message: t.field({
              type: MessageRef,
              nullable: true,
              resolve: (e, _args, ctx) => messageIn(ctx, e.roomId, (e as { messageId: string }).messageId),
            }),
          }
        : {}),
    }),
  });
}

const TYPES = {
  invited: eventType<'invited'>('InvitedEvent', 'You were invited to a room (by).', true),
  added: eventType<'added'>('AddedToRoomEvent', 'Someone (by) put you in a room: a direct room they opened with you.', true),
  mentioned: eventType<'mentioned'>('MentionedEvent', 'A message mentions you.', true, true),
  'unread-changed': eventType<'unread-changed'>(
    'UnreadChangedEvent',
    "A room's unread counts changed: read room { unreadCount unreadMentions }.",
    false,
  ),
  joined: eventType<'joined'>('RoomJoinedEvent', 'You joined a room.', false),
  left: eventType<'left'>('RoomLeftEvent', 'You left or were removed from a room.', false),
} as const;

const MyEventUnion = builder.unionType('MyEvent', {
  types: Object.values(TYPES),
  resolveType: (event) => TYPES[(event as MyEvent).kind],
});

builder.subscriptionFields((t) => ({
  myEvents: t.field({
    type: MyEventUnion,
    description: 'Invitations, direct rooms, mentions and unread-count changes across all your rooms, live from now.',
    subscribe: (_root, _args, ctx) => {
      const userId = requireUser(ctx);
      // A typed refusal, never a masked internal error.
      return passThrough(hubOf(ctx).events(userId), {
        error: (error) =>
          error instanceof TooManyRooms
            ? createGraphQLError(error.message, { extensions: { code: 'LIMIT_REACHED', limit: error.limit } })
            : error,
      });
    },
    resolve: (event) => event,
  }),
}));
