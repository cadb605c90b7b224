import { randomUUID } from 'node:crypto';
import { fileTypeFromBuffer } from 'file-type';
import pLimit, { type LimitFunction } from 'p-limit';
import { objectKeys, ATTACHMENT_VARIANTS, SCALED_IMAGE_TYPE, type Attachment } from '@chat/schemas';
import type { Logger } from '@chat/platform';
import {
  checkAttachmentCount,
  checkDailyUsage,
  checkUploadRequest,
  classify,
  uploadType,
  type AttachmentLimits,
  type UploadRequest,
} from '../domain/attachments.ts';
import { commandError, type CommandError } from '../domain/errors.ts';
import type { PgUploads, UploadRow } from '../adapters/pg-uploads.ts';
import type { S3Uploads } from '../adapters/s3-uploads.ts';
import { imageVariants } from './image-variants.ts';
import type { Accepted } from './outcome.ts';

// Attachments from the upload a client asks for to the message that carries them:
// 1. requestUpload: limits checked, a row recorded, a presigned PUT (exact size and type) handed out;
// 2. the client PUTs its bytes straight to the store;
// 3. sendMessage naming the upload: the send claims it, its bytes are read once, sniffed and
//    checked, images scaled and stripped of metadata, and what is served is written under the
//    attachment's own keys (the upload key, which the client could still PUT to, is never served);
// 4. once the message is accepted the upload is the message's; uploads never sent are swept,
//    objects and all, after a grace period.

export interface AttachmentOptions {
  limits: AttachmentLimits;
  /** How long an upload URL may be used. */
  uploadUrlTtlSeconds: number;
  /** Prepended to every object key (OBJECT_PREFIX). */
  keyPrefix: string;
  /** Uploads not sent within this are removed. */
  graceMs: number;
  /** Uploads checked at once, here: each holds a file in memory while it is checked. */
  concurrentChecks: number;
}

export interface UploadTicket {
  uploadId: string;
  url: string;
  /** The content-type header the PUT must carry as it is (it is signed, as is the size). */
  contentType: string;
  expiresAt: number;
  maxBytes: number;
}

const DAY_MS = 24 * 3600_000;

export class Attachments {
  private readonly uploads: PgUploads;
  private readonly store: S3Uploads;
  private readonly options: AttachmentOptions;
  private readonly log: Logger;
  /** Whether a send with this key left its message in the read models (the sweeper keeps its uploads). */
  private readonly messageExists: (roomId: string, senderId: string, key: string) => Promise<boolean>;
  /** Checks run at once: each holds a file in memory. */
  private readonly checkSlot: LimitFunction;

  constructor(
    uploads: PgUploads,
    store: S3Uploads,
    messageExists: (roomId: string, senderId: string, key: string) => Promise<boolean>,
    options: AttachmentOptions,
    log: Logger,
  ) {
    this.uploads = uploads;
    this.store = store;
    this.messageExists = messageExists;
    this.options = options;
    this.log = log;
    this.checkSlot = pLimit(options.concurrentChecks);
  }

  async requestUpload(userId: string, request: UploadRequest, now = Date.now()): Promise<UploadTicket | CommandError> {
    const { limits } = this.options;
    const invalid = checkUploadRequest(request, limits);
    if (invalid) return invalid;
    const overLimit = checkDailyUsage(await this.uploads.usage(userId, new Date(now - DAY_MS)), request.size, limits);
    if (overLimit) return overLimit;
    const uploadId = randomUUID();
    const contentType = uploadType(request.contentType);
    await this.uploads.create(uploadId, userId, { ...request, contentType });
    const ttl = this.options.uploadUrlTtlSeconds;
    const url = await this.store.presignPut(objectKeys.upload(this.options.keyPrefix, uploadId), request.size, contentType, ttl);
    return {
      uploadId,
      url,
      contentType,
      expiresAt: now + ttl * 1000,
      maxBytes: request.size,
    };
  }

