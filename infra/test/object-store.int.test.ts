import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, describe, expect, it } from 'vitest';
import { createS3Client, deleteObjectsUnder, listKeysUnder, loadConfig } from '@chat/platform';
import { removeAfterAll } from '../../test/src/leftovers.ts';

// The object store infra:up starts (or reuses), through the AWS SDK as the services use it: a
// presigned PUT takes exactly what was signed and nothing else, a GET gives the bytes back, and
// a test's objects are found and removed under its prefix.

const config = loadConfig();
const store = config.objectStore;
const prefix = `t_objectstore_${Date.now().toString(36)}/`;
const client = createS3Client(store);
const publicClient = createS3Client(store, 'public');
removeAfterAll(prefix);
afterAll(() => {
  client.destroy();
  publicClient.destroy();
});

const putUrl = (key: string, size: number, ttl = 60) =>
  getSignedUrl(publicClient, new PutObjectCommand({ Bucket: store.bucket, Key: key, ContentLength: size, ContentType: 'image/png' }), {
    expiresIn: ttl,
    signableHeaders: new Set(['content-length', 'content-type']),
  });

describe('the object store', () => {
  it('takes a presigned PUT of exactly the signed size and type, and gives the bytes back', async () => {
    const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
    const key = `${prefix}exact`;
    const url = await putUrl(key, bytes.length);
    const put = (body: Buffer, type = 'image/png') =>
      fetch(url, { method: 'PUT', body: new Uint8Array(body), headers: { 'content-type': type } });
    expect((await put(Buffer.concat([bytes, bytes]))).status).toBe(403);
    expect((await put(bytes, 'text/html')).status).toBe(403);
    expect((await put(bytes)).status).toBe(200);
    const head = await client.send(new HeadObjectCommand({ Bucket: store.bucket, Key: key }));
    expect(head.ContentLength).toBe(bytes.length);
    const got = await client.send(new GetObjectCommand({ Bucket: store.bucket, Key: key }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(bytes)).toBe(true);
  });

  it('refuses a presigned PUT once it expired', async () => {
    const url = await putUrl(`${prefix}late`, 10, 1);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const put = await fetch(url, { method: 'PUT', body: new Uint8Array(10), headers: { 'content-type': 'image/png' } });
    expect(put.status).toBe(403);
  });

  it('finds and removes what was stored under a prefix', async () => {
    for (const name of ['a', 'b/c']) await client.send(new PutObjectCommand({ Bucket: store.bucket, Key: `${prefix}${name}`, Body: name }));
    // S3Proxy's filesystem backend lists a folder's marker too (`…/b/`): it is removed with the rest.
    const objects = (await listKeysUnder(store, prefix)).filter((key) => !key.endsWith('/'));
    expect(objects.sort()).toEqual([`${prefix}a`, `${prefix}b/c`, `${prefix}exact`]);
    expect(await deleteObjectsUnder(store, prefix)).toBeGreaterThanOrEqual(3);
    expect(await listKeysUnder(store, prefix)).toEqual([]);
  });
});
