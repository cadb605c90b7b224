import { createContext, useContext, useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import type { ChatClient } from '../client/apollo.ts';
import type { Outbox } from '../client/outbox.ts';
import type { AttachmentFiles } from '../client/attachment-files.ts';
import type { Uploads } from '../client/uploads.ts';
import { parseSession, sessions, type Session } from '../client/session.ts';

export interface Chat {
  client: ChatClient;
  outbox: Outbox;
  uploads: Uploads;
  files: AttachmentFiles;
  session: Session;
}

export const ChatContext = createContext<Chat | null>(null);

export function useChat(): Chat {
  const chat = useContext(ChatContext);
  if (!chat) throw new Error('useChat outside a signed-in view');
  return chat;
}

/** The stored session, re-read when this tab or another signs in, refreshes or signs out. */
export function useSession(): Session | null {
  const stored = useSyncExternalStore((listener) => sessions.subscribe(listener), sessions.stored);
  // Parsed per stored value, so a re-render does not hand out a new object for the same session.
  return useMemo(() => parseSession(stored), [stored]);
}

export type Route =
  | { view: 'home' }
  | { view: 'room'; roomId: string }
  | { view: 'browse' }
  | { view: 'new-room' }
  | { view: 'new-direct' }
  | { view: 'search' }
  | { view: 'profile' };

/** The view named by the location's hash (#/room/<id>, #/browse, …), so Back works and links can be shared. */
export function useRoute(): Route {
  const hash = useSyncExternalStore(
    (listener) => {
      window.addEventListener('hashchange', listener);
      return () => window.removeEventListener('hashchange', listener);
    },
    () => location.hash,
  );
  return parseRoute(hash);
}

export function parseRoute(hash: string): Route {
  const [, view, id] = hash.split('/');
  if (view === 'room' && id) return { view: 'room', roomId: decodeURIComponent(id) };
  if (view === 'browse' || view === 'new-room' || view === 'new-direct' || view === 'search' || view === 'profile') return { view };
  return { view: 'home' };
}

export function go(route: Route): void {
  location.hash = route.view === 'room' ? `#/room/${encodeURIComponent(route.roomId)}` : route.view === 'home' ? '#/' : `#/${route.view}`;
}

/** A value that settles `delayMs` after it stops changing (search boxes). */
export function useDebounced<T>(value: T, delayMs = 250): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delayMs);
    return () => clearTimeout(timer);
  }, [value, delayMs]);
  return settled;
}

// Pure, in its own module so it can be tested without a browser.
export { describeRefusal } from './refusals.ts';
