import { renderGraphiQL } from '@graphql-yoga/render-graphiql';

// GraphiQL options both GraphQL services share, to spread into createYoga().
// render-graphiql bundles the playground into the page itself, so it works offline, with
// no CDN. Its headers start with an Authorization placeholder for the access token that
// signUp or logIn answers; the default query says how to get one.
// GRAPHQL_PLAYGROUND=off serves no playground (say in production).
export function playground(title: string, defaultQuery: string, options: { subscriptionsProtocol?: 'WS' } = {}, env = process.env) {
  if (env.GRAPHQL_PLAYGROUND === 'off') return { graphiql: false as const };
  return {
    renderGraphiQL,
    graphiql: { title, defaultQuery, headers: JSON.stringify({ Authorization: 'Bearer <accessToken from signUp or logIn>' }), ...options },
  };
}
