import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '@chat/infra';

// The operator commands answer --help with their usage and a wrong option with what was wrong
// and the usage (exit 64), never a stack trace; ./chat answers an unknown command the same way.

function run(command: string, args: string[]) {
  return spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
}

describe('operator commands', () => {
  for (const script of ['projector/src/rebuild.ts', 'projector/src/dead-letters.ts', 'command-service/src/content-keys.ts']) {
    it(`${script} prints its usage on --help and refuses an unknown option without a stack trace`, () => {
      const help = run(process.execPath, [script, '--help']);
      expect(help.status).toBe(0);
      expect(help.stdout).toMatch(/^usage: \.\/chat /);

      const wrong = run(process.execPath, [script, '--no-such-option']);
      expect(wrong.status).toBe(64);
      expect(wrong.stderr).toContain("Unknown option '--no-such-option'");
      expect(wrong.stderr).toContain('usage: ./chat ');
      expect(wrong.stderr).not.toMatch(/\n\s+at /);
    });
  }

  it('./chat names an unknown command and lists the real ones', () => {
    const result = run(`${ROOT}chat`, ['no-such-command']);
    expect(result.status).toBe(64);
    expect(result.stderr).toContain("./chat: no command 'no-such-command'");
    expect(result.stderr).toContain('./chat up');
    const help = run(`${ROOT}chat`, ['help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('./chat test:faults');
  });
});
