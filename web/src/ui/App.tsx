import { ApolloProvider } from '@apollo/client/react';
import { useEffect, useMemo, useState } from 'react';
import { createChatClient, type ChatClient } from '../client/apollo.ts';
import { Outbox, type Outgoing, type SendOutcome } from '../client/outbox.ts';
import { AttachmentFiles } from '../client/attachment-files.ts';
import { Uploads, type UploadDeps } from '../client/uploads.ts';
import { sessions, type Session } from '../client/session.ts';
import { REQUEST_UPLOAD, SEND_MESSAGE } from '../graphql/operations.ts';
import { describeRefusal } from './refusals.ts';
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
  const [live, setLive] = useState<{ client: ChatClient; outbox: Outbox; uploads: Uploads; files: AttachmentFiles } | null>(null);
  const { userId } = session;
  // Made and disposed by one effect, so each mount has its own live client and socket.
  useEffect(() => {
    const client = createChatClient();
    const outbox = new Outbox(userId, (message) => sendQueued(client, message));
    const uploads = new Uploads(uploadDeps(client));
    const files = new AttachmentFiles(() => sessions.accessToken());
    setLive({ client, outbox, uploads, files });
    // What was queued before a reload goes out now; what is queued offline, when the link is back.
    void outbox.flush();
    const off = client.connection.onReconnect(() => void outbox.flush());
    const online = () => void outbox.flush();
    window.addEventListener('online', online);
    return () => {
      off();
      window.removeEventListener('online', online);
      outbox.stop();
      uploads.stop();
      files.dispose();
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
    variables: {
      roomId: message.roomId,
      body: message.body,
      clientMessageId: message.clientMessageId,
      replyTo: message.replyTo,
      attachments: message.attachments?.map((a) => a.uploadId),
    },
  });
  const result = data?.sendMessage;
  if (result?.__typename === 'MessageAccepted') return { accepted: true };
  if (result?.__typename === 'CommandError' && result.code !== 'RATE_LIMITED' && result.code !== 'UNAVAILABLE')
    return { refused: result.code?.startsWith('UPLOAD_') ? describeRefusal(namingFiles(result, message)) : (result.message ?? 'refused') };
  return { retry: true };
}

/** The server names a refused file by its upload id; a person knows it by its name. */
function namingFiles<E extends { message: string | null }>(error: E, message: Outgoing): E {
  let text = error.message;
  for (const file of message.attachments ?? []) text = text?.replaceAll(`upload ${file.uploadId}`, `“${file.name}”`) ?? null;
  return { ...error, message: text };
}

/** How uploads ask for their presigned URLs, and know whether the connection is up. */
function uploadDeps(client: ChatClient): UploadDeps {
  return {
    isOnline: () => client.connection.get() !== 'offline',
    onConnectionChange: (listener) => client.connection.subscribe(listener),
    async requestTicket(file) {
      const { data } = await client.apollo.mutate({ mutation: REQUEST_UPLOAD, variables: file });
      const result = data?.requestUpload;
      if (result?.__typename === 'UploadTicket' && result.uploadId && result.url)
        return {
          ticket: {
            uploadId: result.uploadId,
            url: result.url,
            method: result.method ?? 'PUT',
            contentType: result.contentType ?? file.contentType,
            expiresAt: result.expiresAt ?? '',
          },
        };
      if (result?.__typename === 'CommandError' && result.code !== 'RATE_LIMITED' && result.code !== 'UNAVAILABLE')
        return { refused: describeRefusal(result) };
      const seconds = result?.__typename === 'CommandError' ? result.retryAfterSeconds : null;
      return { retryAfterMs: (seconds ?? 3) * 1000 };
    },
  };
}
