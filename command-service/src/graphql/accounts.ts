import type { DeletedAccount } from '../app/account-deletion.ts';
import type { SessionTokens } from '../app/accounts.ts';
import { isCaller } from '../app/identity.ts';
import type { Profile } from '../domain/account.ts';
import { commandError, type CommandError } from '../domain/errors.ts';
import { builder, resultUnion, type Context } from './builder.ts';

// Sign-up, log-in and the session around them. Tokens come back in the result, never in an
// event or a log line. Failures of our own dependencies answer UNAVAILABLE, never a stack.
// Single sign-on ends at GET /auth/oidc/complete rather than in a mutation here: its one-time
// code is bound to a cookie of the browser that started it, which /graphql never sees
// (adapters/oidc-sign-on.ts).

const SessionRef = builder.objectRef<SessionTokens>('Session').implement({
  description:
    'A logged-in session. Send the access token as `Authorization: Bearer <accessToken>` (graphql-ws: `connectionParams.authorization`); refresh it with refreshToken before it expires.',
  fields: (t) => ({
    userId: t.exposeID('userId'),
    username: t.exposeString('username'),
    accessToken: t.exposeString('accessToken', { description: 'A JWT, valid for about 15 minutes.' }),
    accessTokenExpiresAt: t.string({ description: 'ISO 8601.', resolve: (s) => new Date(s.accessTokenExpiresAt).toISOString() }),
    refreshToken: t.exposeString('refreshToken', { description: 'Opaque; use it once with refreshToken to get new tokens.' }),
    refreshTokenExpiresAt: t.string({ description: 'ISO 8601.', resolve: (s) => new Date(s.refreshTokenExpiresAt).toISOString() }),
  }),
});

const ProfileRef = builder.objectRef<Profile & { userId: string }>('Profile').implement({
  fields: (t) => ({
    userId: t.exposeID('userId'),
    displayName: t.exposeString('displayName'),
    avatarUrl: t.exposeString('avatarUrl', { nullable: true }),
    bio: t.exposeString('bio', { nullable: true }),
  }),
});

const LoggedOutRef = builder.objectRef<{ sessionId: string }>('LoggedOut').implement({
  description: "The session has ended: its access tokens are refused from now on, and its refresh token won't work.",
  fields: (t) => ({ sessionId: t.exposeID('sessionId') }),
});

const DeletedAccountRef = builder.objectRef<DeletedAccount>('DeletedAccount').implement({
  description:
    'The account is gone: its sessions ended, its profile removed, its content keys erased (what it wrote reads as deleted everywhere, the event log included), and every room it was in shows it as a deleted user.',
  fields: (t) => ({
    userId: t.exposeID('userId'),
    rooms: t.exposeInt('rooms', { description: 'How many rooms it left, with what it wrote in them.' }),
  }),
});

const AuthResult = resultUnion('Auth', SessionRef);
const DeleteAccountResult = resultUnion('DeleteAccount', DeletedAccountRef);
const ProfileResult = resultUnion('UpdateProfile', ProfileRef);
const LogOutResult = resultUnion('LogOut', LoggedOutRef);

/** Runs an account operation; our own outages become UNAVAILABLE (logged), never a GraphQL error. */
async function guarded<T>(ctx: Context, operation: string, run: () => Promise<T | CommandError>): Promise<T | CommandError> {
  try {
    return await run();
  } catch (error) {
    ctx.log.error('account operation failed', { operation, error });
    return commandError('UNAVAILABLE', 'accounts are unavailable right now; retry shortly');
  }
}

builder.mutationFields((t) => ({
  signUp: t.field({
    type: AuthResult,
    description: 'Creates an account and logs it in. Usernames are unique ignoring case and Unicode form. Passwords: 8 to 256 characters.',
    args: {
      username: t.arg.string({ required: true }),
      password: t.arg.string({ required: true }),
      displayName: t.arg.string({ description: 'Defaults to the username.' }),
      commandId: t.arg.id({ description: 'Idempotency key; a retried sign-up with the same password also answers with a session.' }),
    },
    resolve: (_root, args, ctx) =>
      guarded(ctx, 'signUp', () =>
        ctx.accounts.signUp(
          {
            username: args.username,
            password: args.password,
            displayName: args.displayName ?? null,
            commandId: args.commandId?.toString() ?? null,
          },
          ctx.address,
        ),
      ),
  }),
  logIn: t.field({
    type: AuthResult,
    args: { username: t.arg.string({ required: true }), password: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => guarded(ctx, 'logIn', () => ctx.accounts.logIn(args, ctx.address)),
  }),
  refreshToken: t.field({
    type: AuthResult,
    description: 'New tokens for a refresh token, which is then used up. A refresh token used twice ends its session.',
    args: { refreshToken: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) =>
      guarded(ctx, 'refreshToken', () => ctx.accounts.refresh(args.refreshToken, isCaller(ctx.caller) ? ctx.caller : undefined)),
  }),
  logOut: t.field({
    type: LogOutResult,
    description: "Ends the caller's session everywhere at once.",
    resolve: (_root, _args, ctx) =>
      guarded(ctx, 'logOut', async () => {
        const caller = ctx.caller;
        if (!isCaller(caller)) return caller;
        await ctx.accounts.logOut(caller);
        return { sessionId: caller.sessionId };
      }),
  }),
  changePassword: t.field({
    type: AuthResult,
    description: 'Changes the password and ends every session of the user, this one included; answers a new session.',
    args: { currentPassword: t.arg.string({ required: true }), newPassword: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) =>
      guarded(ctx, 'changePassword', async () => {
        const caller = ctx.caller;
        if (!isCaller(caller)) return caller;
        return ctx.accounts.changePassword(caller, args.currentPassword, args.newPassword);
      }),
  }),
  updateProfile: t.field({
    type: ProfileResult,
    description: 'Changes what others see. Omitted fields stay; null removes avatarUrl or bio. avatarUrl must be https.',
    args: { displayName: t.arg.string(), avatarUrl: t.arg.string(), bio: t.arg.string() },
    resolve: (_root, args, ctx) =>
      guarded(ctx, 'updateProfile', async () => {
        const caller = ctx.caller;
        if (!isCaller(caller)) return caller;
        const profile = await ctx.accounts.updateProfile(caller, args);
        return 'code' in profile ? profile : { ...profile, userId: caller.userId };
      }),
  }),
  deleteAccount: t.field({
    type: DeleteAccountResult,
    description:
      'Deletes your account for good: needs your password (or, without one, a sign-on within the last 10 minutes: REAUTHENTICATION_REQUIRED otherwise). Safe to retry until it answers DeletedAccount.',
    args: { password: t.arg.string({ description: 'Your current password; omit it for an account that only signs on.' }) },
    resolve: (_root, args, ctx) =>
      guarded(ctx, 'deleteAccount', async () => {
        const caller = ctx.caller;
        if (!isCaller(caller)) return caller;
        return ctx.accountDeletion.deleteAccount(caller, args.password ?? null, ctx.arrival);
      }),
  }),
}));
