import { useEffect, useMemo, useRef, useState, type RefObject } from 'react';
import { createPortal } from 'react-dom';
import { thumbHashToDataURL } from 'thumbhash';
import { formatBytes } from '../client/uploads.ts';
import { useChat } from './hooks.ts';
import type { Message } from './Timeline.tsx';

// A message's files: images as thumbnails (a blurred placeholder of the right shape first, so
// the timeline does not jump), opened in a viewer; anything else as a download chip. Their bytes
// come from the one endpoint with the access token, as every read does, so an <img> cannot ask
// for them itself: they are fetched and shown from blob: URLs (client/attachment-files.ts).

type Attachment = Message['attachments'][number];

/** At most this many pixels a side in the timeline (the thumbnail itself is at most 320). */
const SHOWN_EDGE = 240;
/** The preview is at most 1280 pixels a side. */
const PREVIEW_EDGE = 1280;
/** Thumbnails are fetched once they come this close to the visible part of the timeline. */
const FETCH_WITHIN = '600px';

/** How a message of files alone reads in a line (a reply's quote, the room list): 📎 and their names. */
export function attachmentSummary(attachments: readonly { name: string }[] | null | undefined): string {
  return attachments?.length ? `📎 ${attachments.map((a) => a.name).join(', ')}` : '';
}

export function AttachmentList({ attachments }: { attachments: readonly Attachment[] }) {
  const [viewing, setViewing] = useState<Attachment | null>(null);
  if (attachments.length === 0) return null;
  return (
    <div className="attachments">
      {attachments.map((attachment) =>
        attachment.kind === 'IMAGE' && attachment.thumbnailUrl ? (
          <ImageThumbnail key={attachment.id} attachment={attachment} onOpen={() => setViewing(attachment)} />
        ) : (
          <FileChip key={attachment.id} attachment={attachment} />
        ),
      )}
      {viewing && <Viewer attachment={viewing} onClose={() => setViewing(null)} />}
    </div>
  );
}

/** The blob: URL of an attachment's file while this is shown; null until fetched (or when `path` is null). */
function useBlobUrl(path: string | null | undefined): { url: string | null; failed: boolean; retry: () => void } {
  const { files } = useChat();
  const [attempt, setAttempt] = useState(0);
  const [state, setState] = useState<{ key: string; url: string | null; failed: boolean } | null>(null);
  const key = `${path ?? ''} ${attempt}`;
  useEffect(() => {
    if (!path) return;
    let current = true;
    const held = files.acquire(path);
    held.url.then(
      (url) => current && setState({ key, url, failed: false }),
      () => current && setState({ key, url: null, failed: true }),
    );
    return () => {
      current = false;
      held.release();
    };
  }, [files, path, key]);
  const shown = state?.key === key ? state : null;
  return { url: shown?.url ?? null, failed: shown?.failed ?? false, retry: () => setAttempt((n) => n + 1) };
}

/** True once the element has come near the visible part of its scrolling container (and from then on). */
function useNearView(element: RefObject<Element | null>): boolean {
  const [near, setNear] = useState(typeof IntersectionObserver === 'undefined');
  useEffect(() => {
    const target = element.current;
    if (near || !target) return;
    const observer = new IntersectionObserver((entries) => entries.some((entry) => entry.isIntersecting) && setNear(true), {
      rootMargin: FETCH_WITHIN,
    });
    observer.observe(target);
    return () => observer.disconnect();
  }, [element, near]);
  return near;
}

