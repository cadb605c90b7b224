import type { UserView } from '../adapters/read-models.ts';
import { UUID, builder, clientError, requireUser } from './builder.ts';

// Users as others see them (the users read model, from the user topic).

export const UserRef = builder.objectRef<UserView>('User').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    username: t.exposeString('username'),
    displayName: t.exposeString('displayName'),
    avatarUrl: t.exposeString('avatarUrl', { nullable: true }),
    bio: t.exposeString('bio', { nullable: true }),
  }),
});

builder.queryFields((t) => ({
  me: t.field({
    type: UserRef,
    nullable: true,
    description: 'The caller. Null for a moment after sign-up, until the projection has it.',
    resolve: (_root, _args, ctx) => ctx.users.load(requireUser(ctx)),
  }),
  user: t.field({
    type: UserRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => {
      requireUser(ctx);
      const id = args.id.toString();
      if (!UUID.test(id)) throw clientError('INVALID_INPUT', 'id must be a UUID');
      return ctx.users.load(id);
    },
  }),
}));
