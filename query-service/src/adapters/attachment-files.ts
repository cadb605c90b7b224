import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type pg from 'pg';
import type { Logger } from '@chat/platform';
import { ATTACHMENT_VARIANTS, IMAGE_TYPES, SCALED_IMAGE_TYPE, objectKeys, type Attachment, type AttachmentVariant } from '@chat/schemas';
import { ATTACHMENTS_PATH } from '../graphql/attachments.ts';
import { admitFileCaller, refuse, type FileCaller } from './file-requests.ts';

// GET /attachments/<room>/<message>/<attachment>/<variant>: an attachment's bytes, to a member
// of its room only, checked on every request (a member removed since gets nothing more), and
// with the same access token, and the same per-user rate limit, as any query. Served so no
// browser runs them: only raster images inline, everything else (SVG and HTML included) as a
// download, never sniffed, in a sandbox.

export interface AttachmentFileDeps extends FileCaller {
  readModels: Pick<pg.Pool, 'query'>;
  store: S3Client;
  bucket: string;
  keyPrefix: string;
  log: Logger;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** What a fetch costs against the query rate limit: about a page of history. */
export const ATTACHMENT_FETCH_COST = 50;

export function isAttachmentRequest(req: IncomingMessage): boolean {
  return req.url?.startsWith(ATTACHMENTS_PATH) ?? false;
}

export function serveAttachmentFiles(deps: AttachmentFileDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) =>
    void serve(deps, req, res).catch((error: unknown) => {
      deps.log.warn('cannot serve an attachment', { error });
      if (!res.headersSent) refuse(res, 503, 'UNAVAILABLE', 'the file cannot be read right now; retry shortly');
      else res.destroy();
    });
}

async function serve(deps: AttachmentFileDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return refuse(res, 405, 'METHOD_NOT_ALLOWED', 'GET or HEAD');
  }
  const [roomId, messageId, attachmentId, variant, ...rest] = (req.url ?? '').split('?')[0]!.slice(ATTACHMENTS_PATH.length).split('/');
  if (rest.length > 0 || ![roomId, messageId, attachmentId].every((id) => UUID.test(id ?? '')) || !isVariant(variant)) {
    return refuse(res, 404, 'NOT_FOUND', 'no such file');
  }
  const userId = await admitFileCaller(deps, req, res);
  if (userId === undefined) return;
  // One statement: the message is there, not deleted, and the caller is a member of its room now.
  const { rows } = await deps.readModels.query<{ attachments: Attachment[] }>(
    `SELECT m.attachments FROM messages m
      WHERE m.room_id = $1 AND m.message_id = $2 AND m.deleted_at IS NULL
        AND EXISTS (SELECT 1 FROM room_members r WHERE r.room_id = $1 AND r.user_id = $3)`,
    [roomId, messageId, userId],
  );
  const attachment = rows[0]?.attachments.find((a) => a.attachmentId === attachmentId);
  // The same answer for a file that is not there and one the caller may not see.
  if (!attachment || (variant !== 'original' && !attachment.image)) return refuse(res, 404, 'NOT_FOUND', 'no such file');

  let object;
  try {
    object = await deps.store.send(
      new GetObjectCommand({ Bucket: deps.bucket, Key: objectKeys.variant(deps.keyPrefix, attachment.attachmentId, variant) }),
    );
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return refuse(res, 404, 'NOT_FOUND', 'no such file');
    throw error;
  }
  const type = variant === 'original' ? attachment.contentType : SCALED_IMAGE_TYPE;
  const inline = (IMAGE_TYPES as readonly string[]).includes(type) || type === SCALED_IMAGE_TYPE;
  res.writeHead(200, {
    'content-type': type,
    ...(object.ContentLength !== undefined ? { 'content-length': String(object.ContentLength) } : {}),
    'content-disposition': contentDisposition(inline ? 'inline' : 'attachment', attachment.name),
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
    'cross-origin-resource-policy': 'same-origin',
    // Membership can end: a browser keeps it only for itself, and not for long.
    'cache-control': 'private, max-age=300',
  });
  const body = object.Body as Readable | undefined;
  if (req.method === 'HEAD' || !body) {
    body?.destroy();
    return void res.end();
  }
  body.on('error', () => res.destroy());
  body.pipe(res);
}

function isVariant(value: string | undefined): value is AttachmentVariant {
  return (ATTACHMENT_VARIANTS as readonly string[]).includes(value ?? '');
}

/** RFC 6266: an ASCII fallback name and the real one, percent-encoded. */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}
