import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

// One plain closing line, `tests: N passed, N failed, N skipped`, that any CI can read
// without knowing vitest's own summary format. When a test failed, the services' last
// warnings and errors of this run come first: CI keeps only this output, not .data/logs.

const LOGS = join(import.meta.dirname, '..', '..', '.data', 'logs');
const SHOWN_LOG_LINES = 40;

export default class SummaryReporter implements Reporter {
  private readonly startedAt = Date.now();

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
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
        if (line.includes('switched default partitioner')) continue;
        lines.push({ t: /"t":"([^"]+)"/.exec(line)?.[1] ?? '', text: `${file}: ${line.slice(0, 600)}` });
      }
    }
    const last = lines.sort((a, b) => a.t.localeCompare(b.t)).slice(-SHOWN_LOG_LINES);
    return last.length ? `\nlast service warnings and errors of this run:\n${last.map((l) => l.text).join('\n')}\n` : '';
  }
}
