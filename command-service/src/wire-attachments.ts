import type pg from 'pg';
import { intFromEnv, type Logger, type PlatformConfig } from '@chat/platform';
import { messageExists, PgUploads } from './adapters/pg-uploads.ts';
import { S3Uploads } from './adapters/s3-uploads.ts';
import { Attachments } from './app/attachments.ts';
import { DEFAULT_ATTACHMENT_LIMITS } from './domain/attachments.ts';

// Attachments wired from the environment: the object store, the uploads table, the limits,
// and the sweeper of uploads never sent.

export function wireAttachments(
  config: PlatformConfig,
  pool: pg.Pool,
  readModels: Pick<pg.Pool, 'query'>,
  log: Logger,
): { attachments: Attachments; stop(): void } {
  const env = (name: string, fallback: number) => intFromEnv(process.env, name, fallback);
  const store = config.objectStore;
  const attachments = new Attachments(
    new PgUploads(pool),
    new S3Uploads(store),
    (roomId, senderId, key) => messageExists(readModels, roomId, senderId, key),
    {
      limits: {
        maxFileBytes: env('ATTACHMENT_MAX_BYTES', DEFAULT_ATTACHMENT_LIMITS.maxFileBytes),
        perMessage: env('ATTACHMENTS_PER_MESSAGE', DEFAULT_ATTACHMENT_LIMITS.perMessage),
        uploadsPerUserPerDay: env('UPLOADS_PER_USER_PER_DAY', DEFAULT_ATTACHMENT_LIMITS.uploadsPerUserPerDay),
        bytesPerUserPerDay: env('UPLOAD_BYTES_PER_USER_PER_DAY', DEFAULT_ATTACHMENT_LIMITS.bytesPerUserPerDay),
      },
      uploadUrlTtlSeconds: env('UPLOAD_URL_TTL_SECONDS', 300),
      keyPrefix: config.objectPrefix,
      graceMs: env('UPLOAD_GRACE_MS', 24 * 3600_000),
      concurrentChecks: env('ATTACHMENT_CHECKS_AT_ONCE', 2),
    },
    log,
  );
  const sweeping = setInterval(
    () => void attachments.sweep().catch((error: unknown) => log.warn('cannot sweep uploads', { error })),
    env('UPLOAD_SWEEP_INTERVAL_MS', 10 * 60_000),
  );
  return { attachments, stop: () => clearInterval(sweeping) };
}
