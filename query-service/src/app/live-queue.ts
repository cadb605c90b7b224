// One subscriber's stream: values pushed by whoever produces them (a replay from Postgres, a
// live notification), read by graphql-ws with next(). A push to a reader already waiting
// hands the value straight over, with no promise of its own: with a thousand subscribers an
// event is a thousand pushes, and a Repeater's promise per push was a good part of what one
// delivery cost. A reader that falls behind makes push() return a promise (resolved once it
// has caught up), so a replay never reads history faster than its subscriber takes it.
//
// A live value at the live edge (the reader waiting, nothing buffered) may skip the reader
// altogether: a lane, when one is attached (adapters/live-frames.ts), sends it to the socket
// as bytes serialised once for every subscriber with the same operation. Order holds across
// the two ways: while the lane holds values it has not sent, the reader is handed nothing
// (no value, no end, no failure), and what the lane cannot send it gives back, in order, to
// the front of the queue.

const HIGH_WATER = 200;
const LOW_WATER = 50;

interface Waiter<T> {
  resolve(result: IteratorResult<T>): void;
  reject(error: unknown): void;
}

/** Where live values at the live edge go instead of through the reader. */
export interface Lane<T> {
  /** Takes `value` to send it itself (true), or leaves it to the reader (false). */
  offer(value: T): boolean;
  /** It holds values it has not sent yet. */
  readonly busy: boolean;
  /** The reader left: what it holds is dropped. */
  close(): void;
}

/** What a lane may do to the queue it serves. */
export interface LaneOwner<T> {
  /** It holds nothing any more: the reader may go on. */
  idle(): void;
  /** Values it took but cannot send, oldest first: the reader gets them before anything newer. */
  giveBack(values: T[]): void;
}

/** A stream that accepts a lane: a LiveQueue, or a wrapper that passes its values on unchanged. */
export const ATTACH_LANE = Symbol('attachLane');
export interface LaneAttachable<T> {
  [ATTACH_LANE](open: (owner: LaneOwner<T>) => Lane<T>): void;
}

export function acceptsLane<T>(stream: unknown): stream is LaneAttachable<T> {
  return typeof stream === 'object' && stream !== null && ATTACH_LANE in stream;
}

export class LiveQueue<T> implements AsyncIterableIterator<T>, LaneAttachable<T> {
  private readonly start: (queue: LiveQueue<T>) => () => void;
  private readonly values: T[] = [];
  private waiter: Waiter<T> | undefined;
  private space: { promise: Promise<void>; resolve(): void } | undefined;
  private failure: { error: unknown } | undefined;
  private stopped = false;
  private cleanup: (() => void) | undefined;
  private steps: Promise<void> = Promise.resolve();
  private pendingSteps = 0;
  private lane: Lane<T> | undefined;

  /** `start` runs on the first read, and returns what undoes it (run once the stream ends, however it ends). */
  constructor(start: (queue: LiveQueue<T>) => () => void) {
    this.start = start;
  }

  [ATTACH_LANE](open: (owner: LaneOwner<T>) => Lane<T>): void {
    this.lane = open({
      idle: () => this.settle(),
      giveBack: (values) => {
        this.values.unshift(...values);
        this.settle();
      },
    });
  }

  /** True once the stream ended (the reader left, or it failed): producers stop their work. */
  get closed(): boolean {
    return this.stopped;
  }

  /** Hands `value` on; a promise when the reader has this many waiting, resolved once it has fewer. */
  push(value: T): Promise<void> | undefined {
    if (this.stopped) return undefined;
    const waiter = this.waiter;
    if (waiter && !this.lane?.busy) {
      this.waiter = undefined;
      waiter.resolve({ done: false, value });
      return undefined;
    }
    this.values.push(value);
    if (this.values.length < HIGH_WATER) return undefined;
    if (!this.space) {
      let resolve = () => {};
      const promise = new Promise<void>((r) => (resolve = r));
      this.space = { promise, resolve };
    }
    return this.space.promise;
  }

  /** As push, for a live value in order: at the live edge, the lane may take it. */
  pushLive(value: T): Promise<void> | undefined {
    if (this.waiter && this.values.length === 0 && !this.stopped && this.lane?.offer(value)) return undefined;
    return this.push(value);
  }

  /** Runs `step` once the steps before it are done (the producer's work, in order); a step that throws fails the stream. Not `then`: that would make the queue a thenable, which an async function returning it would try to await. */
  run(step: () => Promise<void>): void {
    this.pendingSteps++;
    this.steps = this.steps.then(step).finally(() => this.pendingSteps--);
    this.steps.catch((error: unknown) => this.fail(error));
  }

  /** No step is waiting or running: a value in order may be pushed at once. */
  get idle(): boolean {
    return this.pendingSteps === 0;
  }

  /** Ends the stream after the values already pushed (and those its lane holds). */
  end(): void {
    if (this.stopped) return;
    this.stop();
    this.settle();
  }

  /** Ends the stream with `error`, after the values already pushed (and those its lane holds). */
  fail(error: unknown): void {
    if (this.stopped) return;
    this.failure = { error };
    this.stop();
    this.settle();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.cleanup === undefined && !this.stopped) this.cleanup = this.start(this);
    if (!this.lane?.busy) {
      if (this.values.length > 0) return Promise.resolve({ done: false, value: this.take() });
      if (this.failure) return Promise.reject(this.takeFailure());
      if (this.stopped) return Promise.resolve({ done: true, value: undefined });
    }
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** The reader is gone: stops at once, dropping what was not read (and what the lane holds). */
  return(_value?: unknown): Promise<IteratorResult<T>> {
    this.values.length = 0;
    this.failure = undefined;
    this.lane?.close();
    this.stop();
    this.settle();
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  /** Answers a waiting reader, unless the lane still holds values that come first. */
  private settle(): void {
    const waiter = this.waiter;
    if (!waiter || this.lane?.busy) return;
    if (this.values.length > 0) {
      this.waiter = undefined;
      waiter.resolve({ done: false, value: this.take() });
    } else if (this.failure) {
      this.waiter = undefined;
      waiter.reject(this.takeFailure());
    } else if (this.stopped) {
      this.waiter = undefined;
      waiter.resolve({ done: true, value: undefined });
    }
  }

  private take(): T {
    const value = this.values.shift() as T;
    if (this.space && this.values.length <= LOW_WATER) {
      this.space.resolve();
      this.space = undefined;
    }
    return value;
  }

  private takeFailure(): Error {
    const { error } = this.failure!;
    this.failure = undefined;
    return error instanceof Error ? error : new Error(String(error));
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.space?.resolve();
    this.space = undefined;
    this.cleanup?.();
  }
}
