// Files on their way to the object store, for a message not written yet. Each is asked for
// (requestUpload: a presigned URL for exactly its size and type), then PUT straight to the store
// with XMLHttpRequest, for its progress and so it can be cancelled. An upload waits while the
// connection is down and starts when it returns; a URL that expired (the store answers 403) is
// asked for again. Only finished uploads go with a message: the composer takes them (take) and
// the outbox sends their ids, so a message is never queued with bytes still on their way.
// Files live in memory only (a File cannot be stored): a reload drops what was not sent.

export type UploadStatus = 'waiting' | 'uploading' | 'done' | 'failed';

export interface PendingUpload {
  /** This tab's handle on it (the server's uploadId exists only once a ticket was given). */
  key: string;
  roomId: string;
  file: File;
  name: string;
  size: number;
  /** waiting: for the connection; uploading: asking or sending; done: uploadId is good to send. */
  status: UploadStatus;
  /** How much of it the store has received, 0 to 1. */
  progress: number;
  uploadId: string | null;
  /** Why it failed, for a person to read. */
  problem: string | null;
}

export interface UploadTicket {
  uploadId: string;
  url: string;
  method: string;
  /** The signed content-type header the PUT carries. */
  contentType: string;
  expiresAt: string;
}

/** The server's answer to requestUpload: a ticket, a refusal for good, or "ask again later". */
export type TicketAnswer = { ticket: UploadTicket } | { refused: string } | { retryAfterMs: number };

export interface UploadDeps {
  /** Throws when the server cannot be reached. */
  requestTicket(file: { name: string; size: number; contentType: string }): Promise<TicketAnswer>;
  isOnline(): boolean;
  /** Called on every change of the connection's state. */
  onConnectionChange(listener: () => void): () => void;
}

/** New URLs asked for after the store refused one (it had expired): then the upload fails. */
const NEW_TICKETS = 2;
/** Tries that the network broke (asking for a URL, or the PUT) while the chat itself is connected: then it fails. */
const NETWORK_TRIES = 4;
const RETRY_BASE_MS = 1000;

export class Uploads {
  private items: readonly PendingUpload[] = [];
  private byRoom = new Map<string, { from: readonly PendingUpload[]; items: readonly PendingUpload[] }>();
  private listeners = new Set<() => void>();
  private aborts = new Map<string, () => void>();
  private readonly deps: UploadDeps;
  private readonly stopWatching: () => void;

  constructor(deps: UploadDeps) {
    this.deps = deps;
    this.stopWatching = deps.onConnectionChange(() => {
      if (!this.deps.isOnline()) return;
      for (const item of this.items) if (item.status === 'waiting') void this.run(item.key);
    });
  }

  /** Every pending upload of every room; the same array until one changes, as React's store hooks need. */
  all = (): readonly PendingUpload[] => this.items;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  add(roomId: string, files: Iterable<File>): void {
    for (const file of files) {
      const key = crypto.randomUUID();
      const item: PendingUpload = {
        key,
        roomId,
        file,
        name: file.name || 'file',
        size: file.size,
        status: 'waiting',
        progress: 0,
        uploadId: null,
        problem: null,
      };
      this.items = [...this.items, item];
      this.notify();
      void this.run(key);
    }
  }

  /** Stops it (aborting the PUT on its way) and forgets it. */
  cancel(key: string): void {
    this.aborts.get(key)?.();
    this.aborts.delete(key);
    this.items = this.items.filter((item) => item.key !== key);
    this.notify();
  }

  retry(key: string): void {
    const item = this.get(key);
    if (item?.status !== 'failed') return;
    this.change(key, { status: 'waiting', problem: null, progress: 0 });
    void this.run(key);
  }

  /** One room's uploads; the same array until one of them changes. */
  of(roomId: string): readonly PendingUpload[] {
    const cached = this.byRoom.get(roomId);
    if (cached?.from === this.items) return cached.items;
    const items = this.items.filter((item) => item.roomId === roomId);
    // Unchanged for this room (another room's upload moved): the same array as before.
    const same = cached && cached.items.length === items.length && cached.items.every((item, i) => item === items[i]);
    this.byRoom.set(roomId, { from: this.items, items: same ? cached.items : items });
    return this.byRoom.get(roomId)!.items;
  }

  /** The room's finished uploads, in the order they were added, handed over to a message (and forgotten here). */
  takeDone(roomId: string): (PendingUpload & { uploadId: string })[] {
    const taken = this.items.filter(
      (item): item is PendingUpload & { uploadId: string } => item.roomId === roomId && item.status === 'done' && item.uploadId !== null,
    );
    if (taken.length === 0) return [];
    const keys = new Set(taken.map((item) => item.key));
    this.items = this.items.filter((item) => !keys.has(item.key));
    this.notify();
    return taken;
  }

