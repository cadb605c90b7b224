// The single sign-on routes: the command service answers them, the one endpoint passes exactly
// these (and nothing else under /auth/) to it.
export const SIGN_ON_PATHS = { config: '/auth/oidc/config', start: '/auth/oidc/start', callback: '/auth/oidc/callback' } as const;
