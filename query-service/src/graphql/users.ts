import type { PresenceView } from '../adapters/presence.ts';
import type { UserView } from '../adapters/read-models.ts';
import { UUID, builder, clientError, requireUser } from './builder.ts';

// Users as others see them (the users read model, from the user topic).

const PresenceStatusEnum = builder.enumType('PresenceStatus', { values: ['ONLINE', 'AWAY', 'OFFLINE'] as const });

const PresenceRef = builder.objectRef<PresenceView>('Presence').implement({
  description: 'Online while the user has a socket open on any query-service instance; AWAY when they said so.',
  fields: (t) => ({
    status: t.field({ type: PresenceStatusEnum, resolve: (p) => p.status }),
    lastSeenAt: t.string({ nullable: true, resolve: (p) => (p.lastSeenAt === null ? null : new Date(p.lastSeenAt).toISOString()) }),
  }),
});

export const UserRef = builder.objectRef<UserView>('User').implement({
  fields: (t) => ({
    presence: t.field({ type: PresenceRef, resolve: (user, _args, ctx) => ctx.loaders.presenceOf.load(user.id) }),
    id: t.exposeID('id'),
    username: t.exposeString('username', { description: 'Empty for a deleted account.' }),
    displayName: t.string({
      description: '"Deleted user" for a deleted account.',
      resolve: (user) => (user.deleted ? 'Deleted user' : user.displayName),
    }),
    deleted: t.exposeBoolean('deleted', { description: 'The account was deleted: its messages are tombstones, its profile gone.' }),
    avatarUrl: t.exposeString('avatarUrl', { nullable: true }),
    bio: t.exposeString('bio', { nullable: true }),
  }),
});

builder.mutationFields((t) => ({
  setPresence: t.field({
    type: PresenceStatusEnum,
    description: 'AWAY while you are away (kept while you stay connected, up to 12 hours); ONLINE to come back.',
    args: { status: t.arg({ type: PresenceStatusEnum, required: true }) },
    resolve: async (_root, args, ctx) => {
      const userId = requireUser(ctx);
      if (args.status === 'OFFLINE') throw clientError('INVALID_INPUT', 'OFFLINE is what closing your connections does');
      await ctx.presence.setAway(userId, args.status === 'AWAY');
      return args.status;
    },
  }),
}));

builder.queryFields((t) => ({
  users: t.field({
    type: [UserRef],
    description: 'Users whose username or display name starts with `search` (ignoring case), up to 20.',
    args: { search: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => {
      requireUser(ctx);
      const search = args.search.trim();
      if (search === '' || search.length > 64 || !search.isWellFormed() || /[\u0000-\u001F\u007F-\u009F]/.test(search)) {
        throw clientError('INVALID_INPUT', 'search must be plain text of 1 to 64 characters');
      }
      return ctx.readModels.searchUsers(search, 20);
    },
  }),
  me: t.field({
    type: UserRef,
    nullable: true,
    description: 'The caller. Null for a moment after sign-up, until the projection has it.',
    resolve: (_root, _args, ctx) => ctx.loaders.users.load(requireUser(ctx)),
  }),
  user: t.field({
    type: UserRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => {
      requireUser(ctx);
      const id = args.id.toString();
      if (!UUID.test(id)) throw clientError('INVALID_INPUT', 'id must be a UUID');
      return ctx.loaders.users.load(id);
    },
  }),
}));
