import { HeadObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, createS3Client, sleep, topicName, waitFor } from '@chat/platform';
import { objectKeys } from '@chat/schemas';
import { startStack, type Stack } from '@chat/infra';
import { TestUsers } from '../src/accounts.ts';
import { collect, gql, wsClient } from '../src/graphql.ts';
import { runRebuild } from '../src/rebuild-cli.ts';
import { topicSize } from '../src/kafka.ts';

// Attachments end to end, against the real local object store (S3Proxy): an upload asked for,
// PUT straight to the store with its presigned URL, sent with a message, seen live and in
// history by another member, who fetches the thumbnail and the original byte for byte through
// the one endpoint; a non-member gets nothing. Every refusal (a forged, oversized, mistyped or
// foreign upload, an expired URL) is typed and appends nothing; uploads never sent are swept;
// a rebuild restores the attachments with parity.

const LIMITS = {
  ATTACHMENT_MAX_BYTES: String(2 * 1024 * 1024),
  ATTACHMENTS_PER_MESSAGE: '3',
  UPLOADS_PER_USER_PER_DAY: '40',
  UPLOAD_URL_TTL_SECONDS: '4',
  UPLOAD_GRACE_MS: '6000',
  UPLOAD_SWEEP_INTERVAL_MS: '1000',
};
const REQUEST = `mutation($name: String!, $size: Int!, $type: String!) { requestUpload(name: $name, size: $size, contentType: $type) {
  __typename ... on UploadTicket { uploadId url method contentType maxBytes } ... on CommandError { code message } } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $key: ID!, $files: [ID!]) {
  sendMessage(roomId: $roomId, body: $body, clientMessageId: $key, attachments: $files) {
    __typename ... on MessageAccepted { messageId receipt { duplicate } } ... on CommandError { code message } } }`;
const ATTACHMENT_FIELDS = `attachments { id name contentType size kind width height placeholder url previewUrl thumbnailUrl }`;
const HISTORY = `query($roomId: ID!) { messages(roomId: $roomId, last: 50) { edges { node { id body deleted ${ATTACHMENT_FIELDS} } } } }`;
const LIVE = `subscription($roomId: ID!) { messageAdded(roomId: $roomId, after: "0") { id body ${ATTACHMENT_FIELDS} } }`;
const CREATE = `mutation { createRoom(name: "pictures") { ... on RoomAccepted { roomId } } }`;
const JOIN = `mutation($roomId: ID!) { joinRoom(roomId: $roomId) { __typename } }`;
const DELETE = `mutation($roomId: ID!, $messageId: ID!) { deleteMessage(roomId: $roomId, messageId: $messageId) { __typename } }`;

let stack: Stack;
let users: TestUsers;
let endpoint: string;
let origin: string;

beforeAll(async () => {
  stack = await startStack('attachments', LIMITS);
  users = new TestUsers(stack.commandUrl);
  endpoint = stack.queryUrl;
  origin = new URL(endpoint).origin;
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

interface Ticket {
  __typename: string;
  uploadId: string;
  url: string;
  contentType: string;
  code?: string;
}

async function requestUpload(user: string, name: string, size: number, type: string): Promise<Ticket> {
  return (await gql(endpoint, REQUEST, { name, size, type }, await users.token(user))).requestUpload;
}

/** Asks for an upload and PUTs `bytes` to it, as a browser does; resolves with the upload id. */
async function upload(user: string, name: string, bytes: Buffer, type: string): Promise<string> {
  const ticket = await requestUpload(user, name, bytes.length, type);
  expect(ticket.__typename, JSON.stringify(ticket)).toBe('UploadTicket');
  const put = await putTo(ticket, bytes);
  expect(put.status, await put.text()).toBe(200);
  return ticket.uploadId;
}

function putTo(ticket: Ticket, bytes: Buffer): Promise<Response> {
  return fetch(ticket.url, { method: 'PUT', body: new Uint8Array(bytes), headers: { 'content-type': ticket.contentType } });
}

async function send(user: string, roomId: string, key: string, files: string[], body = '') {
  return (await gql(endpoint, SEND, { roomId, body, key, files }, await users.token(user))).sendMessage;
}

async function history(user: string, roomId: string): Promise<any[]> {
  return (await gql(endpoint, HISTORY, { roomId }, await users.token(user))).messages.edges.map((e: any) => e.node);
}

async function fetchAs(user: string | undefined, path: string): Promise<Response> {
  return fetch(`${origin}${path}`, user ? { headers: { authorization: `Bearer ${await users.token(user)}` } } : {});
}

async function roomOf(owner: string, ...members: string[]): Promise<string> {
  const roomId = (await gql(endpoint, CREATE, {}, await users.token(owner))).createRoom.roomId as string;
  for (const member of members) await gql(endpoint, JOIN, { roomId }, await users.token(member));
  return roomId;
}

const roomEvents = () => topicSize(createKafka(stack.config, 'test-sizes'), topicName(stack.config.topicPrefix, 'roomEvents'));
const png = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: '#2a6f4e' } })
    .png()
    .toBuffer();
