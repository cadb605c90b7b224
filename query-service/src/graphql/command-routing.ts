import type { IncomingMessage } from 'node:http';
import {
  Kind,
  getOperationAST,
  parse,
  print,
  visit,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type GraphQLError,
} from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import { GRAPHQL_LIMITS, clientAddress, describeOperation, fragmentsOf, observedOperation, rootFieldNames } from '@chat/platform';
import type { CommandForwarder } from '../adapters/command-forwarder.ts';
import type { CommandCredentials } from './commands.ts';

// A mutation crosses the one endpoint once. Over HTTP, the request's operation is read from
// its text (parsed once per distinct document) before anything else runs, and a mutation goes
// to the command service as the caller wrote it: not validated, priced or executed here, and
// the caller's token is not verified here either. The command service does all of that itself,
// with the same shape limits (graphql-limits.ts; its schema has no lists, so those bound a
// mutation's cost) and its own rate limits, and its answer is the endpoint's. Queries and
// subscriptions go on through Yoga as before.
//
// A mutation over graphql-ws has been parsed, validated and admitted with the socket's caller
// by the time it reaches execution; there it is sent the same way instead of being executed.

/** A mutation to pass on: the text the command service runs, and what names it in metrics and traces. */
export interface RoutedMutation {
  text: string;
  field: string;
}

/**
 * The command side's mutations are routed; this service's own (typing, presence), queries and
 * subscriptions run here. `commandFields`: the Mutation fields the command service serves.
 */
export function useCommandRouting(
  forwarder: CommandForwarder,
  commandFields: ReadonlySet<string>,
): Plugin<{ commandCredentials?: CommandCredentials }> {
  const routing = new MutationRouting(commandFields);
  return {
    async onParams({ params, request, context, setResult }) {
      // A mutation over GET is refused by Yoga itself, as before.
      if (request.method !== 'POST' || typeof params.query !== 'string') return;
      const routed = routing.of(params.query, params.operationName);
      if (!routed) return;
      if (routed === MIXED) return setResult({ errors: [mixedError()] });
      const req = (context as { req?: IncomingMessage }).req;
      const credentials: CommandCredentials = {
        authorization: request.headers.get('authorization') ?? undefined,
        clientAddress: req ? clientAddress(req) : 'unknown',
      };
      setResult(
        await observedOperation({ type: 'mutation', field: routed.field, operationName: params.operationName }, () =>
          forwarder.send(routed.text, params.variables, params.operationName, credentials),
        ),
      );
    },
    // Last in the plugin list, so the metrics, tracing and limits before it still see the operation.
    onExecute({ args, setExecuteFn, setResultAndStopExecution }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== 'mutation') return;
      const side = sideOf(operation, args.document, commandFields);
      if (side === 'here') return;
      if (side === MIXED) return setResultAndStopExecution({ errors: [mixedError()] });
      const context = args.contextValue as { commandCredentials: CommandCredentials; params?: { query?: unknown } };
      const source = typeof context.params?.query === 'string' ? context.params.query : undefined;
      setExecuteFn(() =>
        forwarder.send(
          commandText(args.document, operation, source),
          args.variableValues ?? undefined,
          args.operationName,
          context.commandCredentials,
        ),
      );
    },
  };
}

/** A mutation whose root fields are served on both sides: refused (the two cannot share one execution). */
const MIXED = 'mixed' as const;

function mixedError(): GraphQLError {
  return createGraphQLError(
    'a request may not mix the command mutations with setTyping or setPresence: send those in a request of their own',
    { extensions: { code: 'BAD_REQUEST' } },
  );
}

/** Which command mutation a request's text names, parsed once per distinct text. */
class MutationRouting {
  private readonly commandFields: ReadonlySet<string>;
  private readonly seen = new LRUCache<string, RoutedMutation | typeof MIXED | false>({ max: 1000 });

  constructor(commandFields: ReadonlySet<string>) {
    this.commandFields = commandFields;
  }

  /** The command mutation `query` names; MIXED; or undefined for anything else, or a text that does not parse (Yoga then says why). */
  of(query: string, operationName: string | null | undefined): RoutedMutation | typeof MIXED | undefined {
    const key = `${operationName ?? ''}\u0000${query}`;
    let routed = this.seen.get(key);
    if (routed === undefined) {
      routed = this.parse(query, operationName) ?? false;
      // A document too long to be one of a client's usual few is not worth keeping.
      if (query.length <= 16 * 1024) this.seen.set(key, routed);
    }
    return routed || undefined;
  }

  private parse(query: string, operationName: string | null | undefined): RoutedMutation | typeof MIXED | undefined {
    let document: DocumentNode;
    try {
      document = parse(query, { noLocation: true, maxTokens: GRAPHQL_LIMITS.tokens });
    } catch {
      return undefined;
    }
    const operation = getOperationAST(document, operationName);
    if (operation?.operation !== 'mutation') return undefined;
    const side = sideOf(operation, document, this.commandFields);
    if (side !== 'command') return side === MIXED ? MIXED : undefined;
    return { text: commandText(document, operation, query), field: describeOperation(document, operationName ?? undefined).field };
  }
}

/** Where a mutation runs: on the command side when its root fields are all the command service's, here when none is. */
function sideOf(
  operation: OperationDefinitionNode,
  document: DocumentNode,
  commandFields: ReadonlySet<string>,
): 'command' | 'here' | typeof MIXED {
  const names = new Set(rootFieldNames(operation, document));
  const onCommandSide = [...names].filter((name) => commandFields.has(name)).length;
  if (onCommandSide === 0) return 'here';
  return onCommandSide === names.size ? 'command' : MIXED;
}

/**
 * What the command service is sent for `operation`: the caller's text when it holds that one
 * operation only; otherwise the operation and the fragments it uses, since the document's
 * other operations may name this service's own fields, which the command service has not.
 */
function commandText(document: DocumentNode, operation: OperationDefinitionNode, source: string | undefined): string {
  const operations = document.definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION);
  if (operations.length === 1 && source !== undefined) return source;
  const fragments = fragmentsOf(document);
  const used = new Map<string, FragmentDefinitionNode>();
  const collect = (node: OperationDefinitionNode | FragmentDefinitionNode): void => {
    visit(node, {
      FragmentSpread(spread) {
        const fragment = fragments.get(spread.name.value);
        if (!fragment || used.has(spread.name.value)) return;
        used.set(spread.name.value, fragment);
        collect(fragment);
      },
    });
  };
  collect(operation);
  return print({ kind: Kind.DOCUMENT, definitions: [operation, ...used.values()] });
}
