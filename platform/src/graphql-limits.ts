import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import {
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  getNamedType,
  getOperationAST,
  isLeafType,
  type ASTVisitor,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type OperationTypeNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import type { Plugin } from 'graphql-yoga';

// What one GraphQL request may ask, the same on every endpoint: anyone can send us a document,
// so its size and shape are bounded before anything runs (GraphQL Armor's rules, plus a cap on
// mutations per request: each is a command, and thousands of aliased sends are a flood, not a
// request). A refused document answers with extensions.code QUERY_TOO_COMPLEX (or
// TOO_MANY_MUTATIONS) and nothing of it runs.
//
// The cost is computed when the operation is about to run, not at validation: Yoga caches
// validation by document, and a page size given as a variable (`last: $n`) or left to the
// resolver's default is only known with the request's variables.

export const GRAPHQL_LIMITS = {
  aliases: 15,
  depth: 12,
  /**
   * The most an operation may cost (see operationCost): about the rows it can read. A full
   * page of 200 messages with authors, replies and reactions is about 1,400; the web client's
   * heaviest screen a few hundred; a page of rooms each with a page of members (200 × 200) or
   * of messages in messages is far over.
   */
  cost: 20_000,
  tokens: 2000,
  directives: 10,
  mutationsPerRequest: 5,
  /** Request bodies over HTTP, and messages over graphql-ws. */
  bytes: 1024 * 1024,
} as const;

/** A page's size when a paged field (one with a `first` or `last` argument) is given none, and the largest any resolver serves. */
export const PAGE_SIZES = { default: 50, max: 200 } as const;

/** What a field costs beyond the rule: a fixed `base` (a full-text search), or its own default page size. */
export interface FieldPrice {
  base?: number;
  defaultPage?: number;
  /** For a list field without page arguments whose length the resolver bounds (say, 20 users). */
  items?: number;
}

/** Fields priced apart, by "Type.field". */
export type FieldPrices = Record<string, FieldPrice>;

/**
 * What an operation costs with these variables: each object field 1 plus what it selects,
 * times the page size for a paged field (its `first` or `last`, from a literal or a variable,
 * else its default page; at most the largest page), plus the field's base price. Scalars are
 * free: they come with their row. Roughly the rows the operation can make the resolvers read.
 * Throws a GraphQLError when it cannot be computed (bad variables, over 10,000 nodes).
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | null | undefined,
  operationName: string | null | undefined,
  prices: FieldPrices = {},
): number {
  const estimator: ComplexityEstimator = ({ type, field, args, childComplexity }) => {
    const price = prices[`${type.name}.${field.name}`] ?? {};
    const own = isLeafType(getNamedType(field.type)) ? 0 : 1;
    const paged = field.args.some((arg) => arg.name === 'first' || arg.name === 'last');
    const asked = Number(args.first ?? args.last ?? price.defaultPage ?? PAGE_SIZES.default);
    const times = paged ? Math.min(Math.max(Number.isFinite(asked) ? asked : PAGE_SIZES.max, 1), PAGE_SIZES.max) : (price.items ?? 1);
    return (price.base ?? 0) + times * (own + childComplexity);
  };
  return getComplexity({
    schema,
    query: document,
    variables: (variables ?? {}) as Record<string, unknown>,
    operationName: operationName ?? undefined,
    estimators: [estimator],
  });
}

/** An operation that passed the cost limit, for the service's own admission (a rate limit weighted by cost, say). */
export interface PricedOperation {
  type: OperationTypeNode;
  cost: number;
  contextValue: unknown;
}

export interface LimitOptions {
  /**
   * false: no pricing here (about 0.1 ms a request). Only for a schema without list fields
   * (the command service's), whose cost the shape limits already bound.
   */
  price?: boolean;
  prices?: FieldPrices;
  /** Called for each operation within the cost limit, before it runs; an error refuses it. */
  admit?: (operation: PricedOperation) => Promise<GraphQLError | undefined>;
}

/** Whether the schema may be introspected: only with GRAPHQL_INTROSPECTION=on (development, the playground). */
export function introspectionAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.GRAPHQL_INTROSPECTION === 'on';
}

export function graphqlLimits(env: NodeJS.ProcessEnv = process.env, options: LimitOptions = {}): Plugin[] {
  const coded = [
    (_context: unknown, error: GraphQLError) => {
      (error.extensions as Record<string, unknown>).code = 'QUERY_TOO_COMPLEX';
    },
  ];
  return [
    EnvelopArmorPlugin({
      maxAliases: { n: GRAPHQL_LIMITS.aliases, onReject: coded },
      maxDepth: { n: GRAPHQL_LIMITS.depth, onReject: coded },
      // The cost is ours (useOperationCost): Armor's reads only a literal first/last.
      costLimit: { enabled: false },
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
    ...(options.price === false ? [] : [useOperationCost(options)]),
  ];
}

/**
 * Prices each operation with its variables right before it runs (queries and mutations at
 * execute, subscriptions at subscribe, on every transport that runs through envelop) and
 * refuses one over GRAPHQL_LIMITS.cost with QUERY_TOO_COMPLEX, or whatever `admit` says.
 */
function useOperationCost({ prices, admit }: LimitOptions): Plugin {
  const check = async (
    args: { schema: GraphQLSchema; document: DocumentNode; variableValues?: unknown; operationName?: string | null; contextValue: unknown },
    stop: (result: { errors: GraphQLError[] }) => void,
  ) => {
    const type = getOperationAST(args.document, args.operationName)?.operation;
    if (!type) return; // execution itself says which operation is missing
    let cost: number;
    try {
      cost = operationCost(args.schema, args.document, args.variableValues as Record<string, unknown>, args.operationName, prices);
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      // Variables that do not fit are execution's to report; too many nodes is ours.
      if (!/maximum allowed number of nodes/.test(error.message)) return;
      return stop({ errors: [tooComplex(error.message)] });
    }
    if (cost > GRAPHQL_LIMITS.cost) {
      return stop({
        errors: [tooComplex(`this operation would cost ${cost}, over the limit of ${GRAPHQL_LIMITS.cost}: ask for smaller pages`)],
      });
    }
    const refused = await admit?.({ type, cost, contextValue: args.contextValue });
    if (refused) stop({ errors: [refused] });
  };
  return {
    onExecute: ({ args, setResultAndStopExecution }) => check(args, setResultAndStopExecution),
    onSubscribe: ({ args, setResultAndStopExecution }) => check(args, setResultAndStopExecution),
  };
}

function tooComplex(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'QUERY_TOO_COMPLEX', limit: GRAPHQL_LIMITS.cost } });
}

function maxMutationsRule(context: ValidationContext): ASTVisitor {
  return {
    OperationDefinition(operation) {
      if (operation.operation !== 'mutation') return;
      const count = rootFieldNames(operation, context.getDocument()).length;
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

/**
 * The root fields an operation asks for, once per time it asks (aliases count apart), through
 * fragments and inline fragments (each fragment once); `__typename` is not one.
 */
export function rootFieldNames(operation: OperationDefinitionNode, document: DocumentNode): string[] {
  const fragments = fragmentsOf(document);
  const names: string[] = [];
  const seen = new Set<string>();
  const collect = (selectionSet: SelectionSetNode): void => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value !== '__typename') names.push(selection.name.value);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) collect(selection.selectionSet);
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) collect(fragment.selectionSet);
      }
    }
  };
  collect(operation.selectionSet);
  return names;
}

/** A document's fragment definitions by name. */
export function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  return fragments;
}
