import { myEvents, type MyEvent } from '../app/my-events.ts';
import { builder, requireUser } from './builder.ts';
import { MessageRef, messageIn } from './message-ref.ts';
import { RoomRef } from './rooms.ts';
import { UserRef } from './users.ts';

// myEvents: what concerns the caller across all their rooms, live (see app/my-events.ts).

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
      const source = {
        roomIdsOf: ctx.readModels.roomIdsOf.bind(ctx.readModels),
        subscribe: ctx.fanout.subscribe.bind(ctx.fanout),
        subscribeUser: ctx.fanout.subscribeUser.bind(ctx.fanout),
      };
      return myEvents(source, userId);
    },
    resolve: (event) => event,
  }),
}));
