import type { ExecutionResult } from 'graphql';
import type { WebSocket } from 'ws';
import { subscriptionDeliveries, subscriptionFrames } from '@chat/platform';
import type { Lane, LaneOwner } from '../app/live-queue.ts';

// Live delivery that costs less than a write. Through graphql-ws, each subscriber's copy of
// an event took its own trip: the queue's promise, graphql-ws's async iterator, envelop's
// per-result hooks, a JSON.stringify of the whole message and a promise around socket.send
// (20–45 µs of CPU per delivery, bench:fanout). Here an event at the live edge is serialised
// once per shared execution (graphql/shared-execution.ts), and each subscriber's `next`
// message is that payload's bytes with its id around them, sent as one message.
//
// The bytes are graphql-ws's own: it sends JSON.stringify({ id, type: 'next', payload }), the
// payload being the result with `errors` (masked, toJSON'd) last, and no replacer is set. Only
// results without errors are sent here, so envelop's per-result hooks (Yoga's error masking
// is the only one: no plugin of ours has onSubscribeResult) would not change them: a result
// with errors, an execution that failed, and every value after one, are given back to the
// subscriber's reader and take graphql-ws's path, masked as ever.
//
// A lane takes nothing when its subscriber would not keep up: a socket not open, or one with
// MAX_BUFFERED bytes still unsent (a slow client then gets graphql-ws's path, which waits for
// each write), or MAX_HELD values waiting on executions; the reader's backpressure takes over.
//
// What is left per delivery is mostly the write itself. On the shared 2-core box (a Firecracker
// VM) a bare net.Socket.write of 120 bytes to a loopback socket read by another process cost
// its writer about 12 µs of CPU (9 of them in the kernel) at 20,000 writes a second in bursts
// of 100, and about 40 µs (20 in the kernel) at 2,000 a second in bursts of 10; bench:fanout
// measured 23 and 55 µs per delivery in those shapes (10×100 and 100×10 at 200 msg/s). One
// write per subscriber per event is the floor while each subscriber has a socket of its own.

/** Bytes a socket may have unsent and still be written to directly (some hundreds of messages). */
const MAX_BUFFERED = 64 * 1024;
/** Values a lane holds waiting on their executions, as the queue's own high-water mark. */
const MAX_HELD = 200;
const OPEN = 1;

/** One event's result for one operation key, serialised once for all its subscribers. */
interface Shared {
  /** The payload's JSON (UTF-8), when the result had no errors. */
  payload: Buffer | undefined;
  done: boolean;
  /** Lanes holding this one, to be drained once it is done. */
  lanes: { drain(): number }[] | undefined;
}

const shared = new WeakMap<object, Map<string, Shared>>();

/** A subscriber's socket and operation id, registered by the graphql-ws server per operation context. */
interface Target {
  socket: WebSocket;
  /** `{"id":<id>,"type":"next","payload":` */
  prefix: Buffer;
}

const CLOSE_BRACE_BYTE = 0x7d; // '}'

const targets = new WeakMap<object, Target>();

