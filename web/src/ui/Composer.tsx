import { useMutation } from '@apollo/client/react';
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { SET_TYPING } from '../graphql/operations.ts';
import { EmojiPicker } from './EmojiPicker.tsx';
import { useChat } from './hooks.ts';
import type { ReplyTarget } from './Timeline.tsx';

/** The server's bound on a message body, so the box refuses what the server would. */
const MAX_BODY = 4000;
/** The server shows "typing" for a few seconds per signal: one signal every 3 s while typing. */
const TYPING_EVERY_MS = 3000;

export function Composer({ roomId, replyTo, onCancelReply }: { roomId: string; replyTo: ReplyTarget | null; onCancelReply: () => void }) {
  const { outbox } = useChat();
  const [body, setBody] = useState('');
  const [picking, setPicking] = useState(false);
  const box = useRef<HTMLTextAreaElement>(null);
  const typingSent = useRef(0);
  const [setTyping] = useMutation(SET_TYPING);
  // Choosing Reply puts the cursor here, so the answer is typed straight away.
  const replyingTo = replyTo?.id;
  useEffect(() => {
    if (replyingTo) box.current?.focus();
  }, [replyingTo]);

  function send() {
    const text = body.trim();
    if (!text) return;
    // Queued first, sent from the queue: the same path online and offline.
    outbox.enqueue({ roomId, body: text, replyTo: replyTo?.id ?? null });
    setBody('');
    onCancelReply();
    if (typingSent.current) void setTyping({ variables: { roomId, typing: false } }).catch(() => undefined);
    typingSent.current = 0;
  }

  function changed(text: string) {
    setBody(text);
    if (text && Date.now() - typingSent.current > TYPING_EVERY_MS) {
      typingSent.current = Date.now();
      void setTyping({ variables: { roomId, typing: true } }).catch(() => undefined);
    }
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
    if (event.key === 'Escape' && replyTo) onCancelReply();
  }

  function insert(emoji: string) {
    const element = box.current;
    const start = element?.selectionStart ?? body.length;
    const end = element?.selectionEnd ?? body.length;
    changed(body.slice(0, start) + emoji + body.slice(end));
    setPicking(false);
    requestAnimationFrame(() => {
      element?.focus();
      element?.setSelectionRange(start + emoji.length, start + emoji.length);
    });
  }

  return (
    <form
      className="composer"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      {replyTo && (
        <div className="replying" data-testid="replying">
          <span>
            Replying to <strong>{replyTo.senderName}</strong>: <span className="muted">{replyTo.body.slice(0, 80)}</span>
          </span>
          <button type="button" className="small" onClick={onCancelReply} aria-label="Cancel reply">
            ×
          </button>
        </div>
      )}
      <div className="composer-row">
        <textarea
          ref={box}
          aria-label="Message"
          placeholder="Write a message"
          aria-describedby="composer-keys"
          rows={2}
          maxLength={MAX_BODY}
          value={body}
          onChange={(e) => changed(e.target.value)}
          onKeyDown={onKeyDown}
          autoFocus
        />
        <button type="button" className="icon" aria-label="Insert emoji" aria-expanded={picking} onClick={() => setPicking(!picking)}>
          🙂
        </button>
        <button type="submit" className="primary" disabled={!body.trim()}>
          Send
        </button>
      </div>
      <p id="composer-keys" className="visually-hidden">
        Enter sends; Shift+Enter starts a new line.
      </p>
      {picking && <EmojiPicker label="Insert emoji" onPick={insert} onClose={() => setPicking(false)} />}
    </form>
  );
}