  /**
   * The attachments of a send (room, sender, idempotency key), checked: a typed error when any
   * upload is not the sender's, is another message's, never arrived, or is not what may be attached.
   */
  async prepare(userId: string, roomId: string, key: string, uploadIds: readonly string[]): Promise<Attachment[] | CommandError> {
    const tooMany = checkAttachmentCount(uploadIds, this.options.limits);
    if (tooMany) return tooMany;
    const attachments: Attachment[] = [];
    for (const uploadId of uploadIds) {
      const claim = await this.uploads.claim(uploadId, userId, roomId, key);
      if ('refused' in claim) {
        await this.uploads.release(uploadIds, roomId, key);
        return claim.refused === 'in-use'
          ? commandError('UPLOAD_IN_USE', `upload ${uploadId} is attached to another message`)
          : commandError('UPLOAD_NOT_FOUND', `no upload ${uploadId} of yours`);
      }
      const checked = claim.claimed.attachment ?? (await this.checkSlot(() => this.check(claim.claimed)));
      if ('code' in checked) {
        await this.uploads.release(uploadIds, roomId, key);
        return checked;
      }
      attachments.push(checked);
    }
    return attachments;
  }

  /** After the send's outcome: accepted, its uploads are the message's; refused for good, they are free again. */
  async settle(roomId: string, key: string, uploadIds: readonly string[], outcome: Accepted | CommandError): Promise<void> {
    if (uploadIds.length === 0) return;
    if ('ok' in outcome) {
      // A duplicate answers an earlier send, whose uploads may be others: the sweeper asks the read models about those.
      if (!outcome.duplicate) await this.uploads.sent(uploadIds);
    } else if (outcome.code !== 'UNAVAILABLE') {
      // UNAVAILABLE may still be appended (the decision waits for Kafka): the claim stays.
      await this.uploads.release(uploadIds, roomId, key);
    }
  }

  /** Removes uploads not sent within the grace period, and their objects; resolves with how many. */
  async sweep(now = Date.now(), batch = 100): Promise<number> {
    let swept = 0;
    for (const upload of await this.uploads.unsent(new Date(now - this.options.graceMs), batch)) {
      // A send may have been accepted without being marked (the instance died in between): the read models say.
      if (upload.claimedRoom && upload.claimedKey && (await this.messageExists(upload.claimedRoom, upload.ownerId, upload.claimedKey))) {
        await this.uploads.sent([upload.uploadId]);
        continue;
      }
      const prefix = this.options.keyPrefix;
      await this.store.remove([
        objectKeys.upload(prefix, upload.uploadId),
        ...ATTACHMENT_VARIANTS.map((variant) => objectKeys.variant(prefix, upload.uploadId, variant)),
      ]);
      await this.uploads.swept(upload.uploadId);
      swept++;
    }
    if (swept > 0) this.log.info('swept uploads never sent', { swept });
    return swept;
  }

  /** Reads the uploaded bytes once and writes what will be served; records the result on the upload. */
  private async check(upload: UploadRow): Promise<Attachment | CommandError> {
    const prefix = this.options.keyPrefix;
    const bytes = await this.store.read(objectKeys.upload(prefix, upload.uploadId), this.options.limits.maxFileBytes);
    if (!bytes)
      return commandError('UPLOAD_NOT_FOUND', `upload ${upload.uploadId} has no bytes in the store (upload it before its URL expires)`);
    if (bytes.length !== upload.declaredSize)
      return commandError('UPLOAD_REFUSED', `upload ${upload.uploadId} is not the size it was asked for`);
    const kind = classify((await fileTypeFromBuffer(bytes))?.mime, upload.declaredType);
    if ('code' in kind) return kind;
    const key = (variant: (typeof ATTACHMENT_VARIANTS)[number]) => objectKeys.variant(prefix, upload.uploadId, variant);
    let attachment: Attachment;
    if (kind.image) {
      const image = await imageVariants(bytes);
      if (!image) return commandError('UPLOAD_REFUSED', `upload ${upload.uploadId} is not a readable ${kind.contentType} image`);
      await Promise.all([
        this.store.write(key('original'), image.original, kind.contentType),
        this.store.write(key('preview'), image.preview, SCALED_IMAGE_TYPE),
        this.store.write(key('thumbnail'), image.thumbnail, SCALED_IMAGE_TYPE),
      ]);
      attachment = {
        attachmentId: upload.uploadId,
        name: upload.name,
        contentType: kind.contentType,
        size: image.original.length,
        image: { width: image.width, height: image.height, placeholder: image.placeholder },
      };
    } else {
      await this.store.write(key('original'), bytes, kind.contentType);
      attachment = { attachmentId: upload.uploadId, name: upload.name, contentType: kind.contentType, size: bytes.length, image: null };
    }
    await this.uploads.checked(upload.uploadId, attachment);
    // What the client could still PUT to is never served: gone once copied.
    await this.store.remove([objectKeys.upload(prefix, upload.uploadId)]);
    return attachment;
  }
}
