import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startStack, type Stack } from '@chat/infra';

// The README's quickstart, run as a newcomer pastes it (the lines between its quickstart
// markers, only the address changed to a test stack's), then the Python subscriber beside it.

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('quickstart');
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

function quickstartLines(): string {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const block = readme.slice(readme.indexOf('<!-- quickstart:begin'), readme.indexOf('<!-- quickstart:end -->'));
  return /```sh\n([\s\S]*?)```/.exec(block)![1]!;
}

describe("the README's quickstart", () => {
  it('signs up, makes a room, subscribes, sends, reads history and refreshes, line by line', () => {
    const origin = new URL(stack.queryUrl).origin;
    const script = quickstartLines().replaceAll('http://127.0.0.1:4002/graphql', `${origin}/graphql`);
    // The subscriber the lines start prints what it gets: give it a moment, then end it.
    const ws = `${origin.replace('http', 'ws')}/graphql`;
    const run = spawnSync(
      'bash',
      ['-c', `set -u\n${script.replace('"$ROOM" &', `"$ROOM" "${ws}" &`)}\nsleep 3\nkill %1\necho "ROOM=$ROOM TOKEN=$TOKEN"`],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/"accessToken":"[^"]+"/);
    expect(out).toMatch(/^room [0-9a-f-]{36}$/m);
    expect(out).toMatch(/"sendMessage":\{"messageId":"[0-9a-f-]{36}"\}/);
    expect(out).toMatch(/"messages":\{"edges":\[\{"node":\{"sequence":1,"senderId":"[0-9a-f-]{36}","body":"hello"\}\}\]\}/);
    expect(out).toMatch(/\{"sequence":1,"senderId":"[0-9a-f-]{36}","body":"hello"\}\n/); // the live subscriber's line
    expect(out).toMatch(/"refreshToken":\{"accessToken":"[^"]+","refreshToken":"[^"]+"\}/);

    // The Python subscriber (Debian's python3-websockets) gets the same message.
    const [, room, token] = /ROOM=(\S+) TOKEN=(\S+)/.exec(out)!;
    const python = spawnSync('timeout', ['5', '/usr/bin/python3', 'examples/subscribe.py', token!, room!, ws], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(python.stdout, python.stderr).toMatch(/"body": "hello"/);
  }, 90_000);
});
