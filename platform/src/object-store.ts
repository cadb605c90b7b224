import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { ObjectStoreConfig } from './config.ts';

// The object store (attachments), through the AWS SDK for JavaScript v3: the local S3Proxy that
// infra starts, or any S3-compatible store the environment names (S3_ENDPOINT and the rest).

/**
 * A client for the store. 'public' signs for publicEndpoint, where browsers reach the store:
 * presigned URLs carry the host they were signed for, so they must be made for that address.
 *
 * Path-style addressing (no bucket subdomain on 127.0.0.1), and checksums only where S3
 * requires them: the SDK's default (a CRC32 on every request, validated on every answer) is
 * not understood by S3Proxy, whose GetObject then fails (501) and whose presigned PUT URLs would
 * carry the CRC32 of an empty body.
 */
export function createS3Client(store: ObjectStoreConfig, which: 'internal' | 'public' = 'internal'): S3Client {
  return new S3Client({
    endpoint: which === 'public' ? store.publicEndpoint : store.endpoint,
    region: store.region,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
    maxAttempts: 3,
  });
}

/** The store's answer to HeadBucket: the bucket is there, missing, the credential is refused, or no store answers. */
export type ObjectStoreProbe = 'ok' | 'no-bucket' | 'refused' | 'down';

const PROBE_TIMEOUT_MS = 2000;

/** One cheap request (HeadBucket, 2 s at most), told apart by what answered. */
export async function probeObjectStore(store: ObjectStoreConfig): Promise<ObjectStoreProbe> {
  const client = new S3Client({
    endpoint: store.endpoint,
    region: store.region,
    forcePathStyle: true,
    credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
    maxAttempts: 1,
  });
  try {
    await client.send(new HeadBucketCommand({ Bucket: store.bucket }), { abortSignal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    return 'ok';
  } catch (error) {
    const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
    if (status === 404) return 'no-bucket';
    if (status === 401 || status === 403) return 'refused';
    return 'down';
  } finally {
    client.destroy();
  }
}

/** True when the store answers with our credential accepted, the bucket there or merely missing. */
export async function objectStoreAnswers(store: ObjectStoreConfig): Promise<boolean> {
  const probe = await probeObjectStore(store);
  return probe === 'ok' || probe === 'no-bucket';
}

/** Creates the bucket unless it is there. */
export async function ensureBucket(store: ObjectStoreConfig): Promise<void> {
  const client = createS3Client(store);
  try {
    await client.send(new HeadBucketCommand({ Bucket: store.bucket }));
  } catch (error) {
    if (!(error instanceof S3ServiceException) || error.$metadata.httpStatusCode !== 404) throw error;
    try {
      await client.send(new CreateBucketCommand({ Bucket: store.bucket }));
    } catch (creating) {
      // Made meanwhile by another process starting beside this one.
      if (!(creating instanceof S3ServiceException && creating.name === 'BucketAlreadyOwnedByYou')) throw creating;
    }
  } finally {
    client.destroy();
  }
}

/** Every key under `prefix` in the bucket (none when the bucket does not exist). */
export async function listKeysUnder(store: ObjectStoreConfig, prefix: string, client?: S3Client): Promise<string[]> {
  const own = client ?? createS3Client(store);
  const keys: string[] = [];
  try {
    let token: string | undefined;
    do {
      const page = await own.send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (error) {
    if (!(error instanceof S3ServiceException && error.name === 'NoSuchBucket')) throw error;
  } finally {
    if (!client) own.destroy();
  }
  return keys;
}

/**
 * Deletes the given keys (a missing one is no error), sixteen requests at a time. One
 * DeleteObject each, not DeleteObjects: the SDK signs that with a CRC32 checksum header, which
 * S3Proxy answers with 501 NotImplemented.
 */
export async function deleteKeys(store: ObjectStoreConfig, keys: readonly string[], client?: S3Client): Promise<void> {
  const own = client ?? createS3Client(store);
  try {
    for (let i = 0; i < keys.length; i += 16) {
      await Promise.all(keys.slice(i, i + 16).map((Key) => own.send(new DeleteObjectCommand({ Bucket: store.bucket, Key }))));
    }
  } finally {
    if (!client) own.destroy();
  }
}

/** Deletes every object whose key starts with `prefix`; answers how many there were. */
export async function deleteObjectsUnder(store: ObjectStoreConfig, prefix: string): Promise<number> {
  const client = createS3Client(store);
  try {
    const keys = await listKeysUnder(store, prefix, client);
    await deleteKeys(store, keys, client);
    return keys.length;
  } finally {
    client.destroy();
  }
}
