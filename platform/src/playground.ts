import { createHash } from 'node:crypto';
import type { GraphiQLOptions, Plugin } from 'graphql-yoga';

// GraphiQL for the one endpoint, served only with GRAPHQL_PLAYGROUND=on (development: `./chat
// up` and the test stacks turn it on). render-graphiql bundles the playground into the page
// itself, so it works offline, with no CDN. Its headers start with an Authorization
// placeholder for the access token that signUp or logIn answers; the default query says how to
// get one. The bundle (about 27 MiB of strings once loaded) is imported on the first request
// for the page, not at start-up: most processes never serve it.
//
// The page shares its origin with the web client, whose localStorage holds the tokens, so it
// runs under a Content-Security-Policy: its one inline script by hash (nothing injected into
// it can run), its editors' workers from the blob: URLs it makes, requests to this origin only
// (fetch and graphql-ws), no plugins, forms, base or frames, and it may not be framed itself.
// Styles stay inline: the editor writes its own at run time.

/** The policy for a page whose inline scripts are `scripts`. `frame-ancestors` only counts in a header. */
export function playgroundPolicy(scripts: string[]): string {
  const hashes = scripts.map((script) => `'sha256-${createHash('sha256').update(script).digest('base64')}'`);
  return [
    "default-src 'none'",
    `script-src ${hashes.join(' ')}`,
    'worker-src blob:',
    "style-src 'unsafe-inline'",
    'img-src data:',
    'font-src data:',
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "object-src 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The page as rendered, and its policy, once per set of options (they do not change while the process runs). */
const rendered = new Map<string, { html: string; policy: string }>();

async function render(options: GraphiQLOptions): Promise<{ html: string; policy: string }> {
  const key = JSON.stringify(options);
  let page = rendered.get(key);
  if (!page) {
    const html = (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(options);
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1]!);
    page = { html, policy: playgroundPolicy(scripts) };
    rendered.set(key, page);
  }
  return page;
}

/** GraphiQL options to spread into createYoga(), or none: the playground is off unless GRAPHQL_PLAYGROUND=on. */
export function playground(title: string, defaultQuery: string, options: { subscriptionsProtocol?: 'WS' } = {}, env = process.env) {
  if (env.GRAPHQL_PLAYGROUND !== 'on') return { graphiql: false as const };
  return {
    // The policy also goes into the page (a meta element), so it holds wherever the page is served from.
    renderGraphiQL: async (graphiql: GraphiQLOptions) => {
      const { html, policy } = await render(graphiql);
      const meta = `<meta http-equiv="Content-Security-Policy" content="${policy.replace("; frame-ancestors 'none'", '')}" />`;
      return html.replace('<head>', `<head>\n${meta}`);
    },
    graphiql: { title, defaultQuery, headers: JSON.stringify({ Authorization: 'Bearer <accessToken from signUp or logIn>' }), ...options },
  };
}

/** Sets the playground page's policy as a header too (with frame-ancestors, which a meta element cannot carry), and no sniffing. */
export function usePlaygroundPolicy(): Plugin {
  return {
    onResponse({ response }) {
      if (!response.headers.get('content-type')?.startsWith('text/html')) return;
      const page = [...rendered.values()].at(-1);
      if (!page) return;
      response.headers.set('content-security-policy', page.policy);
      response.headers.set('x-content-type-options', 'nosniff');
      response.headers.set('referrer-policy', 'no-referrer');
    },
  };
}
