// Where an attachment's bytes live in the object store, and which of them are served: the
// command side writes them, the query side serves them; one rule for both.

export const ATTACHMENT_VARIANTS = ['original', 'preview', 'thumbnail'] as const;
export type AttachmentVariant = (typeof ATTACHMENT_VARIANTS)[number];

/** Images that are decoded for a thumbnail, a preview and a placeholder, and may be shown inline. */
export const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/avif'] as const;

/** The type of an image's thumbnail and preview. */
export const SCALED_IMAGE_TYPE = 'image/webp';

export const objectKeys = {
  /** What the client PUTs; read once, when a message first references it, then removed. */
  upload: (prefix: string, uploadId: string) => `${prefix}uploads/${uploadId}`,
  /** What is served: the checked original (metadata stripped from images), and the images' smaller sizes. */
  variant: (prefix: string, attachmentId: string, variant: AttachmentVariant) => `${prefix}attachments/${attachmentId}/${variant}`,
};
