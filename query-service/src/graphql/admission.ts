import type { ExecutionResult } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { FieldPrices, PricedOperation } from '@chat/platform';
import type { QueryBudget } from '../adapters/query-budget.ts';
import type { QueryRateLimit } from '../adapters/query-rate-limit.ts';
import type { Context } from './builder.ts';

// One admission path for every operation, whatever carried it (HTTP, SSE, graphql-ws), since
// all of them run through Yoga's envelop:
// - who asks: the context's caller, verified per request over HTTP and per socket (closed when
//   its session ends or its token expires) over graphql-ws;
// - subscriptions over graphql-ws only: that is where the caps, the subscribe rate limit and
//   the closing on log-out, expiry and password change live, so one asked over HTTP (SSE,
//   multipart) is refused with SUBSCRIPTION_TRANSPORT before it starts;
// - what it may cost (graphql-limits.ts), and a rate limit weighted by that cost for queries,
//   per user, or per address before signing in (mutations are limited on the command side);
// - what it may make Postgres do while it runs (QueryBudget), per execution, and per event
//   for a subscription (see main.ts).

/** A page of search hits when searchMessages is given no `first`. */
export const SEARCH_DEFAULT_PAGE = 20;

/** What fields cost beyond the rule: a whole-history search is the dearest read there is. */
export const QUERY_PRICES: FieldPrices = {
  'Query.searchMessages': { base: 2000, defaultPage: SEARCH_DEFAULT_PAGE },
  'Query.searchUsers': { items: 20 },
};

/** Whether an operation came over graphql-ws: only that transport's context carries its socket. */
function overWebSocket(contextValue: unknown): boolean {
  return typeof contextValue === 'object' && contextValue !== null && (contextValue as { socket?: unknown }).socket !== undefined;
}

/** The cost-weighted rate limit, for graphqlLimits' `admit`. */
export function admitByCost(rateLimit: QueryRateLimit) {
  return async ({ type, cost, contextValue }: PricedOperation) => {
    // Subscriptions have their own limit and caps (graphql-ws-server.ts). Mutations read nothing
    // here (they run on the command side) and are limited there: commands per user, sign-ups and
    // log-ins per address. A Redis round trip per mutation here would count them twice.
    if (type !== 'query') return undefined;
    const ctx = contextValue as Context;
    const caller = 'code' in ctx.caller ? { address: ctx.commandCredentials.clientAddress } : { userId: ctx.caller.userId };
    return rateLimit.admit(caller, cost);
  };
}

/** Refuses subscriptions over HTTP, and runs every execution within a budget. */
export function useAdmission(budget: QueryBudget): Plugin {
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      if (overWebSocket(args.contextValue)) return;
      setResultAndStopExecution({
        errors: [
          createGraphQLError('subscriptions are served over graphql-ws (WebSocket) on this endpoint only, not over HTTP', {
            extensions: { code: 'SUBSCRIPTION_TRANSPORT' },
          }),
        ],
      });
    },
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn((args) => budget.within(() => executeFn(args) as Promise<ExecutionResult>));
    },
  };
}
