import { Kind, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { graphqlDuration, graphqlOperations } from './metrics.ts';

/**
 * Rate, errors and latency of each query and mutation, labelled by its type and first root
 * field (bounded by the schema, unlike an operation name, which the client makes up).
 * Subscriptions are counted when they start; their deliveries have their own counters.
 */
export function useOperationMetrics(): Plugin {
  return {
    onExecute({ args }) {
      const { type, field } = describeOperation(args.document, args.operationName ?? undefined);
      const stop = graphqlDuration.startTimer({ type, field });
      return {
        onExecuteDone({ result }) {
          stop();
          countOperation({ type, field }, 'errors' in result && Boolean(result.errors?.length));
        },
      };
    },
    onSubscribe({ args }) {
      const { type, field } = describeOperation(args.document, args.operationName ?? undefined);
      graphqlOperations.inc({ type, field, outcome: 'ok' });
    },
  };
}

/** One query or mutation done, failed when its result had errors (or it threw). */
export function countOperation(labels: { type: string; field: string }, failed: boolean): void {
  graphqlOperations.inc({ ...labels, outcome: failed ? 'error' : 'ok' });
}

/** An operation's type and first root field: bounded by the schema, so fit for metric labels and span names. */
export function describeOperation(document: DocumentNode, operationName: string | undefined): { type: string; field: string } {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operations.find((o) => o.name?.value === operationName) ?? operations[0];
  const first = operation?.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
  return { type: operation?.operation ?? 'unknown', field: first?.kind === Kind.FIELD ? first.name.value : 'unknown' };
}
