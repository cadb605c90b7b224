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
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import { GRAPHQL_LIMITS, clientAddress, describeOperation, observedOperation } from '@chat/platform';
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

/** Mutations are routed; queries and subscriptions run here. */
export function useCommandRouting(forwarder: CommandForwarder): Plugin<{ commandCredentials?: CommandCredentials }> {
  return {
    async onParams({ params, request, context, setResult }) {
      // A mutation over GET is refused by Yoga itself, as before.
      if (request.method !== 'POST' || typeof params.query !== 'string') return;
      const routed = mutationOf(params.query, params.operationName);
      if (!routed) return;
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
    onExecute({ args, setExecuteFn }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== 'mutation') return;
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

const mutations = new LRUCache<string, RoutedMutation | false>({ max: 1000 });

/** The mutation `query` names, or undefined when it names another operation or does not parse (Yoga then says why). */
export function mutationOf(query: string, operationName: string | null | undefined): RoutedMutation | undefined {
  const key = `${operationName ?? ''}\u0000${query}`;
  let routed = mutations.get(key);
  if (routed === undefined) {
    routed = parseMutation(query, operationName) ?? false;
    // A document too long to be one of a client's usual few is not worth keeping.
    if (query.length <= 16 * 1024) mutations.set(key, routed);
  }
  return routed || undefined;
}

function parseMutation(query: string, operationName: string | null | undefined): RoutedMutation | undefined {
  let document: DocumentNode;
  try {
    document = parse(query, { noLocation: true, maxTokens: GRAPHQL_LIMITS.tokens });
  } catch {
    return undefined;
  }
  const operation = getOperationAST(document, operationName);
  if (operation?.operation !== 'mutation') return undefined;
  return { text: commandText(document, operation, query), field: describeOperation(document, operationName ?? undefined).field };
}

/**
 * What the command service is sent for `operation`: the caller's text when it holds that one
 * operation only; otherwise the operation and the fragments it uses, since the document's
 * other operations may name this service's own fields, which the command service has not.
 */
function commandText(document: DocumentNode, operation: OperationDefinitionNode, source: string | undefined): string {
  const operations = document.definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION);
  if (operations.length === 1 && source !== undefined) return source;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
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
