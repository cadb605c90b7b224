import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { axeViolations, screenshotDir } from '../src/browser.ts';
import { gql } from '../src/graphql.ts';
import { accessTokenOf, heading, message, offlineBanner, signUpOnPage, twoPeople, type Person } from '../src/web-page.ts';

// Attachments in the web client, in Chromium: Alice drops a picture on the room, watches its
// upload's progress bar fill, sends it, and Bob sees the thumbnail arrive live and opens it in
// the viewer; a file attached with the paper clip arrives as a download chip; a file removed
// before sending is not sent; offline, an upload waits for the connection, and a message with
// files waits in the outbox. The bytes go from the page straight to the object store (a
// presigned PUT, across origins) and come back through the one endpoint with the access token.

const scene = twoPeople('web-attachments');
let alice: Person;
let bob: Person;
let roomId: string;
beforeAll(() => void ({ alice, bob } = scene));

const CREATE = `mutation { createRoom(name: "Pictures") { ... on RoomAccepted { roomId } } }`;
const JOIN = `mutation($roomId: ID!) { joinRoom(roomId: $roomId) { __typename } }`;
/** Alice's uploads are throttled to this (bytes a second), so the progress bar is seen moving. */
const UPLOAD_BYTES_PER_SECOND = 1_000_000;

interface DroppedFile {
  name: string;
  type: string;
  base64: string;
}

/** Drops files on the composer as a person dragging them from their desktop would. */
async function dropFiles(page: Page, files: DroppedFile[]): Promise<void> {
  await page.getByTestId('composer').evaluate((target, list) => {
    const transfer = new DataTransfer();
    for (const file of list) {
      const bytes = Uint8Array.from(atob(file.base64), (c) => c.charCodeAt(0));
      transfer.items.add(new File([bytes], file.name, { type: file.type }));
    }
    for (const type of ['dragenter', 'dragover', 'drop'])
      target.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, files);
}

/** Every value the page's upload progress bars take, by file, recorded in the page as they change. */
async function recordProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { progressSeen: string[] }).progressSeen = seen;
    const record = () => document.querySelectorAll('progress').forEach((bar) => seen.push(bar.getAttribute('aria-label') ?? ''));
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['value'] });
  });
}

/** The percentages the bar of file `name` has shown so far. */
async function progressSeen(page: Page, name: string): Promise<number[]> {
  const labels = await page.evaluate(() => (window as unknown as { progressSeen: string[] }).progressSeen);
  const prefix = `${name} uploaded `;
  return labels.filter((label) => label.startsWith(prefix)).map((label) => parseInt(label.slice(prefix.length), 10));
}

/**
 * A harbour at sunset, 1200 × 800, as an uncompressed PNG: about 2.9 MB, so its upload lasts
 * long enough to be seen (and the screenshots show a picture rather than noise).
 */