  stop(): void {
    this.stopWatching();
    for (const abort of this.aborts.values()) abort();
    this.aborts.clear();
  }

  private async run(key: string): Promise<void> {
    if (this.aborts.has(key)) return; // already on its way
    let newTickets = 0;
    let networkTries = 0;
    let aborted = false;
    let wake: () => void = () => undefined;
    const abortWait = () => {
      aborted = true;
      wake();
    };
    this.aborts.set(key, abortWait);
    const pause = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => (clearTimeout(timer), resolve());
      });
    try {
      for (;;) {
        const item = this.get(key);
        if (!item || aborted) return;
        if (!this.deps.isOnline()) return this.change(key, { status: 'waiting', progress: 0 });
        this.change(key, { status: 'uploading', progress: 0, problem: null });

        let answer: TicketAnswer;
        try {
          answer = await this.deps.requestTicket({ name: item.name, size: item.size, contentType: mediaType(item.file.type) });
        } catch {
          // Unreachable: wait for the connection if it went, else try again a few times.
          if (aborted || !this.get(key)) return;
          if (!this.deps.isOnline()) continue;
          if (++networkTries >= NETWORK_TRIES) return this.change(key, { status: 'failed', problem: 'The server could not be reached.' });
          answer = { retryAfterMs: RETRY_BASE_MS * 3 ** (networkTries - 1) };
        }
        if (aborted || !this.get(key)) return;
        if ('refused' in answer) return this.change(key, { status: 'failed', problem: answer.refused });
        if ('retryAfterMs' in answer) {
          await pause(answer.retryAfterMs);
          continue;
        }

        const ticket = answer.ticket;
        const put = putFile(ticket, item.file, (loaded) => this.change(key, { progress: Math.min(1, loaded / item.size) }));
        this.aborts.set(key, () => ((aborted = true), put.abort()));
        const outcome = await put.done;
        this.aborts.set(key, abortWait);
        if (aborted || outcome === 'aborted' || !this.get(key)) return;
        if (outcome === 'ok') return this.change(key, { status: 'done', progress: 1, uploadId: ticket.uploadId });
        if (outcome === 'forbidden') {
          // The URL expired (a laptop asleep mid-upload) or was refused: a new one, a couple of times.
          if (newTickets++ < NEW_TICKETS) continue;
          return this.change(key, { status: 'failed', problem: 'The file store refused the upload.' });
        }
        // The network broke (or the store failed): wait for the connection if that is what went,
        // else try again a few times, further apart each time.
        if (!this.deps.isOnline()) continue;
        if (++networkTries >= NETWORK_TRIES) return this.change(key, { status: 'failed', problem: 'The upload did not get through.' });
        await pause(RETRY_BASE_MS * 3 ** (networkTries - 1));
      }
    } finally {
      if (this.aborts.get(key) === abortWait) this.aborts.delete(key);
    }
  }

  private get(key: string): PendingUpload | undefined {
    return this.items.find((item) => item.key === key);
  }

  private change(key: string, change: Partial<PendingUpload>): void {
    this.items = this.items.map((item) => (item.key === key ? { ...item, ...change } : item));
    this.notify();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}

type PutOutcome = 'ok' | 'forbidden' | 'failed' | 'aborted';

/** One PUT of the file's bytes to a presigned URL, with the content-type it was signed with (the browser sets the length from the body). */
export function putFile(
  ticket: UploadTicket,
  file: Blob,
  onProgress: (loaded: number) => void,
): { done: Promise<PutOutcome>; abort(): void } {
  const xhr = new XMLHttpRequest();
  const done = new Promise<PutOutcome>((resolve) => {
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => resolve(xhr.status >= 200 && xhr.status < 300 ? 'ok' : xhr.status === 403 ? 'forbidden' : 'failed');
    xhr.onerror = () => resolve('failed');
    xhr.ontimeout = () => resolve('failed');
    xhr.onabort = () => resolve('aborted');
  });
  xhr.open(ticket.method || 'PUT', ticket.url);
  xhr.setRequestHeader('content-type', ticket.contentType);
  xhr.send(file);
  return { done, abort: () => xhr.abort() };
}

/** A file's type as the server takes it: type/subtype without parameters, or empty when the browser does not know. */
export function mediaType(type: string): string {
  const bare = type.split(';')[0]!.trim().toLowerCase();
  return /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/.test(bare) ? bare : '';
}

/** 12 B, 4.5 KB, 340 KB, 1.2 MB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
