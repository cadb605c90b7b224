import type { YogaServerOptions } from 'graphql-yoga';

// Cross-origin access to a GraphQL endpoint: none unless CORS_ORIGINS lists the origins that
// may call it. The web client and the playground are served from the endpoint's own origin and
// need none; Yoga's default (any origin reflected, credentials allowed) would let every site
// a user visits call the API from their browser. A listed origin gets its own origin back,
// with the headers the API reads (Authorization, Content-Type) and no credentials: tokens
// travel in Authorization, never in cookies.

type CorsOption = NonNullable<YogaServerOptions<object, object>['cors']>;

/** The origins CORS_ORIGINS lists (comma-separated, as `scheme://host[:port]`). */
export function corsOrigins(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.CORS_ORIGINS ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean)
    .map((origin) => new URL(origin).origin);
}

/** Yoga's `cors` option for `env`. */
export function corsFromEnv(env: NodeJS.ProcessEnv = process.env): CorsOption {
  const allowed = new Set(corsOrigins(env));
  if (allowed.size === 0) return false;
  return (request: Request) => {
    const origin = request.headers.get('origin');
    if (origin === null || !allowed.has(origin)) return false;
    return {
      origin: [origin],
      credentials: false,
      methods: ['GET', 'POST'],
      allowedHeaders: ['authorization', 'content-type'],
      maxAge: 600,
    };
  };
}
