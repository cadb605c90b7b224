// Messages on their way out. A message is queued before it is sent and leaves the queue only
// when the server accepted it (or refused it for good), so one written while offline, or whose
// answer was lost with the connection, is sent again when the connection returns: always with
// the same clientMessageId, the idempotency key, so the server appends it once whatever happens.
// The queue lives in localStorage, per user: a reload or a closed tab loses nothing.

export interface Outgoing {
  clientMessageId: string;
  roomId: string;
  body: string;
  replyTo: string | null;
  queuedAt: string;
  /** Set when the server refused it for good; shown with the reason. */
  refused?: string;
}

export type SendOutcome = { accepted: true } | { retry: true } | { refused: string };
type Send = (message: Outgoing) => Promise<SendOutcome>;

const RETRY_AFTER_MS = 3000;

export class Outbox {
  private items: Outgoing[];
  private listeners = new Set<() => void>();
  private flushing = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly key: string;
  private readonly send: Send;

  constructor(userId: string, send: Send) {
    this.key = `chat.outbox.${userId}`;
    this.send = send;
    this.items = load(this.key);
  }

  all = (): readonly Outgoing[] => this.items;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  enqueue(message: Omit<Outgoing, 'clientMessageId' | 'queuedAt'>): void {
    this.update([...this.items, { ...message, clientMessageId: crypto.randomUUID(), queuedAt: new Date().toISOString() }]);
    void this.flush();
  }

  discard(clientMessageId: string): void {
    this.update(this.items.filter((item) => item.clientMessageId !== clientMessageId));
  }

  /** Sends what is queued, oldest first, one at a time so each room's order is kept. */
  async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    clearTimeout(this.retryTimer);
    try {
      for (;;) {
        const next = this.items.find((item) => !item.refused);
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
        this.update(
          'accepted' in outcome
            ? this.items.filter((item) => item.clientMessageId !== next.clientMessageId)
            : this.items.map((item) => (item.clientMessageId === next.clientMessageId ? { ...item, refused: outcome.refused } : item)),
        );
      }
    } finally {
      this.flushing = false;
    }
  }

  stop(): void {
    clearTimeout(this.retryTimer);
  }

  private update(items: Outgoing[]): void {
    this.items = items;
    localStorage.setItem(this.key, JSON.stringify(items));
    for (const listener of this.listeners) listener();
  }
}

function load(key: string): Outgoing[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(key) ?? '[]');
    return Array.isArray(parsed) ? (parsed as Outgoing[]) : [];
  } catch {
    return [];
  }
}
