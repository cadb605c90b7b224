// The signed-in session: tokens in localStorage (so a reload stays signed in), refreshed before
// the access token expires. A refresh token works once, and using one twice ends the session,
// so tabs refresh one at a time under a Web Lock and re-read what another tab may have stored.

export interface Session {
  userId: string;
  username: string;
  accessToken: string;
  /** By this machine's clock (see localExpiry). */
  accessTokenExpiresAt: string;
  /** When this tab received the access token (by its own clock, like the expiry check). */
  receivedAt: string;
  refreshToken: string;
}

const KEY = 'chat.session';
/**
 * Refresh a minute before the access token expires (a third of its life if that is shorter), so
 * no request carries a dying token.
 */
const REFRESH_AHEAD_MS = 60_000;

type Refresh = (refreshToken: string) => Promise<Session | 'refused'>;
type Listener = (session: Session | null) => void;

export class SessionStore {
  private listeners = new Set<Listener>();
  private refreshing: Promise<Session | null> | undefined;
  private refresh: Refresh | undefined;

  constructor() {
    // Another tab signed in, refreshed or signed out.
    window.addEventListener('storage', (event) => {
      if (event.key === KEY) this.emit();
    });
  }

  /** How tokens are refreshed: set once the GraphQL client exists. */
  useRefresh(refresh: Refresh): void {
    this.refresh = refresh;
  }

  current(): Session | null {
    return parseSession(this.stored());
  }

  /** The session as stored, unparsed: a snapshot that stays equal while the session does. */
  stored = (): string | null => localStorage.getItem(KEY);

  save(session: Session): void {
    localStorage.setItem(KEY, JSON.stringify(session));
    this.emit();
  }

  clear(): void {
    localStorage.removeItem(KEY);
    this.emit();
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** An access token good for at least another minute, refreshed if need be; null when signed out. */
  async accessToken(): Promise<string | null> {
    const session = this.current();
    if (!session) return null;
    if (!expiresSoon(session)) return session.accessToken;
    this.refreshing ??= this.refreshOnce().finally(() => (this.refreshing = undefined));
    return (await this.refreshing)?.accessToken ?? null;
  }

  private async refreshOnce(): Promise<Session | null> {
    const work = async (): Promise<Session | null> => {
      const session = this.current();
      if (!session) return null;
      if (!expiresSoon(session)) return session; // another tab refreshed it meanwhile
      if (!this.refresh) return session;
      const renewed = await this.refresh(session.refreshToken);
      if (renewed === 'refused') {
        this.clear();
        return null;
      }
      this.save(renewed);
      return renewed;
    };
    return navigator.locks ? navigator.locks.request('chat.session.refresh', work) : work();
  }

  private emit(): void {
    const session = this.current();
    for (const listener of this.listeners) listener(session);
  }
}

export function parseSession(stored: string | null): Session | null {
  if (!stored) return null;
  try {
    return JSON.parse(stored) as Session;
  } catch {
    return null;
  }
}

function expiresSoon(session: Session): boolean {
  const expiresAt = Date.parse(session.accessTokenExpiresAt);
  const lifetime = expiresAt - (Date.parse(session.receivedAt) || 0);
  return expiresAt - Date.now() < Math.min(REFRESH_AHEAD_MS, lifetime / 3);
}

export const sessions = new SessionStore();
