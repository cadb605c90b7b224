import { useMutation } from '@apollo/client/react';
import { useState, type KeyboardEvent } from 'react';
import type { Outgoing } from '../client/outbox.ts';
import { ADD_REACTION, DELETE_MESSAGE, EDIT_MESSAGE, REMOVE_REACTION } from '../graphql/operations.ts';
import { AttachmentList, attachmentSummary } from './Attachments.tsx';
import { Avatar } from './Avatar.tsx';
import { EmojiPicker } from './EmojiPicker.tsx';
import { describeRefusal } from './hooks.ts';
import type { Message, ReplyTarget } from './Timeline.tsx';
import { Problem } from './Problem.tsx';

const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

export function MessageItem(props: {
  message: Message;
  roomId: string;
  mine: boolean;
  canModerate: boolean;
  onReply: (target: ReplyTarget) => void;
}) {
  const { message, roomId, mine, canModerate, onReply } = props;
  const [editing, setEditing] = useState(false);
  const [picking, setPicking] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [addReaction] = useMutation(ADD_REACTION);
  const [removeReaction] = useMutation(REMOVE_REACTION);
  const [deleteMessage] = useMutation(DELETE_MESSAGE);
  const sender = message.sender?.displayName ?? 'Someone';
  // Every change is applied when its event comes back live, for this tab and every other one.
  const refused = (result: { __typename: string; code?: string | null; message?: string | null } | null | undefined) =>
    setProblem(
      result?.__typename === 'CommandError' ? describeRefusal({ code: result.code ?? null, message: result.message ?? null }) : null,
    );

  async function react(emoji: string, on: boolean) {
    setPicking(false);
    const variables = { roomId, messageId: message.id, emoji, commandId: crypto.randomUUID() };
    const { data } = on ? await addReaction({ variables }) : await removeReaction({ variables });
    refused(data && ('addReaction' in data ? data.addReaction : data.removeReaction));
  }

  async function remove() {
    if (!confirm('Delete this message for everyone?')) return;
    const { data } = await deleteMessage({ variables: { roomId, messageId: message.id, commandId: crypto.randomUUID() } });
    refused(data?.deleteMessage);
  }

  return (
    <li
      className="message"
      // Focusable, so the keyboard (and a tap on a phone) reaches its actions.
      tabIndex={0}
      data-testid="message"
      data-sequence={message.sequence}
    >
      {message.sender && <Avatar user={message.sender} />}
      <div className="message-main">
        <div className="message-meta">
          <strong>{sender}</strong> <time dateTime={message.sentAt}>{time.format(new Date(message.sentAt))}</time>
          {message.editedAt && !message.deleted && <span className="muted"> (edited)</span>}
        </div>
        {message.replyTo && (
          <blockquote className="reply-quote" data-testid="reply-quote">
            <span className="muted">Reply to {message.replyTo.sender?.displayName ?? 'someone'}:</span>{' '}
            {message.replyTo.deleted ? <em>deleted message</em> : message.replyTo.body || attachmentSummary(message.replyTo.attachments)}
          </blockquote>
        )}
        {message.deleted ? (
          <p className="body muted">
            <em>This message was deleted.</em>
          </p>
        ) : editing ? (
          <EditBox roomId={roomId} message={message} onDone={() => setEditing(false)} />
        ) : (
          <>
            {message.body && (
              <p className="body" data-testid="body">
                {message.body}
              </p>
            )}
            <AttachmentList attachments={message.attachments} />
          </>
        )}
        {message.reactions.length > 0 && (
          <div className="reactions">
            {message.reactions.map((reaction) => (
              <button
                key={reaction.emoji}
                type="button"
                className="reaction"
                aria-pressed={reaction.me}
                aria-label={`${reaction.emoji} ${reaction.count}${reaction.me ? ', yours' : ''}`}
                onClick={() => void react(reaction.emoji, !reaction.me)}
              >
                {reaction.emoji} {reaction.count}
              </button>
            ))}
          </div>
        )}
        <Problem text={problem} />
      </div>
      {!message.deleted && !editing && (
        <div className="message-actions">
          <button
            type="button"
            className="small"
            onClick={() => onReply({ id: message.id, senderName: sender, body: message.body || attachmentSummary(message.attachments) })}
          >
            Reply
          </button>
          <button type="button" className="small" aria-expanded={picking} onClick={() => setPicking(!picking)}>
            React
          </button>
          {mine && (
            <button type="button" className="small" onClick={() => setEditing(true)}>
              Edit
            </button>
          )}
          {(mine || canModerate) && (
            <button type="button" className="small" onClick={() => void remove()}>
              Delete
            </button>
          )}
        </div>
      )}
      {picking && <EmojiPicker label="React with" onPick={(emoji) => void react(emoji, true)} onClose={() => setPicking(false)} />}
    </li>
  );
}

function EditBox({ roomId, message, onDone }: { roomId: string; message: Message; onDone: () => void }) {
  const [body, setBody] = useState(message.body);
  const [problem, setProblem] = useState<string | null>(null);
  const [editMessage, { loading }] = useMutation(EDIT_MESSAGE);
  async function save() {
    const trimmed = body.trim();
    if (!trimmed || trimmed === message.body) return onDone();
    const { data } = await editMessage({ variables: { roomId, messageId: message.id, body: trimmed, commandId: crypto.randomUUID() } });
    const result = data?.editMessage;
    if (result?.__typename === 'CommandError') setProblem(describeRefusal(result));
    else onDone();
  }
  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Escape') onDone();
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void save();
    }
  }
  return (
    <div className="edit-box">
      <textarea
        aria-label="Edit message"
        value={body}
        onChange={(e) => setBody(e.target.value)}
        onKeyDown={onKeyDown}
        autoFocus
        maxLength={4000}
        disabled={loading}
      />
      <div>
        <button type="button" className="small primary" onClick={() => void save()}>
          Save
        </button>
        <button type="button" className="small" onClick={onDone}>
          Cancel
        </button>
      </div>
      <Problem text={problem} />
    </div>
  );
}

/** A message of ours still on its way: queued (offline), sending, or refused with the reason. */
export function PendingItem({ message, offline, onDiscard }: { message: Outgoing; offline: boolean; onDiscard: () => void }) {
  return (
    <li className="message pending" data-testid="pending-message">
      <div className="message-main">
        {message.body && <p className="body">{message.body}</p>}
        {message.attachments?.map((file) => (
          <p key={file.uploadId} className="muted small-text">
            📎 {file.name}
          </p>
        ))}
        <p className="muted small-text">
          {message.refused ? (
            <>
              Not sent: {message.refused}{' '}
              <button type="button" className="link" onClick={onDiscard}>
                Discard
              </button>
            </>
          ) : offline ? (
            'Waiting for the connection…'
          ) : (
            'Sending…'
          )}
        </p>
      </div>
    </li>
  );
}
