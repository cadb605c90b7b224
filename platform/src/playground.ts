import { renderGraphiQL } from '@graphql-yoga/render-graphiql';

// GraphiQL options both GraphQL services share, to spread into createYoga().
// render-graphiql bundles the playground into the page itself, so it works offline, with
// no CDN; until sign-up lands it acts as 'alice' (edit the header to be someone else).
export function playground(title: string, defaultQuery: string, options: { subscriptionsProtocol?: 'WS' } = {}) {
  return {
    renderGraphiQL,
    graphiql: { title, defaultQuery, headers: JSON.stringify({ 'x-user-id': 'alice' }), ...options },
  };
}