/** Values of the operation with this context may be sent to `socket` as `next` messages of `id`. */
export function framesTo(contextValue: object, socket: WebSocket, id: string): void {
  targets.set(contextValue, { socket, prefix: Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`) });
}

/**
 * A lane for the operation with this context (if it runs over graphql-ws), sending the values
 * offered to it as their shared execution's result, `execute` being that shared execution.
 */
export function frameLane<T extends object>(
  contextValue: unknown,
  key: string,
  execute: (value: T) => Promise<ExecutionResult>,
): ((owner: LaneOwner<T>) => Lane<T>) | undefined {
  const target = typeof contextValue === 'object' && contextValue !== null ? targets.get(contextValue) : undefined;
  if (!target) return undefined;
  return (owner) => new FrameLane<T>(target, key, execute, owner);
}

class FrameLane<T extends object> implements Lane<T> {
  private readonly target: Target;
  private readonly key: string;
  private readonly execute: (value: T) => Promise<ExecutionResult>;
  private readonly owner: LaneOwner<T>;
  /** What it holds, oldest first: the values and their shared results. */
  private held: T[] = [];
  private results: Shared[] = [];
  private closed = false;

  constructor(target: Target, key: string, execute: (value: T) => Promise<ExecutionResult>, owner: LaneOwner<T>) {
    this.target = target;
    this.key = key;
    this.execute = execute;
    this.owner = owner;
  }

  get busy(): boolean {
    return this.held.length > 0;
  }

  offer(value: T): boolean {
    const { socket } = this.target;
    if (this.closed || socket.readyState !== OPEN || socket.bufferedAmount > MAX_BUFFERED || this.held.length >= MAX_HELD) return false;
    const result = this.sharedResult(value);
    this.held.push(value);
    this.results.push(result);
    if (result.done) counted(this.drain());
    else (result.lanes ??= []).push(this);
    return true;
  }

  close(): void {
    this.closed = true;
    this.held = [];
    this.results = [];
  }

  /** Sends what is done at the front, in order, and says how many; gives back the rest from the first it cannot send. */
  drain(): number {
    const { socket, prefix } = this.target;
    let sent = 0;
    let next = 0;
    let blocked = false;
    for (; next < this.results.length; next++) {
      const { done, payload } = this.results[next]!;
      if (!done) break;
      if (payload === undefined) {
        blocked = true;
        break;
      }
      // A socket closing is graphql-ws's to clean up (it ends every operation): the value goes with it.
      if (socket.readyState !== OPEN) continue;
      // One buffer through ws's own send (one writev of header and message): writing beside ws
      // on its raw socket saved about 2 µs a delivery here, not worth depending on ws's insides.
      socket.send(nextMessage(prefix, payload), { binary: false });
      sent++;
    }
    if (blocked) {
      const back = this.held.slice(next);
      this.held = [];
      this.results = [];
      this.owner.giveBack(back);
    } else if (next === this.held.length) {
      // The usual case, everything sent: emptied in place, without splice's copy of what it removes.
      this.held.length = 0;
      this.results.length = 0;
    } else if (next > 0) {
      this.held.splice(0, next);
      this.results.splice(0, next);
    }
    if (this.held.length === 0) this.owner.idle();
    return sent;
  }

  /** The result of `value` for this lane's operation: one execution and one serialisation for every lane. */
  private sharedResult(value: T): Shared {
    let byKey = shared.get(value);
    if (!byKey) shared.set(value, (byKey = new Map()));
    const known = byKey.get(this.key);
    if (known) return known;
    const entry: Shared = { payload: undefined, done: false, lanes: undefined };
    byKey.set(this.key, entry);
    const settle = (payload: Buffer | undefined) => {
      entry.payload = payload;
      entry.done = true;
      const lanes = entry.lanes;
      entry.lanes = undefined;
      let sent = 0;
      if (lanes) for (const lane of lanes) sent += lane.drain();
      counted(sent);
    };
    this.execute(value).then(
      (executed) => settle(executed.errors === undefined ? Buffer.from(JSON.stringify(executed)) : undefined),
      () => settle(undefined),
    );
    return entry;
  }
}

/** `prefix`, `payload` and the closing brace in one buffer (Buffer.concat's work without its list and length pass). */
function nextMessage(prefix: Buffer, payload: Buffer): Buffer {
  const message = Buffer.allocUnsafe(prefix.length + payload.length + 1);
  prefix.copy(message, 0);
  payload.copy(message, prefix.length);
  message[message.length - 1] = CLOSE_BRACE_BYTE;
  return message;
}

/** Deliveries written, counted once per batch rather than per socket. */
function counted(sent: number): void {
  if (sent === 0) return;
  subscriptionDeliveries.inc(sent);
  subscriptionFrames.inc(sent);
}
