// Messages on their way out. A message is queued before it is sent and leaves the queue only
// when the server accepted it (or refused it for good), so one written while offline, or whose
// answer was lost with the connection, is sent again when the connection returns: always with
// the same clientMessageId, the idempotency key, so the server appends it once whatever happens.
// The queue lives in localStorage, per user: a reload or a closed tab loses nothing, and tabs of
// one person share it (each change re-reads it, so no tab writes over another's; two tabs that
// send the same queued message at once are answered as one by its key).

export interface Outgoing {
  clientMessageId: string;
  roomId: string;
  body: string;
  replyTo: string | null;
  /** Files already in the store (uploads/), in order: sent with the message, by their upload ids. */
  attachments?: { uploadId: string; name: string }[];
  queuedAt: string;
  /** Set when the server refused it for good; shown with the reason. */
  refused?: string;
}

export type SendOutcome = { accepted: true } | { retry: true } | { refused: string };
type Send = (message: Outgoing) => Promise<SendOutcome>;

const RETRY_AFTER_MS = 3000;

export class Outbox {
  private listeners = new Set<() => void>();
  private flushing = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private snapshot: { raw: string | null; items: Outgoing[] } = { raw: null, items: [] };
  private readonly key: string;
  private readonly send: Send;
  private readonly onStorage = (event: StorageEvent) => {
    if (event.key !== this.key) return;
    this.notify();
    void this.flush(); // another tab queued something (or went away before sending it)
  };

  constructor(userId: string, send: Send) {
    this.key = `chat.outbox.${userId}`;
    this.send = send;
    window.addEventListener('storage', this.onStorage);
  }

  /** The queue as stored now; the same array until it changes, as React's store hooks need. */
  all = (): readonly Outgoing[] => {
    const raw = localStorage.getItem(this.key);
    if (raw !== this.snapshot.raw) this.snapshot = { raw, items: parse(raw) };
    return this.snapshot.items;
  };

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  enqueue(message: Omit<Outgoing, 'clientMessageId' | 'queuedAt'>): void {
    const queued = { ...message, clientMessageId: crypto.randomUUID(), queuedAt: new Date().toISOString() };
    this.update((items) => [...items, queued]);
    void this.flush();
  }

  discard(clientMessageId: string): void {
    this.update((items) => items.filter((item) => item.clientMessageId !== clientMessageId));
  }

  /** Sends what is queued, oldest first, one at a time so each room's order is kept. */
  async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    clearTimeout(this.retryTimer);
    try {
      for (;;) {
        const next = this.all().find((item) => !item.refused);
        if (!next) return;
        let outcome: SendOutcome;
        try {
          outcome = await this.send(next);
        } catch {
          outcome = { retry: true };
        }
        if ('retry' in outcome) {
          this.retryTimer = setTimeout(() => void this.flush(), RETRY_AFTER_MS);
          return;
        }
        const id = next.clientMessageId;
        this.update((items) =>
          'accepted' in outcome
            ? items.filter((item) => item.clientMessageId !== id)
            : items.map((item) => (item.clientMessageId === id ? { ...item, refused: outcome.refused } : item)),
        );
      }
    } finally {
      this.flushing = false;
    }
  }

  stop(): void {
    clearTimeout(this.retryTimer);
    window.removeEventListener('storage', this.onStorage);
  }

  private update(change: (items: readonly Outgoing[]) => Outgoing[]): void {
    localStorage.setItem(this.key, JSON.stringify(change(this.all())));
    this.notify();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}

function parse(raw: string | null): Outgoing[] {
  try {
    const parsed: unknown = JSON.parse(raw ?? '[]');
    return Array.isArray(parsed) ? (parsed as Outgoing[]) : [];
  } catch {
    return [];
  }
}
