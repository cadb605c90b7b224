import { ApolloProvider } from '@apollo/client/react';
import { useEffect, useMemo, useState } from 'react';
import { createChatClient, type ChatClient } from '../client/apollo.ts';
import { Outbox, type Outgoing, type SendOutcome } from '../client/outbox.ts';
import type { Session } from '../client/session.ts';
import { SEND_MESSAGE } from '../graphql/operations.ts';
import { ChatContext, useSession } from './hooks.ts';
import { ChatShell } from './ChatShell.tsx';
import { SignIn } from './SignIn.tsx';

export function App() {
  const session = useSession();
  if (!session) return <SignIn />;
  // A new client per account: nothing cached for one person is ever shown to the next.
  return <SignedIn key={session.userId} session={session} />;
}

function SignedIn({ session }: { session: Session }) {
  const [live, setLive] = useState<{ client: ChatClient; outbox: Outbox } | null>(null);
  const { userId } = session;
  // Made and disposed by one effect, so each mount has its own live client and socket.
  useEffect(() => {
    const client = createChatClient();
    const outbox = new Outbox(userId, (message) => sendQueued(client, message));
    setLive({ client, outbox });
    // What was queued before a reload goes out now; what is queued offline, when the link is back.
    void outbox.flush();
    const off = client.connection.onReconnect(() => void outbox.flush());
    const online = () => void outbox.flush();
    window.addEventListener('online', online);
    return () => {
      off();
      window.removeEventListener('online', online);
      outbox.stop();
      client.dispose();
    };
  }, [userId]);
  // The session object changes on each refresh; the client and outbox do not.
  const chat = useMemo(() => (live ? { ...live, session } : null), [live, session]);
  if (!chat) return null;
  return (
    <ApolloProvider client={chat.client.apollo}>
      <ChatContext.Provider value={chat}>
        <ChatShell />
      </ChatContext.Provider>
    </ApolloProvider>
  );
}

/** One attempt at a queued message; only a refusal for good takes it out of the queue unsent. */
async function sendQueued(client: ChatClient, message: Outgoing): Promise<SendOutcome> {
  const { data } = await client.apollo.mutate({
    mutation: SEND_MESSAGE,
    variables: { roomId: message.roomId, body: message.body, clientMessageId: message.clientMessageId, replyTo: message.replyTo },
  });
  const result = data?.sendMessage;
  if (result?.__typename === 'MessageAccepted') return { accepted: true };
  if (result?.__typename === 'CommandError' && result.code !== 'RATE_LIMITED' && result.code !== 'UNAVAILABLE')
    return { refused: result.message ?? 'refused' };
  return { retry: true };
}