const harbour = () => {
  const glints = Array.from(
    { length: 14 },
    (_, i) =>
      `<rect x="${700 + (i % 3) * 30}" y="${515 + i * 18}" width="${240 - i * 12}" height="4" rx="2" fill="#ffe3a3" opacity="${0.7 - i * 0.04}"/>`,
  ).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="800">
    <defs>
      <linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#1d3b6f"/><stop offset="0.55" stop-color="#f2a65a"/><stop offset="1" stop-color="#f7d08a"/></linearGradient>
      <linearGradient id="sea" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#2a6f8f"/><stop offset="1" stop-color="#0e2f44"/></linearGradient>
    </defs>
    <rect width="1200" height="800" fill="url(#sky)"/>
    <circle cx="820" cy="470" r="90" fill="#ffe3a3"/>
    <path d="M0 470 L160 380 L300 450 L460 360 L640 470 Z" fill="#3b4a5a"/>
    <rect y="500" width="1200" height="300" fill="url(#sea)"/>
    ${glints}
    <path d="M240 600 L420 600 L390 640 L270 640 Z" fill="#5b3a29"/>
    <rect x="326" y="470" width="6" height="130" fill="#3a2a20"/>
    <path d="M332 480 L332 590 L410 590 Z" fill="#f4f1e8"/>
    <path d="M326 490 L326 590 L262 590 Z" fill="#e6dfcf"/>
  </svg>`;
  return sharp(Buffer.from(svg)).png({ compressionLevel: 0 }).toBuffer();
};
const plainPng = (width: number, height: number, background: string) =>
  sharp({ create: { width, height, channels: 3, background } })
    .png()
    .toBuffer();
const png = (name: string, bytes: Buffer): DroppedFile => ({ name, type: 'image/png', base64: bytes.toString('base64') });

describe('attachments in the web client', () => {
  it('signs both people up, in one room', async () => {
    await signUpOnPage(alice);
    await signUpOnPage(bob);
    const queryUrl = scene.stack.queryUrl;
    roomId = (await gql(queryUrl, CREATE, {}, await accessTokenOf(alice))).createRoom.roomId;
    await gql(queryUrl, JOIN, { roomId }, await accessTokenOf(bob));
    for (const p of [alice, bob]) {
      await p.page.goto(`/#/room/${roomId}`);
      await p.page.reload(); // the room list is read again, with the room made beside the page
      await heading(p.page, 'Pictures').waitFor({ timeout: 15_000 });
    }
  });

  it('uploads a dropped picture with a progress bar, and the other person sees it live and opens it', async () => {
    const picture = await harbour();
    expect(picture.length).toBeGreaterThan(2_500_000); // about 3 s at that rate
    // Chromium's own throttling (DevTools), so a few MB take seconds to go, as on a real network.
    const devtools = await alice.context.newCDPSession(alice.page);
    await devtools.send('Network.enable');
    await devtools.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: UPLOAD_BYTES_PER_SECOND,
    });
    await recordProgress(alice.page);
    const aborted: string[] = [];
    alice.page.on('requestfailed', (request) => {
      if (request.method() === 'PUT') aborted.push(request.failure()?.errorText ?? '');
    });
    await dropFiles(alice.page, [png('harbour.png', picture), png('not-this-one.png', picture)]);
    const chips = alice.page.getByTestId('upload-chip');
    await expect.poll(() => chips.count(), { timeout: 10_000 }).toBe(2);
    // The second is removed while it uploads: its PUT is aborted, and it goes nowhere.
    await expect.poll(async () => (await progressSeen(alice.page, 'not-this-one.png')).some((p) => p > 0), { timeout: 15_000 }).toBe(true);
    await alice.page.getByRole('button', { name: 'Remove not-this-one.png' }).click();
    await expect.poll(() => chips.count()).toBe(1);
    await expect.poll(() => aborted, { timeout: 5_000 }).toEqual(['net::ERR_ABORTED']);

    // The first one's bar is seen part-filled, and the picture taken then, before it is done.
    const bar = alice.page.getByTestId('upload-progress');
    await expect
      .poll(async () => (await progressSeen(alice.page, 'harbour.png')).some((p) => p >= 25 && p < 75), { timeout: 15_000 })
      .toBe(true);
    expect(await chips.first().getAttribute('data-status')).toBe('uploading');
    expect(await alice.page.getByRole('button', { name: 'Send', exact: true }).isDisabled()).toBe(true);
    await alice.page.screenshot({ path: join(screenshotDir(), 'attachments-uploading.png') });
    expect(await axeViolations(alice.page)).toEqual([]);
    await expect.poll(() => chips.first().getAttribute('data-status'), { timeout: 30_000 }).toBe('done');
    expect(await bar.getAttribute('aria-label')).toBe('harbour.png uploaded 100%');
    // It rose bit by bit, never back.
    const seen = await progressSeen(alice.page, 'harbour.png');
    expect(seen.filter((p) => p > 0 && p < 100).length).toBeGreaterThan(5);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    await devtools.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await devtools.detach();

    await alice.page.getByRole('textbox', { name: 'Message' }).fill('The harbour this morning');
    await alice.page.getByRole('button', { name: 'Send', exact: true }).click();
    await expect.poll(() => chips.count(), { timeout: 10_000 }).toBe(0);

    // Bob's page, untouched: the thumbnail comes live, loaded from a blob with its real pixels,
    // in a box of the picture's shape (3:2) from the start.
    const sent = message(bob.page, 'The harbour this morning');
    await expect.poll(() => sent.count(), { timeout: 20_000 }).toBe(1);
    const image = sent.getByTestId('attachment-image');
    await expect.poll(() => image.getAttribute('data-loaded'), { timeout: 20_000 }).toBe('true');
    expect(await image.getAttribute('src')).toMatch(/^blob:/);
    expect(await image.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([320, 213]);
    expect(await image.getAttribute('alt')).toBe('harbour.png');
    const box = await sent.getByRole('button', { name: 'Open harbour.png' }).boundingBox();
    expect(box!.width / box!.height).toBeCloseTo(1.5, 1);

    await sent.getByRole('button', { name: 'Open harbour.png' }).click();
    const viewer = bob.page.getByRole('dialog', { name: 'harbour.png' });
    await viewer.waitFor({ timeout: 5_000 });
    const preview = viewer.getByTestId('viewer-image');
    await expect.poll(() => preview.evaluate((img: HTMLImageElement) => img.naturalWidth), { timeout: 15_000 }).toBe(1200);
    expect(await preview.getAttribute('src')).toMatch(/^blob:/);
    await bob.page.screenshot({ path: join(screenshotDir(), 'attachments-viewer.png') });
    expect(await axeViolations(bob.page)).toEqual([]);
    // The original, byte for byte, under its own name.
    const download = bob.page.waitForEvent('download');
    await viewer.getByRole('button', { name: 'Download original' }).click();
    const saved = await download;
    expect(saved.suggestedFilename()).toBe('harbour.png');
    expect((await readFile((await saved.path())!)).equals(picture)).toBe(true);
    // Escape closes it; so does a click beside the picture.
    await bob.page.keyboard.press('Escape');
    await expect.poll(() => bob.page.getByTestId('viewer').count()).toBe(0);
    await sent.getByRole('button', { name: 'Open harbour.png' }).click();
    await viewer.waitFor({ timeout: 5_000 });
    await bob.page.mouse.click(5, 5);
    await expect.poll(() => bob.page.getByTestId('viewer').count()).toBe(0);
    expect(await bob.page.getByTestId('attachment-image').count()).toBe(1);
  });

  it('sends a file attached with the paper clip, shown to the other person as a download', async () => {
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n');
    await alice.page.getByTestId('attach-input').setInputFiles({ name: 'minutes.pdf', mimeType: 'application/pdf', buffer: pdf });
    await expect.poll(() => alice.page.getByTestId('upload-chip').getAttribute('data-status'), { timeout: 15_000 }).toBe('done');
    await alice.page.getByRole('textbox', { name: 'Message' }).fill('the minutes');
    await alice.page.getByRole('textbox', { name: 'Message' }).press('Enter');
    const chip = message(bob.page, 'the minutes').getByTestId('file-chip');
    await expect.poll(() => chip.count(), { timeout: 20_000 }).toBe(1);
    // Its name, size and what it does, to a screen reader as to the eye.
    expect(
      await message(bob.page, 'the minutes')
        .getByRole('button', { name: `Download minutes.pdf ${pdf.length} B` })
        .count(),
    ).toBe(1);
    const download = bob.page.waitForEvent('download');
    await chip.click();
    expect((await download).suggestedFilename()).toBe('minutes.pdf');
    await bob.page.screenshot({ path: join(screenshotDir(), 'attachments-timeline.png') });
    expect(await axeViolations(bob.page)).toEqual([]);
  });

  it('waits for the connection to upload, and sends a message with files queued offline when it returns', async () => {
    // Offline: the file is not uploaded, only listed, until the connection is back.
    alice.link.cut();
    await expect.poll(() => offlineBanner(alice.page).count(), { timeout: 30_000 }).toBe(1);
    await dropFiles(alice.page, [png('offline.png', await plainPng(300, 200, '#2a6'))]);
    const chip = alice.page.getByTestId('upload-chip');
    await expect.poll(() => chip.getAttribute('data-status'), { timeout: 5_000 }).toBe('waiting');
    expect(await chip.innerText()).toContain('Waiting for the connection');
    alice.link.restore();
    await expect.poll(() => chip.getAttribute('data-status'), { timeout: 30_000 }).toBe('done');

    // Uploaded, then sent while offline again: the message waits in the outbox with its file.
    alice.link.cut();
    await expect.poll(() => offlineBanner(alice.page).count(), { timeout: 30_000 }).toBe(1);
    await alice.page.getByRole('textbox', { name: 'Message' }).fill('Sent from the tunnel');
    await alice.page.getByRole('textbox', { name: 'Message' }).press('Enter');
    const pending = alice.page.getByTestId('pending-message');
    await expect.poll(() => pending.innerText(), { timeout: 5_000 }).toContain('offline.png');
    alice.link.restore();
    const arrived = message(bob.page, 'Sent from the tunnel');
    await expect.poll(() => arrived.getByTestId('attachment-image').getAttribute('data-loaded'), { timeout: 30_000 }).toBe('true');
    await expect.poll(() => pending.count(), { timeout: 15_000 }).toBe(0);
    for (const p of [alice, bob]) expect(p.errors).toEqual([]);
  });
});
