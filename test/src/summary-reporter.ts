import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Reporter, SerializedError, TestModule } from 'vitest/node';

// One plain closing line, `tests: N passed, N failed, N skipped`, that any CI can read
// without knowing vitest's own summary format. When a test failed, the services' last
// warnings and errors of this run come first, then each broken file with its own errors (a
// failed set-up or an error thrown between tests): CI keeps only the tail of this output.

const LOGS = join(import.meta.dirname, '..', '..', '.data', 'logs');
const SHOWN_LOG_LINES = 40;

export default class SummaryReporter implements Reporter {
  private readonly startedAt = Date.now();

  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed') counts.failed++;
        else counts.skipped++;
      }
    }
    // A file whose set-up failed runs none of its tests: they count as skipped, and the file as failed.
    const brokenFiles = testModules.filter((m) => m.state() === 'failed').length;
    if (counts.failed > 0 || brokenFiles > 0) process.stdout.write(this.serviceTroubles());
    process.stdout.write(brokenFileReport(testModules, unhandledErrors));
    const files = brokenFiles > 0 ? `, ${brokenFiles} test files failed` : '';
    process.stdout.write(`\ntests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped${files}\n`);
  }

  /** The last warn and error lines that test stacks' services logged during this run, oldest first. */
  private serviceTroubles(): string {
    let files: string[];
    try {
      files = readdirSync(LOGS).filter((f) => f.startsWith('t_') && statSync(join(LOGS, f)).mtimeMs >= this.startedAt);
    } catch {
      return '';
    }
    const lines: { t: string; text: string }[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(join(LOGS, file), 'utf8');
      } catch {
        continue; // removed meanwhile
      }
      for (const line of text.split('\n')) {
        if (!line.includes('"level":"warn"') && !line.includes('"level":"error"')) continue;
        lines.push({ t: /"t":"([^"]+)"/.exec(line)?.[1] ?? '', text: `${file}: ${line.slice(0, 600)}` });
      }
    }
    const last = lines.sort((a, b) => a.t.localeCompare(b.t)).slice(-SHOWN_LOG_LINES);
    return last.length ? `\nlast service warnings and errors of this run:\n${last.map((l) => l.text).join('\n')}\n` : '';
  }
}

const SHOWN_STACK_LINES = 6;

function describeError(error: SerializedError): string {
  const stack = (error.stack ?? '')
    .split('\n')
    .slice(1, SHOWN_STACK_LINES + 1)
    .join('\n');
  return `  ${error.name ?? 'Error'}: ${error.message}${stack ? `\n${stack}` : ''}`;
}

/** Each failed file with its failed tests' errors and those of no one test (set-up, teardown, collection). */
function brokenFileReport(modules: ReadonlyArray<TestModule>, unhandled: ReadonlyArray<SerializedError>): string {
  const parts: string[] = [];
  for (const module of modules) {
    if (module.state() !== 'failed') continue;
    const errors = [...module.errors(), ...[...module.children.allSuites()].flatMap((s) => s.errors())];
    const failedTests = [...module.children.allTests('failed')].flatMap((t) => [
      `  failed: ${t.fullName}`,
      ...(t.result().errors ?? []).map(describeError),
    ]);
    parts.push(`broken file ${relative(process.cwd(), module.moduleId)}`, ...failedTests, ...errors.map(describeError));
  }
  if (unhandled.length) parts.push('errors outside any test:', ...unhandled.map(describeError));
  return parts.length ? `\n${parts.join('\n')}\n` : '';
}
