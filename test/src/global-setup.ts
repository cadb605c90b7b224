import { countOf, findLeftovers, infraUp, removeLeftovers, stopStartedContainers, type Leftovers } from '@chat/infra';

// Integration tests need the real infrastructure: bring it up (idempotent) before any file
// runs, printing which path each component took (given, reused, testcontainers or native).
// When it cannot come up, this throws and every integration test fails; none skips.
//
// Tests clean up after themselves (a stack removes its topics, groups, subjects, keys, schemas
// and objects when it stops): what a run left behind is counted after its last test, and fails
// the run. It is not removed then: it is told apart from this run's only by its time, and a
// second run or a benchmark on the same servers meanwhile would lose its live resources.
// What is a day old or more (a run killed halfway, a leak reported before) is swept first.

const DAY_MS = 24 * 60 * 60 * 1000;

export default async function setup(): Promise<() => Promise<void>> {
  const config = await infraUp();
  const runStarted = Date.now();
  const swept = await removeLeftovers(config, ({ madeAt }) => madeAt < runStarted - DAY_MS);
  if (countOf(swept) > 0) console.log(`test leftovers older than a day removed: ${summary(swept)}`);
  return async () => {
    // A second's slack: names carry the time a test made them, in milliseconds, by its own clock read.
    const ours = ({ madeAt }: { madeAt: number }) => madeAt >= runStarted - 1000;
    const left = await findLeftovers(config, ours);
    await stopStartedContainers();
    if (countOf(left) === 0) return;
    throw new Error(
      `this run's tests left ${summary(left)} behind; each test must remove what it makes ` +
        '(or another test run or benchmark used these servers meanwhile, and these are its own)',
    );
  };
}

function summary(left: Leftovers): string {
  return Object.entries(left)
    .filter(([, list]) => list.length > 0)
    .map(([kind, list]: [string, string[]]) => `${list.length} ${kind} (${list.slice(0, 3).join(', ')}${list.length > 3 ? ', …' : ''})`)
    .join('; ');
}
