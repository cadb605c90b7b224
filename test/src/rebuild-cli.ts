import { spawn } from 'node:child_process';
import { ROOT, serviceEnv, type Stack } from '@chat/infra';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `./chat rebuild` against a test stack, as an operator runs it: a child process, never run
 * synchronously, since this process may be relaying the stack's broker.
 */
export function runRebuild(stack: Stack, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['projector/src/rebuild.ts', ...args], {
      cwd: ROOT,
      env: { ...serviceEnv(stack.config), ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
