import { IMAGE_TYPES, type Attachment, type AttachmentVariant, type MessageView } from '@chat/schemas';
import { builder } from './builder.ts';

// Files attached to a message: what they are, and where members fetch them. The addresses are
// routes of this endpoint (adapters/attachment-files.ts), which serve the bytes only to a
// member of the room who sends an access token, as every other read does; they are the same
// for every viewer, so live messages with files still share one execution.

export interface AttachmentOfMessage extends Attachment {
  roomId: string;
  messageId: string;
}

/** The one route of an attachment's bytes: /attachments/<room>/<message>/<attachment>/<variant>. */
export const ATTACHMENTS_PATH = '/attachments/';

export function attachmentPath(a: Pick<AttachmentOfMessage, 'roomId' | 'messageId' | 'attachmentId'>, variant: AttachmentVariant): string {
  return `${ATTACHMENTS_PATH}${a.roomId}/${a.messageId}/${a.attachmentId}/${variant}`;
}

const AttachmentKindRef = builder.enumType('AttachmentKind', {
  values: { IMAGE: { description: 'A picture, with a preview and a thumbnail.' }, FILE: { description: 'Anything else: a download.' } },
});

const AttachmentRef = builder.objectRef<AttachmentOfMessage>('Attachment').implement({
  description:
    'A file attached to a message. Fetch its bytes from `url` (and an image’s from `previewUrl` and `thumbnailUrl`) on this endpoint’s origin, with the same `Authorization: Bearer` header as any request: only members of the room get them.',
  fields: (t) => ({
    id: t.exposeID('attachmentId'),
    name: t.exposeString('name', { description: 'The name the sender gave it.' }),
    contentType: t.exposeString('contentType', { description: 'What its bytes are (sniffed when it was sent, never the sender’s word).' }),
    size: t.exposeInt('size', { description: 'Bytes of the original.' }),
    kind: t.field({
      type: AttachmentKindRef,
      resolve: (a) => (a.image && (IMAGE_TYPES as readonly string[]).includes(a.contentType) ? 'IMAGE' : 'FILE'),
    }),
    width: t.int({ nullable: true, description: 'Of an image, as shown.', resolve: (a) => a.image?.width ?? null }),
    height: t.int({ nullable: true, resolve: (a) => a.image?.height ?? null }),
    placeholder: t.string({
      nullable: true,
      description: 'Of an image: a ThumbHash (base64) to draw a blurred stand-in of the right shape before it loads.',
      resolve: (a) => a.image?.placeholder ?? null,
    }),
    url: t.string({ description: 'The original (an image without its metadata).', resolve: (a) => attachmentPath(a, 'original') }),
    previewUrl: t.string({
      nullable: true,
      description: 'Of an image: at most 1280 pixels a side (WebP).',
      resolve: (a) => (a.image ? attachmentPath(a, 'preview') : null),
    }),
    thumbnailUrl: t.string({
      nullable: true,
      description: 'Of an image: at most 320 pixels a side (WebP).',
      resolve: (a) => (a.image ? attachmentPath(a, 'thumbnail') : null),
    }),
  }),
});

/** A message's attachments as the schema serves them (none once deleted). */
export function attachmentsOf(m: MessageView): AttachmentOfMessage[] {
  if (m.deleted) return [];
  return (m.attachments ?? []).map((a) => ({ ...a, roomId: m.roomId, messageId: m.messageId }));
}

export { AttachmentRef };
