import type { Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';
import { instanceFetch } from './graphql.ts';

// What the single sign-on tests share: a real OpenID Connect provider (the certified
// `oidc-provider`) on a port of the test's, and a browser driven by hand: its cookies (the
// provider's, and the stack's: cookies ignore ports, so the command service's and the query
// service's origins on 127.0.0.1 share them, as in a browser), redirects not followed, and
// the provider's own log-in and consent forms filled in.

/** Starts a provider at http://127.0.0.1:`port` where any login name is an account whose claims come from the name. */
export function startTestProvider(port: number, client: { secret: string; redirectUri: string }): Server {
  return new Provider(`http://127.0.0.1:${port}`, {
    clients: [
      {
        client_id: 'chat-test',
        client_secret: client.secret,
        redirect_uris: [client.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: `subject-${id}`, preferred_username: id, name: `Person ${id}` }) }),
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AuthorizationCode: 60, AccessToken: 600, IdToken: 600 },
  }).listen(port);
}

/** One browser's cookies: the provider's, and ours. */
export interface Jar {
  provider: Map<string, string>;
  ours: Map<string, string>;
}

export const newJar = (): Jar => ({ provider: new Map(), ours: new Map() });

export const cookieHeader = (cookies: Map<string, string>) => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');

/** Keeps what a response sets; a cookie set with Max-Age=0 is removed. */
export function keepCookies(cookies: Map<string, string>, response: Response): void {
  for (const cookie of response.headers.getSetCookie()) {
    const [name, value] = cookie.split(';')[0]!.split('=');
    if (/;\s*max-age=0\b/i.test(cookie)) cookies.delete(name!.trim());
    else cookies.set(name!.trim(), value ?? '');
  }
}

/**
 * A GET or form POST from the browser holding `jar` (the provider's cookies to `issuer`, ours
 * elsewhere), redirects not followed; keeps what it sets. Signed as an instance too: the
 * command service answers instances only, and a test may stand in for the one endpoint.
 */
export async function browse(jar: Jar, issuer: string, url: string, init: RequestInit = {}): Promise<Response> {
  const cookies = url.startsWith(issuer) ? jar.provider : jar.ours;
  const headers = new Headers(init.headers);
  if (cookies.size) headers.set('cookie', cookieHeader(cookies));
  const response = await instanceFetch(url, { ...init, headers, redirect: 'manual' });
  keepCookies(cookies, response);
  return response;
}

/** The next request that fills in the provider's page `html` (log-in as `login`, or consent), or undefined when it is not one. */
export function providerForm(html: string, pageUrl: string, login: string): { url: string; init: RequestInit } | undefined {
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1];
  if (!action || !prompt) return undefined;
  const form = new URLSearchParams(prompt === 'login' ? { prompt, login, password: 'anything' } : { prompt });
  return {
    url: new URL(action.replaceAll('&amp;', '&'), pageUrl).href,
    init: { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
  };
}
