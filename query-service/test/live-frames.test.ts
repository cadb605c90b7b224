import type { ExecutionResult } from 'graphql';
import type { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { frameLane, framesTo } from '../src/adapters/live-frames.ts';
import type { Lane, LaneOwner } from '../src/app/live-queue.ts';

// The lane that sends a shared execution's result to sockets: what it writes, in
// what order, and what it leaves to graphql-ws's path. Executions are resolved by hand, so
// the order they finish in is the test's to choose.

/** A socket that records the text messages sent to it, as a client would read them. */
function fakeSocket(bufferedAmount = 0) {
  const written: string[] = [];
  const send = (data: Buffer, options: { binary: boolean }) => {
    expect(options.binary).toBe(false);
    written.push(data.toString('utf8'));
  };
  return { readyState: 1, bufferedAmount, send, written };
}

/** Executions that finish when the test says. */
function executions() {
  const pending = new Map<object, (result: ExecutionResult) => void>();
  let count = 0;
  return {
    get count() {
      return count;
    },
    execute: (event: object) => {
      count++;
      return new Promise<ExecutionResult>((resolve) => pending.set(event, resolve));
    },
    finish: (event: object, result: ExecutionResult) => pending.get(event)!(result),
  };
}

function lane(socket: ReturnType<typeof fakeSocket>, id: string, run: ReturnType<typeof executions>) {
  const context = {};
  framesTo(context, socket as unknown as WebSocket, id);
  const owner = { idle: 0, given: [] as object[][] };
  const open = frameLane<object>(context, 'key', run.execute)!;
  const opened: Lane<object> = open({
    idle: () => void owner.idle++,
    giveBack: (values) => void owner.given.push(values),
  } satisfies LaneOwner<object>);
  return { lane: opened, owner };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('live frames', () => {
  it('executes and serialises an event once for every lane, and writes each its graphql-ws next message, in order', async () => {
    const run = executions();
    const [a, b] = [fakeSocket(), fakeSocket()];
    const [la, lb] = [lane(a, '1', run), lane(b, 'x"y', run)];
    const [e1, e2] = [{}, {}];
    for (const event of [e1, e2]) expect([la.lane.offer(event), lb.lane.offer(event)]).toEqual([true, true]);
    expect(run.count).toBe(2);
    run.finish(e2, { data: { n: 2 } }); // finishes first, is written second
    await tick();
    expect([a.written, la.lane.busy]).toEqual([[], true]);
    run.finish(e1, { data: { n: 1 } });
    await tick();
    expect(a.written).toEqual([
      '{"id":"1","type":"next","payload":{"data":{"n":1}}}',
      '{"id":"1","type":"next","payload":{"data":{"n":2}}}',
    ]);
    expect(b.written[0]).toBe(JSON.stringify({ id: 'x"y', type: 'next', payload: { data: { n: 1 } } }));
    expect([la.lane.busy, la.owner.idle > 0]).toEqual([false, true]);
  });

  it('sends messages of every size whole: under 126 bytes, under 64 KiB, and beyond (each a WebSocket length class)', async () => {
    const run = executions();
    const socket = fakeSocket();
    const { lane: l } = lane(socket, '1', run);
    const bodies = ['', 'x'.repeat(1000), 'y'.repeat(70_000)];
    const events = bodies.map(() => ({}));
    for (const event of events) l.offer(event);
    bodies.forEach((body, i) => run.finish(events[i]!, { data: { body } }));
    await tick();
    expect(socket.written).toEqual(bodies.map((body) => JSON.stringify({ id: '1', type: 'next', payload: { data: { body } } })));
  });

  it('gives back a result with errors, and every value after it, for graphql-ws to send masked', async () => {
    const run = executions();
    const socket = fakeSocket();
    const { lane: l, owner } = lane(socket, '1', run);
    const [e1, e2, e3] = [{}, {}, {}];
    for (const event of [e1, e2, e3]) l.offer(event);
    run.finish(e3, { data: { n: 3 } });
    run.finish(e2, { data: null, errors: [] });
    run.finish(e1, { data: { n: 1 } });
    await tick();
    expect(socket.written).toEqual(['{"id":"1","type":"next","payload":{"data":{"n":1}}}']);
    expect(owner.given).toEqual([[e2, e3]]);
    expect(l.busy).toBe(false);
  });

  it('takes nothing for a socket that is not keeping up, and drops what it holds when closed', async () => {
    const run = executions();
    const slow = lane(fakeSocket(1024 * 1024), '1', run);
    expect(slow.lane.offer({})).toBe(false);
    const socket = fakeSocket();
    const { lane: l } = lane(socket, '2', run);
    const event = {};
    l.offer(event);
    l.close();
    run.finish(event, { data: {} });
    await tick();
    expect([socket.written, l.busy, l.offer({})]).toEqual([[], false, false]);
  });
});