const objectExists = async (key: string) =>
  createS3Client(stack.config.objectStore)
    .send(new HeadObjectCommand({ Bucket: stack.config.objectStore.bucket, Key: key }))
    .then(
      () => true,
      () => false,
    );

describe('attachments', () => {
  it('an image sent by one member is seen live and in history by another, who fetches its thumbnail and the original byte for byte', async () => {
    const roomId = await roomOf('adam', 'bodil');
    const client = wsClient(stack.queryWsUrl, await users.token('bodil'));
    const live = collect<any>(client, LIVE, { roomId }, 1);
    const original = await png(1600, 900);
    const uploadId = await upload('adam', 'harbour.png', original, 'image/png');
    const sent = await send('adam', roomId, 'pic-1', [uploadId], 'look');
    expect(sent.__typename, JSON.stringify(sent)).toBe('MessageAccepted');

    const seenLive = (await live.done)[0].messageAdded;
    live.unsubscribe();
    await client.dispose();
    expect(seenLive.attachments).toEqual([
      expect.objectContaining({ id: uploadId, name: 'harbour.png', contentType: 'image/png', kind: 'IMAGE', width: 1600, height: 900 }),
    ]);
    const [message] = await history('bodil', roomId);
    const attachment = message.attachments[0];
    expect(attachment).toEqual(seenLive.attachments[0]);
    expect(attachment.size).toBe(original.length);
    expect(Buffer.from(attachment.placeholder, 'base64').length).toBeGreaterThan(5);

    const thumbnail = await fetchAs('bodil', attachment.thumbnailUrl);
    expect(thumbnail.status).toBe(200);
    expect(thumbnail.headers.get('content-type')).toBe('image/webp');
    const thumbMeta = await sharp(Buffer.from(await thumbnail.arrayBuffer())).metadata();
    expect([thumbMeta.width, thumbMeta.height]).toEqual([320, 180]);
    const preview = await sharp(Buffer.from(await (await fetchAs('bodil', attachment.previewUrl)).arrayBuffer())).metadata();
    expect([preview.width, preview.height]).toEqual([1280, 720]);

    const download = await fetchAs('bodil', attachment.url);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(original)).toBe(true);
    expect(download.headers.get('content-type')).toBe('image/png');
    expect(download.headers.get('x-content-type-options')).toBe('nosniff');
    expect(download.headers.get('content-disposition')).toBe(`inline; filename="harbour.png"; filename*=UTF-8''harbour.png`);
    // What the client PUT to is never served: it is gone once checked.
    expect(await objectExists(objectKeys.upload(stack.config.objectPrefix, uploadId))).toBe(false);
  });

  it('serves nothing to a non-member, or without a token, and nothing of a deleted message', async () => {
    const roomId = await roomOf('cyra', 'dina');
    const uploadId = await upload('cyra', 'private.png', await png(64, 64), 'image/png');
    const { messageId } = await send('cyra', roomId, 'private-1', [uploadId]);
    const [{ attachments }] = await history('dina', roomId);
    expect((await fetchAs('dina', attachments[0].url)).status).toBe(200);
    const outsider = await fetchAs('eve', attachments[0].url);
    expect(outsider.status).toBe(404);
    expect(await outsider.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no such file' } });
    expect((await fetchAs(undefined, attachments[0].thumbnailUrl)).status).toBe(401);
    // A made-up path names nothing; neither does another variant than the three.
    expect((await fetchAs('dina', attachments[0].url.replace(/original$/, 'secret'))).status).toBe(404);

    await gql(endpoint, DELETE, { roomId, messageId }, await users.token('cyra'));
    const [deleted] = await history('dina', roomId);
    expect(deleted).toMatchObject({ deleted: true, attachments: [] });
    expect((await fetchAs('dina', attachments[0].url)).status).toBe(404);
  });

  it('strips metadata such as EXIF location from an image before serving it', async () => {
    const roomId = await roomOf('faye');
    const withGps = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#345' } })
      .jpeg()
      .withExif({ IFD0: { Make: 'Test Camera', Model: 'GPS 1' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 24/1' } })
      .toBuffer();
    expect((await sharp(withGps).metadata()).exif).toBeDefined();
    const uploadId = await upload('faye', 'holiday.jpg', withGps, 'image/jpeg');
    expect((await send('faye', roomId, 'exif-1', [uploadId])).__typename).toBe('MessageAccepted');
    const [{ attachments }] = await history('faye', roomId);
    const served = Buffer.from(await (await fetchAs('faye', attachments[0].url)).arrayBuffer());
    const meta = await sharp(served).metadata();
    expect(meta.exif).toBeUndefined();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 300, 200]);
    expect(served.includes(Buffer.from('Test Camera'))).toBe(false);
  });

  it('serves files that are not pictures as downloads, SVG and HTML included', async () => {
    const roomId = await roomOf('gilda');
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
    const html = Buffer.from('<!doctype html><script>alert(document.cookie)</script>');
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n');
    const ids = [
      await upload('gilda', 'logo.svg', svg, 'image/svg+xml'),
      await upload('gilda', 'page.html', html, 'text/html'),
      await upload('gilda', 'notes «draft».pdf', pdf, 'application/pdf'),
    ];
    expect((await send('gilda', roomId, 'files-1', ids, 'three files')).__typename).toBe('MessageAccepted');
    const [{ attachments }] = await history('gilda', roomId);
    expect(attachments.map((a: any) => [a.kind, a.contentType, a.previewUrl])).toEqual([
      ['FILE', expect.any(String), null],
      ['FILE', 'application/octet-stream', null],
      ['FILE', 'application/pdf', null],
    ]);
    for (const [i, attachment] of attachments.entries()) {
      const response = await fetchAs('gilda', attachment.url);
      expect(response.headers.get('content-disposition')).toMatch(/^attachment; /);
      expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(Buffer.from(await response.arrayBuffer()).equals([svg, html, pdf][i]!)).toBe(true);
    }
    expect((await fetchAs('gilda', attachments[2].url)).headers.get('content-disposition')).toBe(
      `attachment; filename="notes _draft_.pdf"; filename*=UTF-8''notes%20%C2%ABdraft%C2%BB.pdf`,
    );
  });

  it('refuses forged, oversized, mistyped, foreign and expired uploads, typed, appending nothing', async () => {
    const roomId = await roomOf('hale', 'ivey');
    const before = await roomEvents();
    const refusal = async (files: string[], key: string) => {
      const answer = await send('hale', roomId, key, files, 'with a file');
      expect(answer.__typename).toBe('CommandError');
      return answer.code as string;
    };

    // Oversized: refused when asked for, and the store takes no more bytes than were signed.
    expect((await requestUpload('hale', 'huge.png', 3 * 1024 * 1024, 'image/png')).code).toBe('LIMIT_REACHED');
    const small = await requestUpload('hale', 'small.png', 100, 'image/png');
    expect((await putTo(small, Buffer.alloc(5000, 1))).status).toBe(403);
    // Nothing ever arrived under it.
    expect(await refusal([small.uploadId], 'never-arrived')).toBe('UPLOAD_NOT_FOUND');

    // An executable called a picture.
    const exe = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(58), Buffer.from([0x80, 0, 0, 0]), Buffer.alloc(64), Buffer.from('PE\0\0')]);
    const exeId = await upload('hale', 'cat.png', Buffer.concat([exe, Buffer.alloc(400)]), 'image/png');
    expect(await refusal([exeId], 'exe-as-png')).toBe('UPLOAD_REFUSED');
    // Bytes that are not the image they say they are.
    const textId = await upload('hale', 'fake.jpg', Buffer.from('just some text, not a jpeg at all'), 'image/jpeg');
    expect(await refusal([textId], 'text-as-jpg')).toBe('UPLOAD_REFUSED');

    // Someone else's upload, and one that does not exist.
    const ivys = await upload('ivey', 'mine.png', await png(20, 20), 'image/png');
    expect(await refusal([ivys], 'not-mine')).toBe('UPLOAD_NOT_FOUND');
    expect(await refusal([crypto.randomUUID()], 'made-up')).toBe('UPLOAD_NOT_FOUND');

    // More files than a message may carry.
    const tiny = await png(10, 10);
    const four = await Promise.all([1, 2, 3, 4].map((i) => upload('hale', `${i}.png`, tiny, 'image/png')));
    expect(await refusal(four, 'too-many')).toBe('LIMIT_REACHED');

    // An expired URL: the store refuses the PUT, so the upload never arrives.
    const late = await requestUpload('hale', 'late.png', (await png(30, 30)).length, 'image/png');
    await sleep(Number(LIMITS.UPLOAD_URL_TTL_SECONDS) * 1000 + 1500);
    expect((await putTo(late, await png(30, 30))).status).toBe(403);
    expect(await refusal([late.uploadId], 'expired')).toBe('UPLOAD_NOT_FOUND');

    expect(await roomEvents()).toBe(before);
    expect(await history('hale', roomId)).toEqual([]);
  });

  it('attaches an upload to one message only, and answers a retry of that send as its first outcome', async () => {
    const roomId = await roomOf('jonas');
    const uploadId = await upload('jonas', 'once.png', await png(40, 40), 'image/png');
    const first = await send('jonas', roomId, 'once-1', [uploadId]);
    const retry = await send('jonas', roomId, 'once-1', [uploadId]);
    expect(retry).toEqual({ ...first, receipt: { duplicate: true } });
    expect((await send('jonas', roomId, 'once-2', [uploadId])).code).toBe('UPLOAD_IN_USE');
    expect(await history('jonas', roomId)).toHaveLength(1);
  });

  it('removes uploads never sent once their grace period is over', async () => {
    const uploadId = await upload('kitt', 'forgotten.png', await png(16, 16), 'image/png');
    const key = objectKeys.upload(stack.config.objectPrefix, uploadId);
    expect(await objectExists(key)).toBe(true);
    await waitFor('the unsent upload to be swept', async () => ((await objectExists(key)) ? undefined : true), {
      timeoutMs: 30_000,
      intervalMs: 500,
    });
    const roomId = await roomOf('kitt');
    expect((await send('kitt', roomId, 'too-late', [uploadId])).code).toBe('UPLOAD_NOT_FOUND');
  });

  it('limits uploads per user per day', async () => {
    const answers: string[] = [];
    for (let i = 0; i < Number(LIMITS.UPLOADS_PER_USER_PER_DAY) + 1; i++) {
      answers.push((await requestUpload('leena', `${i}.bin`, 10, '')).__typename);
    }
    expect(answers.filter((a) => a === 'UploadTicket')).toHaveLength(Number(LIMITS.UPLOADS_PER_USER_PER_DAY));
    expect((await requestUpload('leena', 'one-more.bin', 10, '')).code).toBe('LIMIT_REACHED');
  });

  it('is restored by a rebuild, with parity', async () => {
    const roomId = await roomOf('maxi');
    const uploadId = await upload('maxi', 'kept.png', await png(50, 40), 'image/png');
    expect((await send('maxi', roomId, 'kept-1', [uploadId])).__typename).toBe('MessageAccepted');
    const before = await history('maxi', roomId);
    const rebuilt = await rebuild();
    expect(rebuilt.code, rebuilt.out).toBe(0);
    expect(JSON.parse(rebuilt.out)).toMatchObject({ switched: true });
    expect(await history('maxi', roomId)).toEqual(before);
    expect(before[0].attachments[0]).toMatchObject({ id: uploadId, width: 50, height: 40 });
  });
});

async function rebuild(): Promise<{ code: number | null; out: string }> {
  const { code, stdout, stderr } = await runRebuild(stack, ['--json']);
  return { code, out: code === 0 ? stdout : `${stdout}\n${stderr}` };
}
