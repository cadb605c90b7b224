import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import {
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

// What one GraphQL request may ask, the same on every endpoint: anyone can send us a document,
// so its size and shape are bounded before anything runs (GraphQL Armor's rules, plus a cap on
// mutations per request: each is a command, and thousands of aliased sends are a flood, not a
// request). A refused document answers with extensions.code QUERY_TOO_COMPLEX (or
// TOO_MANY_MUTATIONS) and nothing of it runs.

export const GRAPHQL_LIMITS = {
  aliases: 15,
  depth: 12,
  /**
   * GraphQL Armor's cost: 2 per object field and 1 per scalar, 1.5 times per level, times a
   * literal `first`/`last`. A full page of 200 messages with authors, replies and reactions
   * is about 20,000; pages nested in pages are what this refuses (page sizes are capped at 200
   * by the resolvers whatever a variable says).
   */
  cost: 50_000,
  tokens: 2000,
  directives: 10,
  mutationsPerRequest: 5,
  /** Request bodies over HTTP, and messages over graphql-ws. */
  bytes: 1024 * 1024,
} as const;

/** Whether the schema may be introspected (GRAPHQL_INTROSPECTION=off turns it off, say in production). */
export function introspectionAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.GRAPHQL_INTROSPECTION !== 'off';
}

export function graphqlLimits(env: NodeJS.ProcessEnv = process.env): Plugin[] {
  const coded = [
    (_context: unknown, error: GraphQLError) => {
      (error.extensions as Record<string, unknown>).code = 'QUERY_TOO_COMPLEX';
    },
  ];
  return [
    EnvelopArmorPlugin({
      maxAliases: { n: GRAPHQL_LIMITS.aliases, onReject: coded },
      maxDepth: { n: GRAPHQL_LIMITS.depth, onReject: coded },
      costLimit: { maxCost: GRAPHQL_LIMITS.cost, onReject: coded },
      maxTokens: { n: GRAPHQL_LIMITS.tokens, onReject: coded },
      maxDirectives: { n: GRAPHQL_LIMITS.directives, onReject: coded },
      // Field suggestions ("did you mean …") would describe the schema to anyone.
      blockFieldSuggestion: { enabled: true },
    }) as Plugin,
    {
      onValidate: ({ addValidationRule }) => {
        addValidationRule(maxMutationsRule);
        if (!introspectionAllowed(env)) addValidationRule(NoSchemaIntrospectionCustomRule);
      },
    },
  ];
}

function maxMutationsRule(context: ValidationContext): ASTVisitor {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of context.getDocument().definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  return {
    OperationDefinition(operation) {
      if (operation.operation !== 'mutation') return;
      const count = rootFields(operation.selectionSet, fragments, new Set());
      if (count > GRAPHQL_LIMITS.mutationsPerRequest) {
        context.reportError(
          new GraphQLError(`at most ${GRAPHQL_LIMITS.mutationsPerRequest} mutations per request; this one has ${count}`, {
            nodes: [operation],
            extensions: { code: 'TOO_MANY_MUTATIONS' },
          }),
        );
      }
    },
  };
}

/** The root fields a selection asks for, through fragments and inline fragments (each fragment once). */
function rootFields(selectionSet: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, seen: Set<string>): number {
  let count = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) count += selection.name.value === '__typename' ? 0 : 1;
    else if (selection.kind === Kind.INLINE_FRAGMENT) count += rootFields(selection.selectionSet, fragments, seen);
    else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = fragments.get(selection.name.value);
      if (fragment) count += rootFields(fragment.selectionSet, fragments, seen);
    }
  }
  return count;
}
