// The single sign-on routes: the command service answers them, the one endpoint passes exactly
// these (and nothing else under /auth/) to it.
export const SIGN_ON_PATHS = {
  config: '/auth/oidc/config',
  start: '/auth/oidc/start',
  callback: '/auth/oidc/callback',
  complete: '/auth/oidc/complete',
} as const;

/**
 * The cookie that binds a sign-on to the browser that started it (login CSRF): set by start,
 * checked by the callback and by complete. Its value is a credential while a flow runs. The one
 * endpoint passes this cookie, and no other, to the command service.
 */
export const SIGN_ON_COOKIE = 'chat_sign_on';

/** The values of every sign-on cookie in a Cookie header (a browser may send more than one). */
export function signOnCookieValues(header: string | undefined | null): string[] {
  if (!header) return [];
  const values: string[] = [];
  for (const pair of header.split(';')) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === SIGN_ON_COOKIE) values.push(pair.slice(at + 1).trim());
  }
  return values;
}
