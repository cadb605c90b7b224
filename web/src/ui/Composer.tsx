import { useMutation } from '@apollo/client/react';
import { useEffect, useRef, useState, useSyncExternalStore, type ClipboardEvent, type KeyboardEvent } from 'react';
import { formatBytes, type PendingUpload } from '../client/uploads.ts';
import { SET_TYPING } from '../graphql/operations.ts';
import { EmojiPicker } from './EmojiPicker.tsx';
import { useChat } from './hooks.ts';
import type { ReplyTarget } from './Timeline.tsx';

/** The server's bound on a message body, so the box refuses what the server would. */
const MAX_BODY = 4000;
/** The server shows "typing" for a few seconds per signal: one signal every 3 s while typing. */
const TYPING_EVERY_MS = 3000;

export function Composer({ roomId, replyTo, onCancelReply }: { roomId: string; replyTo: ReplyTarget | null; onCancelReply: () => void }) {
  const { outbox, uploads } = useChat();
  const [body, setBody] = useState('');
  const files = useSyncExternalStore(uploads.subscribe, () => uploads.of(roomId));
  const picker = useRef<HTMLInputElement>(null);
  // Bytes on their way hold Send back for the moment they take, so a caption typed meanwhile
  // goes with its picture. A file waiting for the connection (or failed) does not: text can
  // still be sent offline, and only finished files go with it; the rest stay here.
  const uploading = files.some((file) => file.status === 'uploading');
  const ready = files.some((file) => file.status === 'done');
  const canSend = !uploading && (Boolean(body.trim()) || ready);
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
    if (!canSend) return;
    const attachments = uploads.takeDone(roomId).map((file) => ({ uploadId: file.uploadId, name: file.name }));
    // Queued first, sent from the queue: the same path online and offline.
    outbox.enqueue({ roomId, body: text, replyTo: replyTo?.id ?? null, ...(attachments.length ? { attachments } : {}) });
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

  function attach(list: FileList | null | undefined) {
    if (list?.length) uploads.add(roomId, Array.from(list));
  }

  function onPaste(event: ClipboardEvent<HTMLTextAreaElement>) {
    // A pasted picture (a screenshot) is attached; pasted text is typed as usual.
    if (event.clipboardData.files.length === 0) return;
    event.preventDefault();
    attach(event.clipboardData.files);
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
      data-testid="composer"
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
      {files.length > 0 && (
        <ul className="upload-list" aria-label="Files to send">
          {files.map((file) => (
            <UploadChip key={file.key} file={file} onCancel={() => uploads.cancel(file.key)} onRetry={() => uploads.retry(file.key)} />
          ))}
        </ul>
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
          onPaste={onPaste}
          autoFocus
        />
        <input
          ref={picker}
          type="file"
          multiple
          hidden
          data-testid="attach-input"
          onChange={(event) => {
            attach(event.target.files);
            event.target.value = '';
          }}
        />
        <button type="button" className="icon" aria-label="Attach files" onClick={() => picker.current?.click()}>
          📎
        </button>
        <button type="button" className="icon" aria-label="Insert emoji" aria-expanded={picking} onClick={() => setPicking(!picking)}>
          🙂
        </button>
        <button type="submit" className="primary" disabled={!canSend} title={uploading ? 'Waiting for the upload to finish' : undefined}>
          Send
        </button>
      </div>
      <p id="composer-keys" className="visually-hidden">
        Enter sends; Shift+Enter starts a new line. Attach files with the paper clip, by dropping them here, or by pasting.
      </p>
      {picking && <EmojiPicker label="Insert emoji" onPick={insert} onClose={() => setPicking(false)} />}
    </form>
  );
}

/** One file on its way: name, size, a progress bar, and cancel (or retry, once failed). */
function UploadChip({ file, onCancel, onRetry }: { file: PendingUpload; onCancel: () => void; onRetry: () => void }) {
  const percent = Math.round(file.progress * 100);
  return (
    <li className={`upload-chip ${file.status}`} data-testid="upload-chip" data-status={file.status}>
      <span className="upload-name" title={file.name}>
        {file.name}
      </span>{' '}
      <span className="muted small-text">{formatBytes(file.size)}</span>
      {file.status === 'waiting' && <span className="muted small-text">Waiting for the connection…</span>}
      {(file.status === 'uploading' || file.status === 'done') && (
        <progress max={100} value={percent} aria-label={`${file.name} uploaded ${percent}%`} data-testid="upload-progress" />
      )}
      {file.status === 'failed' && (
        <>
          <span className="problem small-text"> {file.problem ?? 'failed'}</span>{' '}
          <button type="button" className="link" onClick={onRetry}>
            Retry
          </button>
        </>
      )}
      <button type="button" className="small" aria-label={`Remove ${file.name}`} onClick={onCancel}>
        ×
      </button>
    </li>
  );
}
