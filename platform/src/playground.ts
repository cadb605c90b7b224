import type { GraphiQLOptions } from 'graphql-yoga';

// GraphiQL options both GraphQL services share, to spread into createYoga().
// render-graphiql bundles the playground into the page itself, so it works offline, with
// no CDN. Its headers start with an Authorization placeholder for the access token that
// signUp or logIn answers; the default query says how to get one.
// GRAPHQL_PLAYGROUND=off serves no playground (say in production). The bundle (about 27 MiB
// of strings once loaded) is imported on the first request for the page, not at start-up:
// most processes never serve it.
export function playground(title: string, defaultQuery: string, options: { subscriptionsProtocol?: 'WS' } = {}, env = process.env) {
  if (env.GRAPHQL_PLAYGROUND === 'off') return { graphiql: false as const };
  return {
    renderGraphiQL: async (options: GraphiQLOptions) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(options),
    graphiql: { title, defaultQuery, headers: JSON.stringify({ Authorization: 'Bearer <accessToken from signUp or logIn>' }), ...options },
  };
}
