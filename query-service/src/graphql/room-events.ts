import { roomCursor } from '@chat/platform';
import type { RoomEventView } from '@chat/schemas';
import { liveRoomEvents } from '../app/live-room-events.ts';
import { SHARES_EXECUTION } from './shared-execution.ts';
import { builder, clientError, cursorIn, requireMember } from './builder.ts';
import { MessageRef, messageIn } from './message-ref.ts';
import { UserRef } from './users.ts';

// roomEvents: every change of a room (messages, edits, deletes, reactions, membership, roles,
// renames, topics, read markers) as one subscription, a union by event type, with the room
// revision as its cursor: everything after the cursor first, then live, no gap, no duplicate.

type Field = 'messageId' | 'userId' | 'role' | 'name' | 'topic' | 'emoji' | 'body' | 'visibility' | 'kind' | 'upTo' | 'days' | 'before';
const text = (event: RoomEventView, field: Field) => (event.data[field] ?? null) as string | null;

/** One GraphQL type per event type: the common fields, and the event's own. */
function eventType(name: string, description: string, fields: Field[]) {
  return builder.objectRef<RoomEventView>(name).implement({
    description,
    fields: (t) => ({
      roomId: t.exposeID('roomId'),
      revision: t.exposeInt('revision', { description: 'The room revision, for expectedRevision.' }),
      cursor: t.string({
        description: 'Pass the last one seen as `after` to resume.',
        resolve: (e) => roomCursor('event', e.roomId, e.revision),
      }),
      occurredAt: t.string({ resolve: (e) => new Date(e.occurredAt).toISOString() }),
      actorId: t.exposeID('actorId'),
      actor: t.field({ type: UserRef, nullable: true, resolve: (e, _args, ctx) => ctx.loaders.users.load(e.actorId) }),
      ...Object.fromEntries(
        fields.map((field) => [
          field,
          field === 'upTo'
            ? t.string({ description: 'A message cursor.', resolve: (e) => roomCursor('message', e.roomId, Number(e.data.upTo)) })
            : field === 'days'
              ? t.int({ nullable: true, resolve: (e) => (e.data.days ?? null) as number | null })
              : field === 'before'
                ? t.string({ description: 'ISO 8601.', resolve: (e) => new Date(Number(e.data.before)).toISOString() })
                : field === 'messageId' || field === 'userId'
                  ? t.id({ resolve: (e) => text(e, field)! })
                  : t.string({ nullable: true, resolve: (e) => text(e, field) }),
        ]),
      ),
      ...(fields.includes('userId')
        ? { user: t.field({ type: UserRef, nullable: true, resolve: (e, _a, ctx) => ctx.loaders.users.load(text(e, 'userId')!) }) }
        : {}),
      ...(fields.includes('messageId')
        ? {
            message: t.field({
              type: MessageRef,
              nullable: true,
              description: 'The message as it is now (empty once deleted); only ever a message of this room.',
              resolve: (e, _a, ctx) => (e.message?.roomId === e.roomId ? e.message : messageIn(ctx, e.roomId, text(e, 'messageId')!)),
            }),
          }
        : {}),
    }),
  });
}

const TYPES: Record<string, ReturnType<typeof eventType>> = {
  RoomCreated: eventType('RoomCreatedEvent', 'The room was created.', ['name', 'topic', 'visibility', 'kind']),
  RoomRenamed: eventType('RoomRenamedEvent', 'The room was renamed.', ['name']),
  RoomTopicChanged: eventType('RoomTopicChangedEvent', 'The topic was set or cleared.', ['topic']),
  MemberInvited: eventType('MemberInvitedEvent', 'A user was invited.', ['userId']),
  MemberJoined: eventType('MemberJoinedEvent', 'A user joined.', ['userId', 'role']),
  MemberLeft: eventType('MemberLeftEvent', 'A member left.', ['userId']),
  MemberRemoved: eventType('MemberRemovedEvent', 'A member was removed (by the actor).', ['userId']),
  MemberErased: eventType(
    'MemberErasedEvent',
    'A user deleted their account: they left, every message they wrote here is now deleted (show them as tombstones), and their reactions are gone.',
    ['userId'],
  ),
  MemberRoleChanged: eventType('MemberRoleChangedEvent', "A member's role changed.", ['userId', 'role']),
  MessageSent: eventType('MessageSentEvent', 'A message was sent.', ['messageId']),
  MessageEdited: eventType(
    'MessageEditedEvent',
    'A message was edited; body is the new body, null once the message is deleted (a deletion takes every version with it).',
    ['messageId', 'body'],
  ),
  MessageDeleted: eventType('MessageDeletedEvent', 'A message was deleted.', ['messageId']),
  ReactionAdded: eventType('ReactionAddedEvent', 'The actor reacted to a message.', ['messageId', 'emoji']),
  ReactionRemoved: eventType('ReactionRemovedEvent', 'The actor took back a reaction.', ['messageId', 'emoji']),
  RoomRetentionSet: eventType('RoomRetentionSetEvent', 'An owner set how many days of history the room keeps (null: everything).', [
    'days',
  ]),
  RoomHistoryExpired: eventType(
    'RoomHistoryExpiredEvent',
    'The room’s retention passed: every message sent before `before` is now deleted (show them as tombstones).',
    ['before'],
  ),
  ReadMarkerMoved: eventType('ReadMarkerMovedEvent', 'The actor read up to a message sequence.', ['upTo']),
};

const RoomEventUnion = builder.unionType('RoomEvent', {
  types: Object.values(TYPES),
  resolveType: (event) => TYPES[event.type] ?? TYPES.RoomRenamed!,
});

builder.subscriptionFields((t) => ({
  roomEvents: t.field({
    type: RoomEventUnion,
    description:
      'Every change of a room, for its members, in revision order. With `after` (an event cursor, or "0" for the start), first everything after it, then live; without, from now. Your own leaving or removal is the last event.',
    args: { roomId: t.arg.id({ required: true }), after: t.arg.string() },
    subscribe: async (_root, args, ctx) => {
      const roomId = args.roomId.toString();
      const userId = await requireMember(ctx, roomId);
      const after = cursorIn('event', roomId, 'after', args.after);
      // A cursor past the end would silently swallow the events up to it.
      if (after !== null && after > (await ctx.readModels.lastRevision(roomId))) {
        throw clientError('INVALID_INPUT', 'after is beyond the room’s last revision');
      }
      const source = {
        eventsAfter: ctx.readModels.eventsAfter.bind(ctx.readModels),
        lastRevision: ctx.readModels.lastRevision.bind(ctx.readModels),
        subscribe: ctx.fanout.subscribe.bind(ctx.fanout),
        isMember: ctx.readModels.isMember.bind(ctx.readModels),
      };
      return liveRoomEvents(source, roomId, userId, after);
    },
    resolve: (event) => event,
    extensions: SHARES_EXECUTION,
  }),
}));
