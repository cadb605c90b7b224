import { AsyncLocalStorage } from 'node:async_hooks';
import { createGraphQLError } from 'graphql-yoga';
import type { ReadModelQueries } from './read-models.ts';

// What one execution may make Postgres do, counted as it happens: the cost limit prices a
// document before it runs (graphql-limits.ts), and this stops one it misprices. Every statement
// the read models send inside an execution's scope counts against that execution's budget, and
// so do the rows each answers; past either, the next statement is not sent, and the fields
// that needed it fail with BUDGET_EXCEEDED (the rest of the answer stands). The scope follows
// the execution's async work (DataLoader batches included) through AsyncLocalStorage; what runs
// outside any (a subscription's replay, the lost-notification sweep) is bounded elsewhere.

export interface BudgetLimits {
  /** SQL statements per execution (QUERY_BUDGET_STATEMENTS). */
  statements: number;
  /** Rows read per execution (QUERY_BUDGET_ROWS). */
  rows: number;
}

export const BUDGET_DEFAULTS: BudgetLimits = { statements: 500, rows: 50_000 };

class Budget {
  statements = 0;
  rows = 0;
  private readonly limits: BudgetLimits;

  constructor(limits: BudgetLimits) {
    this.limits = limits;
  }

  /** Refuses the next statement once either count is spent. */
  beforeStatement(): void {
    if (this.statements >= this.limits.statements || this.rows >= this.limits.rows) {
      throw createGraphQLError(
        `this request needs more than ${this.limits.statements} statements or ${this.limits.rows} rows; ask for smaller pages`,
        { extensions: { code: 'BUDGET_EXCEEDED' } },
      );
    }
    this.statements += 1;
  }
}

export class QueryBudget {
  private readonly scope = new AsyncLocalStorage<Budget>();
  private readonly limits: BudgetLimits;

  constructor(limits: BudgetLimits) {
    this.limits = limits;
  }

  /** Runs `execution` with a budget of its own. */
  within<T>(execution: () => T): T {
    return this.scope.run(new Budget(this.limits), execution);
  }

  /** `pool`, counting each statement and its rows against the budget of the execution that sends it. */
  counted(pool: ReadModelQueries): ReadModelQueries {
    const scope = this.scope;
    return {
      query: (async (...args: Parameters<ReadModelQueries['query']>) => {
        const budget = scope.getStore();
        budget?.beforeStatement();
        const result = await (pool.query as (...a: unknown[]) => Promise<{ rows?: unknown[]; rowCount?: number | null }>)(...args);
        if (budget) budget.rows += result.rows?.length ?? result.rowCount ?? 0;
        return result;
      }) as ReadModelQueries['query'],
    };
  }
}
