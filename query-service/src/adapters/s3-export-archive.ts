import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { exportKeys } from '@chat/schemas';
import type { ExportArchive } from '../app/data-export.ts';

// Data exports in the object store (at exportKeys.archive): written as a multipart upload
// of 8 MiB parts, so an archive of any size never sits whole in memory; removed when replaced,
// and by `removeOlderThan` once expired.

const PART_BYTES = 8 * 1024 * 1024;

export class S3ExportArchive implements ExportArchive {
  private readonly store: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  /** `prefix`: the platform's object key prefix, for finding old archives. */
  constructor(store: S3Client, bucket: string, prefix: string) {
    this.store = store;
    this.bucket = bucket;
    this.prefix = prefix;
  }

  async write(key: string, chunks: AsyncIterable<Buffer>): Promise<void> {
    const Key = key;
    const { UploadId } = await this.store.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key, ContentType: 'application/gzip' }),
    );
    const parts: { ETag: string | undefined; PartNumber: number }[] = [];
    const upload = async (body: Buffer) => {
      const PartNumber = parts.length + 1;
      const { ETag } = await this.store.send(new UploadPartCommand({ Bucket: this.bucket, Key, UploadId, PartNumber, Body: body }));
      parts.push({ ETag, PartNumber });
    };
    try {
      let pending: Buffer[] = [];
      let size = 0;
      for await (const chunk of chunks) {
        pending.push(chunk);
        size += chunk.length;
        if (size >= PART_BYTES) {
          await upload(Buffer.concat(pending));
          [pending, size] = [[], 0];
        }
      }
      // The last part may be small (or the only one, even empty).
      if (size > 0 || parts.length === 0) await upload(Buffer.concat(pending));
      await this.store.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
    } catch (error) {
      await this.store.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId })).catch(() => undefined);
      throw error;
    }
  }

  async read(key: string): Promise<Readable | undefined> {
    try {
      const object = await this.store.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return object.Body as Readable;
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  async remove(key: string): Promise<void> {
    await this.store.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  /** Removes archives written before `before` (epoch ms); answers how many. */
  async removeOlderThan(before: number): Promise<number> {
    let removed = 0;
    let ContinuationToken: string | undefined;
    do {
      const page = await this.store.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: exportKeys.archives(this.prefix), ContinuationToken }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key && object.LastModified && object.LastModified.getTime() < before) {
          await this.store.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: object.Key }));
          removed++;
        }
      }
      ContinuationToken = page.NextContinuationToken;
    } while (ContinuationToken);
    return removed;
  }
}
