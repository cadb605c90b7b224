import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createS3Client, deleteKeys, type ObjectStoreConfig } from '@chat/platform';

// The object store as the command side uses it: presigned PUTs for clients, and reading,
// writing and removing objects by key. Any S3-compatible store (ObjectStoreConfig).

export class S3Uploads {
  private readonly store: ObjectStoreConfig;
  private readonly client: S3Client;
  /** Signs URLs for the address clients reach the store at (S3_PUBLIC_ENDPOINT). */
  private readonly publicClient: S3Client;
  private readonly bucket: string;

  constructor(store: ObjectStoreConfig) {
    this.store = store;
    this.client = createS3Client(store);
    this.publicClient = createS3Client(store, 'public');
    this.bucket = store.bucket;
  }

  /**
   * A PUT URL valid for `ttlSeconds` that takes exactly `size` bytes of `contentType`: both are
   * signed headers, so the store refuses any other body.
   */
  presignPut(key: string, size: number, contentType: string, ttlSeconds: number): Promise<string> {
    return getSignedUrl(
      this.publicClient,
      new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentLength: size, ContentType: contentType }),
      { expiresIn: ttlSeconds, signableHeaders: new Set(['content-length', 'content-type']) },
    );
  }

  /** The object's bytes; undefined when there is none, or when it holds more than `maxBytes`. */
  async read(key: string, maxBytes: number): Promise<Buffer | undefined> {
    let answer;
    try {
      answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw error;
    }
    if ((answer.ContentLength ?? Infinity) > maxBytes) {
      await answer.Body?.transformToWebStream().cancel();
      return undefined;
    }
    return Buffer.from(await answer.Body!.transformToByteArray());
  }

  async write(key: string, body: Buffer, contentType: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }));
  }

  async remove(keys: readonly string[]): Promise<void> {
    await deleteKeys(this.store, keys, this.client);
  }
}
