// One subscriber's stream: values pushed by whoever produces them (a replay from Postgres, a
// live notification), read by graphql-ws with next(). A push to a reader already waiting
// hands the value straight over, with no promise of its own: with a thousand subscribers an
// event is a thousand pushes, and a Repeater's promise per push was a good part of what one
// delivery cost. A reader that falls behind makes push() return a promise (resolved once it
// has caught up), so a replay never reads history faster than its subscriber takes it.

const HIGH_WATER = 200;
const LOW_WATER = 50;

interface Waiter<T> {
  resolve(result: IteratorResult<T>): void;
  reject(error: unknown): void;
}

export class LiveQueue<T> implements AsyncIterableIterator<T> {
  private readonly start: (queue: LiveQueue<T>) => () => void;
  private readonly values: T[] = [];
  private waiter: Waiter<T> | undefined;
  private space: { promise: Promise<void>; resolve(): void } | undefined;
  private failure: { error: unknown } | undefined;
  private stopped = false;
  private cleanup: (() => void) | undefined;
  private steps: Promise<void> = Promise.resolve();
  private pendingSteps = 0;

  /** `start` runs on the first read, and returns what undoes it (run once the stream ends, however it ends). */
  constructor(start: (queue: LiveQueue<T>) => () => void) {
    this.start = start;
  }

  /** True once the stream ended (the reader left, or it failed): producers stop their work. */
  get closed(): boolean {
    return this.stopped;
  }

  /** Hands `value` on; a promise when the reader has this many waiting, resolved once it has fewer. */
  push(value: T): Promise<void> | undefined {
    if (this.stopped) return undefined;
    const waiter = this.waiter;
    if (waiter) {
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

  /** Ends the stream after the values already pushed. */
  end(): void {
    if (this.stopped) return;
    this.stop();
    if (this.values.length === 0) {
      this.waiter?.resolve({ done: true, value: undefined });
      this.waiter = undefined;
    }
  }

  /** Ends the stream with `error`, after the values already pushed. */
  fail(error: unknown): void {
    if (this.stopped) return;
    this.failure = { error };
    this.stop();
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) this.next().then(waiter.resolve, waiter.reject);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.cleanup === undefined && !this.stopped) this.cleanup = this.start(this);
    if (this.values.length > 0) {
      const value = this.values.shift() as T;
      if (this.space && this.values.length <= LOW_WATER) {
        this.space.resolve();
        this.space = undefined;
      }
      return Promise.resolve({ done: false, value });
    }
    if (this.failure) {
      const { error } = this.failure;
      this.failure = undefined;
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    if (this.stopped) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** The reader is gone: stops at once, dropping what was not read. */
  return(_value?: unknown): Promise<IteratorResult<T>> {
    this.values.length = 0;
    this.failure = undefined;
    this.stop();
    this.waiter?.resolve({ done: true, value: undefined });
    this.waiter = undefined;
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.space?.resolve();
    this.space = undefined;
    this.cleanup?.();
  }
}
