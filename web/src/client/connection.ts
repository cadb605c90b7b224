import type { Client } from 'graphql-ws';

// Whether the live connection is up, as the banner and the outbox need to know it: graphql-ws
// reconnects by itself; this only watches it, plus the browser's own offline signal.

export type ConnectionStatus = 'connecting' | 'online' | 'offline';
type Listener = () => void;

export class ConnectionState {
  private status: ConnectionStatus = 'connecting';
  private listeners = new Set<Listener>();
  private reconnectListeners = new Set<Listener>();
  private wasOnline = false;

  constructor() {
    window.addEventListener('offline', () => this.set('offline'));
  }

  watch(client: Client): () => void {
    const offs = [
      client.on('connected', () => {
        const back = this.wasOnline;
        this.wasOnline = true;
        this.set('online');
        if (back) for (const listener of this.reconnectListeners) listener();
      }),
      client.on('closed', () => this.set('offline')),
      client.on('error', () => this.set('offline')),
    ];
    return () => offs.forEach((off) => off());
  }

  /** The keep-alive found the socket dead: say so now, before the browser gets round to closing it. */
  lost(): void {
    this.set('offline');
  }

  get = (): ConnectionStatus => this.status;

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Called each time the connection comes back after being lost (not on the first connect). */
  onReconnect(listener: Listener): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  private set(status: ConnectionStatus): void {
    if (status === this.status) return;
    this.status = status;
    for (const listener of this.listeners) listener();
  }
}
