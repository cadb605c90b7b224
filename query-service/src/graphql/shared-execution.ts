import {
  Kind,
  TypeInfo,
  createSourceEventStream,
  execute,
  getOperationAST,
  print,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { describeOperation, endSpan, subscriptionDeliveries, subscriptionExecutions, tracer, withSpan } from '@chat/platform';
import { frameLane } from '../adapters/live-frames.ts';
import { deliveryTrace } from '../adapters/live-trace.ts';
import { ATTACH_LANE, acceptsLane } from '../app/live-queue.ts';

// Execute once, send to many. An event reaching a room with a thousand subscribers used to be
// a thousand executions of the same selection over the same event. Subscribers whose
// operations are the same (the document, and the variables its selection uses) now share one
// execution per event: the first one executes, the others reuse its result. Live events
// are one object per process (parsed once from Redis), which is what the results are kept by;
// a replay from Postgres makes its own objects, so it executes for its subscriber alone.
//
// Two things must hold for a subscriber to take another's result, and the schema says both:
// the root field resolves to the event itself (SHARES_EXECUTION), so its own arguments (the
// room, the cursor) shape only which events come; and no selected field depends on who asks
// (PER_VIEWER: an unread count, "reacted by me"), so one caller's result is everyone's.
//
// Subscribers over graphql-ws at the live edge get more: the shared result is serialised once,
// and each one's `next` message is sent straight to its socket, outside graphql-ws and envelop
// (adapters/live-frames.ts). That holds only while no plugin maps subscription results but
// Yoga's error masking (results with errors still go through it): a plugin with
// onSubscribeResult would not see those deliveries.
//
// A live event that came with a trace is executed in it (the queries its fields make too), in a
// span named like the operation (`subscription roomEvents`): once per event and operation key.

/** Extensions of a subscription field that resolves to the event itself. */
export const SHARES_EXECUTION = { sharesExecution: true } as const;
/** Extensions of a field whose value depends on the caller: an operation selecting one is executed per subscriber. */
export const PER_VIEWER = { perViewer: true } as const;

/** Results per event, per operation key; gone with the event. */
const results = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();
const printed = new WeakMap<DocumentNode, string>();

/**
 * `beforeEachExecution` runs before an event is executed, shared or not, with the executing
 * subscriber's context (fresh loaders, say); `aroundEachExecution` wraps each execution (in a
 * budget of its own, say).
 */
export function useSharedSubscriptionExecution({
  beforeEachExecution,
  aroundEachExecution = (run) => run(),
}: {
  beforeEachExecution: (contextValue: unknown) => void;
  aroundEachExecution?: (run: () => Promise<ExecutionResult>) => Promise<ExecutionResult>;
}): Plugin {
  return {
    onSubscribe({ args, setSubscribeFn }) {
      const key = sharingKey(args);
      const { type, field } = describeOperation(args.document, args.operationName ?? undefined);
      setSubscribeFn(async (subscribeArgs) => {
        const stream = await createSourceEventStream(subscribeArgs);
        if (!(Symbol.asyncIterator in stream)) return stream; // errors before the stream began
        const executeShared = (event: unknown) =>
          executeOnce(event, key, () => {
            subscriptionExecutions.inc();
            beforeEachExecution(subscribeArgs.contextValue);
            return aroundEachExecution(() =>
              inTraceOf(event, `${type} ${field}`, () => Promise.resolve(execute({ ...subscribeArgs, rootValue: event }))),
            );
          });
        // Live events at the live edge skip the reader: their shared result's bytes go straight to the socket.
        const lane = key === undefined ? undefined : frameLane<object>(subscribeArgs.contextValue, key, executeShared);
        if (lane && acceptsLane<object>(stream)) stream[ATTACH_LANE](lane);
        return mapStream(stream, (event) => {
          subscriptionDeliveries.inc();
          return executeShared(event);
        });
      });
    },
  };
}

function executeOnce(event: unknown, key: string | undefined, run: () => Promise<ExecutionResult>): Promise<ExecutionResult> {
  if (key === undefined || typeof event !== 'object' || event === null) return run();
  let byKey = results.get(event);
  if (!byKey) results.set(event, (byKey = new Map()));
  let result = byKey.get(key);
  if (!result) byKey.set(key, (result = run()));
  return result;
}

/** Runs `run` in a span of the event's delivery trace, when it has one. */
function inTraceOf(event: unknown, name: string, run: () => Promise<ExecutionResult>): Promise<ExecutionResult> {
  const delivery = deliveryTrace(event);
  if (!delivery) return run();
  const span = tracer.startSpan(name, {}, delivery);
  return withSpan(span, run, delivery).then(
    (result) => {
      endSpan(span, result.errors?.length ? result.errors[0] : undefined);
      return result;
    },
    (error: unknown) => {
      endSpan(span, error);
      throw error;
    },
  );
}

/** What makes two subscribers' executions of an event the same, or undefined when they cannot share one. */
export function sharingKey({ schema, document, operationName, variableValues }: ExecutionArgs): string | undefined {
  const operation = getOperationAST(document, operationName);
  const root = operation?.selectionSet.selections[0];
  if (operation?.operation !== 'subscription' || root?.kind !== Kind.FIELD) return undefined;
  const field = schema.getSubscriptionType()?.getFields()[root.name.value];
  if (!field?.extensions.sharesExecution) return undefined;

  let perViewer = false;
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field: () => {
        if (typeInfo.getFieldDef()?.extensions.perViewer) perViewer = true;
      },
    }),
  );
  if (perViewer) return undefined;

  // The variables the selection uses; the root field's own arguments (room, cursor) choose events only.
  const used = new Set<string>();
  const collect = { Variable: (node: { name: { value: string } }) => void used.add(node.name.value) };
  visit((root as FieldNode).selectionSet ?? { kind: Kind.SELECTION_SET, selections: [] }, collect);
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) visit(definition, collect);
  const values = [...used].sort().map((name) => [name, variableValues?.[name]]);

  let text = printed.get(document);
  if (text === undefined) printed.set(document, (text = print(document)));
  return JSON.stringify([text, operationName ?? null, values]);
}

/** `stream` with each event mapped, and return() passed straight through (an unsubscribe ends it at once). */
function mapStream<T, R>(stream: AsyncIterable<T>, map: (value: T) => Promise<R>): AsyncIterableIterator<R> {
  const inner = stream[Symbol.asyncIterator]();
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      const result = await inner.next();
      return result.done ? { done: true, value: undefined } : { done: false, value: await map(result.value) };
    },
    async return() {
      await inner.return?.();
      return { done: true, value: undefined };
    },
  };
}