function fit(attachment: Attachment, edge: number): { width: number; height: number } {
  const width = attachment.width ?? edge;
  const height = attachment.height ?? edge;
  const scale = Math.min(1, edge / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** The ThumbHash as a small PNG data: URL, or undefined when there is none (or it is unreadable). */
function usePlaceholder(attachment: Attachment): string | undefined {
  const hash = attachment.placeholder;
  return useMemo(() => {
    if (!hash) return undefined;
    try {
      return thumbHashToDataURL(Uint8Array.from(atob(hash), (c) => c.charCodeAt(0)));
    } catch {
      return undefined;
    }
  }, [hash]);
}

function ImageThumbnail({ attachment, onOpen }: { attachment: Attachment; onOpen: () => void }) {
  const box = useRef<HTMLButtonElement>(null);
  const near = useNearView(box);
  const { url, failed, retry } = useBlobUrl(near ? attachment.thumbnailUrl : null);
  const [loaded, setLoaded] = useState<string | null>(null);
  const placeholder = usePlaceholder(attachment);
  const size = fit(attachment, SHOWN_EDGE);
  const src = url ?? placeholder;
  return (
    <button
      ref={box}
      type="button"
      className="image-attachment"
      onClick={failed ? retry : onOpen}
      aria-label={failed ? `${attachment.name} could not be loaded: try again` : `Open ${attachment.name}`}
      style={size}
    >
      {src && (
        <img
          src={src}
          alt={attachment.name}
          width={size.width}
          height={size.height}
          data-testid="attachment-image"
          // True once the thumbnail itself (not the placeholder) has been drawn.
          data-loaded={url !== null && loaded === url}
          onLoad={() => url && setLoaded(url)}
        />
      )}
      {failed && <span className="attachment-failed small-text">Not loaded. Retry</span>}
    </button>
  );
}

function FileChip({ attachment }: { attachment: Attachment }) {
  const { files } = useChat();
  const [state, setState] = useState<'idle' | 'downloading' | 'failed'>('idle');
  async function save() {
    setState('downloading');
    try {
      await files.download(attachment.url, attachment.name);
      setState('idle');
    } catch {
      setState('failed');
    }
  }
  return (
    <button type="button" className="file-chip" data-testid="file-chip" onClick={() => void save()} disabled={state === 'downloading'}>
      <FileIcon />
      <span className="visually-hidden">Download </span>
      <span className="file-name">{attachment.name}</span>{' '}
      <span className="muted small-text">
        {state === 'downloading' ? 'Downloading…' : state === 'failed' ? 'Failed, retry' : formatBytes(attachment.size)}
      </span>
    </button>
  );
}

function FileIcon() {
  return (
    <svg className="file-icon" viewBox="0 0 16 20" width="16" height="20" aria-hidden="true">
      <path d="M1 1h9l5 5v13H1z" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinejoin="round" />
      <path d="M10 1v5h5" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinejoin="round" />
    </svg>
  );
}

/** The picture larger (its preview, the thumbnail meanwhile), with the original to download. Escape or a click outside closes it. */
function Viewer({ attachment, onClose }: { attachment: Attachment; onClose: () => void }) {
  const { files } = useChat();
  const thumbnail = useBlobUrl(attachment.thumbnailUrl);
  const preview = useBlobUrl(attachment.previewUrl);
  const close = useRef<HTMLButtonElement>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const size = fit(attachment, PREVIEW_EDGE);
  // Focus moves into the viewer while it is open, and back to the thumbnail when it closes.
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    close.current?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape') return;
      event.stopPropagation();
      onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => {
      window.removeEventListener('keydown', onKey);
      opener?.focus();
    };
  }, [onClose]);
  const src = preview.url ?? thumbnail.url;
  // On top of everything, outside the timeline (whose changes are announced as they come).
  return createPortal(
    <div className="viewer" role="dialog" aria-modal="true" aria-label={attachment.name} data-testid="viewer" onClick={onClose}>
      <figure onClick={(event) => event.stopPropagation()}>
        {src ? (
          <img src={src} alt={attachment.name} width={size.width} height={size.height} data-testid="viewer-image" />
        ) : (
          <p className="muted viewer-wait" style={{ aspectRatio: `${size.width} / ${size.height}` }}>
            {preview.failed ? 'The picture could not be loaded.' : 'Loading…'}
          </p>
        )}
        <figcaption>
          <span className="file-name">{attachment.name}</span>
          <span className="muted small-text">{formatBytes(attachment.size)}</span>
          <button
            type="button"
            className="small"
            onClick={() =>
              void files.download(attachment.url, attachment.name).then(
                () => setProblem(null),
                () => setProblem('The original could not be downloaded.'),
              )
            }
          >
            Download original
          </button>
          <button ref={close} type="button" className="small" onClick={onClose} aria-label="Close">
            ×
          </button>
        </figcaption>
        {problem && (
          <p role="alert" className="problem small-text">
            {problem}
          </p>
        )}
      </figure>
    </div>,
    document.body,
  );
}
