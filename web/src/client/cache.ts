import { InMemoryCache, type Reference } from '@apollo/client';
import possibleTypes from '../generated/possible-types.ts';

interface Edge {
  __typename?: string;
  cursor: string;
  node: Reference;
}
interface MessagePage {
  edges: Edge[];
  pageInfo: { startCursor: string | null; hasPreviousPage: boolean };
}

/**
 * One normalized cache: a message is one entry by id, so an edit, a deletion or a reaction that
 * arrives live changes it wherever it is shown. A room's history is one list, whatever pages
 * and live events it was built from: pages of older messages (`before`), the newest page, and
 * messages appended live merge into it by message, in sequence order, never twice.
 */
export function createCache(): InMemoryCache {
  return new InMemoryCache({
    possibleTypes: possibleTypes.possibleTypes,
    typePolicies: {
      Room: {
        fields: {
          messages: {
            keyArgs: false,
            merge(existing: MessagePage | undefined, incoming: MessagePage, { args, readField }) {
              const byMessage = new Map<string, Edge>();
              for (const edge of [...(existing?.edges ?? []), ...incoming.edges]) byMessage.set(edge.node.__ref, edge);
              const edges = [...byMessage.values()].sort(
                (a, b) => (readField<number>('sequence', a.node) ?? 0) - (readField<number>('sequence', b.node) ?? 0),
              );
              // Only a page of older messages says what lies before the oldest one held.
              const olderPage = Boolean(args?.before) || !existing;
              return { ...incoming, edges, pageInfo: olderPage ? incoming.pageInfo : existing.pageInfo };
            },
          },
          members: { keyArgs: false, merge: (_existing, incoming: unknown) => incoming },
        },
      },
      Message: { fields: { reactions: { merge: (_existing, incoming: unknown) => incoming } } },
      Profile: { keyFields: ['userId'] },
      Presence: { keyFields: false },
      Typing: { keyFields: ['roomId'] },
    },
  });
}
