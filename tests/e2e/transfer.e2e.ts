/**
 * Nearby content swapping end to end, in two Chromium contexts (two devices) talking WebRTC over
 * loopback: publish → search → buy → a 50 MB transfer, with a chunk corrupted on the way (detected
 * and fetched again) and the receiving page closed midway (the new page resumes from the recorded
 * watermark) → the receiver's SHA-256 matches → the contract settles and both balances are right.
 *
 * It runs as is (`npx playwright test tests/e2e/transfer.e2e.ts`). To be sure no packet leaves the
 * machine, run it in a private network namespace. Chromium reports navigator.onLine = false when
 * the only interface is loopback (and the app then pauses its queries), so give the namespace a
 * veth pair that leads nowhere:
 *   unshare -n sh -c 'ip link set lo up && ip link add v0 type veth peer name v1 &&
 *     ip addr add 10.254.0.1/30 dev v0 && ip link set v0 up && ip link set v1 up &&
 *     exec npx playwright test tests/e2e/transfer.e2e.ts'
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { phoneProfile } from '../support/fixtures';
import { receivedSha256 } from './support';

const unique = () => Date.now().toString(36) + Math.floor(Math.random() * 1e4).toString(36);
const FILE_BYTES = 50 * 1024 * 1024;
const CHUNK = 64 * 1024;

/** Deterministic bytes (xorshift32), so a failure can be reproduced byte for byte. */
function deterministicFile(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  const words = new Uint32Array(out.buffer, out.byteOffset, Math.floor(length / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < length; i++) out[i] = i & 0xff;
  return out;
}

async function device(browser: Browser, baseURL: string): Promise<BrowserContext> {
  const context = await browser.newContext();
  // with this permission Chromium offers a 127.0.0.1 host candidate (see RECIPES.md)
  await context.grantPermissions(['microphone', 'camera'], { origin: baseURL });
  await context.addInitScript(() => window.localStorage.setItem('swapmesh.debug', '1'));
  return context;
}

async function signUp(page: Page, handle: string) {
  await page.goto('/signup');
  await page.getByLabel('Handle').fill(handle);
  await page.getByLabel('Password').fill('a long enough password');
  await page.getByRole('button', { name: 'Create your account' }).click();
  await expect(page.getByRole('heading', { name: 'Your communities' })).toBeVisible();
}

async function call(page: Page, path: string, input: unknown) {
  const response = await page.request.post(`/api/trpc/${path}`, { data: input });
  return { status: response.status(), body: await response.json() };
}

async function mutate(page: Page, path: string, input: unknown) {
  const { status, body } = await call(page, path, input);
  expect(status, JSON.stringify(body)).toBe(200);
  return body.result.data;
}

async function query(page: Page, path: string, input: unknown) {
  const response = await page.request.get(`/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`);
  expect(response.ok(), await response.text()).toBe(true);
  return (await response.json()).result.data;
}

/** Registers a device for the page's member and makes it this browser's device. */
async function registerDevice(page: Page, name: string): Promise<string> {
  const { device } = await mutate(page, 'device.register', { name, profile: phoneProfile });
  await page.evaluate((id) => window.localStorage.setItem('swapmesh.deviceId', id), device.id);
  return device.id;
}

test('a 50 MB file bought from a nearby device: corrupted chunk re-fetched, receiver reloaded midway, hash verified, seller paid', async ({ browser, baseURL }) => {
  test.setTimeout(300_000);
  const id = unique();
  const bytes = deterministicFile(FILE_BYTES, 0x5eed + id.length);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const dir = mkdtempSync(path.join(tmpdir(), 'swapmesh-e2e-'));
  const filePath = path.join(dir, `field-recording-${id}.wav`);
  writeFileSync(filePath, bytes);

  const sellerContext = await device(browser, baseURL!);
  const buyerContext = await device(browser, baseURL!);
  const seller = await sellerContext.newPage();
  let buyer = await buyerContext.newPage();
  await signUp(seller, `sella-${id}`);
  await signUp(buyer, `buyer-${id}`);
  const slug = `swap-${id}`;
  const community = await mutate(seller, 'community.create', { name: `Swap ${id}`, slug, commissionBps: 200, startingGrant: 100_000_000, inviteOnly: false });
  await mutate(buyer, 'community.join', { slug });
  const sellerDevice = await registerDevice(seller, 'Seller phone');
  const buyerDevice = await registerDevice(buyer, 'Buyer phone');

  // --- the seller offers the file for 3 credits
  await seller.goto('/content/publish');
  await seller.getByLabel('Choose a file').setInputFiles(filePath);
  await expect(seller.getByLabel('Title')).toBeVisible({ timeout: 60_000 });
  await expect(seller.getByTestId('published-sha')).toHaveText(`${sha256.slice(0, 12)}…`);
  await seller.getByLabel('Title').fill(`Dawn chorus ${id}`);
  await seller.getByLabel('Description').fill('Forty minutes of birdsong recorded at the allotments.');
  await seller.getByLabel('Audience').fill('birders');
  await seller.getByLabel('Purpose').fill('relaxing, identification practice');
  await seller.getByLabel('Environment').fill('any audio player');
  await seller.getByRole('button', { name: 'For credits' }).click();
  await seller.getByLabel('Price (credits)').fill('3');
  await seller.screenshot({ path: 'test-results/content-publish.png', fullPage: true });
  await seller.getByRole('button', { name: /^Offer in/ }).click();
  await expect(seller.getByRole('heading', { name: `Dawn chorus ${id}` })).toBeVisible();
  await expect(seller.getByTestId('item')).toContainText(sha256);
  // the next chunk the seller sends will have one byte flipped, once
  await seller.evaluate(() => window.__swapmeshTransfers!.debug.corruptNextChunk());

  // --- the buyer finds it and buys it
  await buyer.goto('/content');
  await buyer.getByLabel('Search files').fill(`chorus ${id}`);
  const row = buyer.getByTestId('catalog-item').filter({ hasText: `Dawn chorus ${id}` });
  await expect(row).toContainText('3 cr');
  await expect(row).toContainText(/nearby|online/); // the seller's device is present
  await buyer.screenshot({ path: 'test-results/content-catalog.png', fullPage: true });
  await row.click();
  await expect(buyer.getByTestId('item-price')).toHaveText('3 credits');
  await buyer.screenshot({ path: 'test-results/content-item.png', fullPage: true });
  await buyer.getByRole('button', { name: 'Buy for 3 credits' }).click();
  await expect(buyer).toHaveURL(/\/content\/transfers$/);
  const balanceAfterBuy = await query(buyer, 'ledger.balance', { communityId: community.id });
  expect(balanceAfterBuy).toMatchObject({ available: 96_970_000, escrow: 3_030_000 });

  const transfers = await query(buyer, 'content.transfers', { deviceId: buyerDevice });
  const transferId: string = transfers[0].id;
  expect(transfers[0]).toMatchObject({ senderDeviceId: sellerDevice, receiverDeviceId: buyerDevice });
  const card = buyer.getByTestId(`transfer-${transferId}`);
  await expect(card).toHaveAttribute('data-phase', 'transferring', { timeout: 60_000 });

  // --- close the receiving page midway; a new page resumes from the watermark
  const percent = async (locator: typeof card) => Number(await locator.getByRole('progressbar').getAttribute('aria-valuenow'));
  await expect.poll(() => percent(card), { timeout: 60_000, intervals: [100] }).toBeGreaterThanOrEqual(25);
  await buyer.screenshot({ path: 'test-results/content-transferring.png', fullPage: true });
  await expect(card.getByTestId('transfer-refetched')).toHaveText('1 damaged chunk fetched again');
  // the coordinator heard of durable progress (reported at most every 2 s) before the page goes
  const watermarkReported = async () => (await query(seller, 'content.transfers', { deviceId: sellerDevice })).find((t: { id: string }) => t.id === transferId).verifiedChunks as number;
  await expect.poll(watermarkReported, { timeout: 60_000, intervals: [100] }).toBeGreaterThan(0);
  await buyer.close();

  buyer = await buyerContext.newPage();
  await buyer.goto('/content/transfers');
  const resumed = buyer.getByTestId(`transfer-${transferId}`);
  await expect(resumed.getByTestId('transfer-resumed')).toBeVisible({ timeout: 60_000 });
  await expect(resumed).toHaveAttribute('data-phase', 'completed', { timeout: 180_000 });
  await expect(resumed).toContainText('SHA-256 verified');
  await buyer.screenshot({ path: 'test-results/content-transfers.png', fullPage: true });

  // --- the bytes on the buyer's device are the file
  expect(await receivedSha256(buyer, transferId)).toBe(sha256);
  const corrupted = await seller.evaluate(() => window.__swapmeshTransfers!.debug.corrupted);
  expect(corrupted).toHaveLength(1);
  expect(corrupted[0]).toMatch(new RegExp(`^${transferId}:\\d+$`));
  // it resumed rather than started over: less than the whole file travelled twice, all of it on the storage workers' bulk channel
  const sent = await seller.evaluate(() => window.__swapmeshTransfers!.debug.bytesSent());
  expect(sent[transferId]!.total).toBeGreaterThanOrEqual(FILE_BYTES);
  expect(sent[transferId]!.total).toBeLessThan(FILE_BYTES * 1.9);
  expect(sent[transferId]!.bulk).toBe(sent[transferId]!.total);

  // --- the sale settled: 3 credits, 2% commission split between the sides
  const done = (await query(buyer, 'content.transfers', { deviceId: buyerDevice })).find((t: { id: string }) => t.id === transferId);
  expect(done).toMatchObject({ status: 'COMPLETED', verifiedChunks: FILE_BYTES / CHUNK });
  expect(await query(buyer, 'ledger.balance', { communityId: community.id })).toMatchObject({ available: 96_970_000, escrow: 0 });
  expect(await query(seller, 'ledger.balance', { communityId: community.id })).toMatchObject({ available: 102_970_000, escrow: 0 });
  const contract = await query(buyer, 'contract.get', { contractId: done.contractId });
  expect(JSON.stringify(contract)).toMatch(/SETTLED|settled/);

  await seller.goto('/content/transfers');
  await expect(seller.getByTestId(`transfer-${transferId}`)).toHaveAttribute('data-phase', 'completed');
  await seller.screenshot({ path: 'test-results/content-sent.png', fullPage: true });
  await sellerContext.close();
  await buyerContext.close();
});

test('send to a nearby device: a gift accepted, a dropped connection resumed by itself; strangers refused until paired', async ({ browser, baseURL }) => {
  test.setTimeout(180_000);
  const id = unique();
  const bytes = deterministicFile(30 * 1024 * 1024, 77);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const dir = mkdtempSync(path.join(tmpdir(), 'swapmesh-e2e-'));
  const filePath = path.join(dir, `map-tiles-${id}.zip`);
  writeFileSync(filePath, bytes);

  const [a, b, c] = [await device(browser, baseURL!), await device(browser, baseURL!), await device(browser, baseURL!)];
  const giver = await a.newPage();
  const taker = await b.newPage();
  const stranger = await c.newPage();
  await signUp(giver, `giver-${id}`);
  await signUp(taker, `taker-${id}`);
  await signUp(stranger, `stranger-${id}`);
  const slug = `gifts-${id}`;
  await mutate(giver, 'community.create', { name: `Gifts ${id}`, slug, commissionBps: 0, startingGrant: 0, inviteOnly: false });
  await mutate(taker, 'community.join', { slug });
  const giverDevice = await registerDevice(giver, 'Giver tablet');
  await registerDevice(taker, 'Taker phone');
  const strangerDevice = await registerDevice(stranger, 'Stranger laptop');

  // both on the Nearby screen: each sees the other online
  await taker.goto('/content/nearby');
  await giver.goto('/content/nearby');
  const takerRow = giver.getByTestId('nearby-devices').getByRole('listitem').filter({ hasText: `@taker-${id}` });
  await expect(takerRow).toBeVisible({ timeout: 30_000 });
  await takerRow.getByRole('button', { name: 'Send a file' }).click();
  await giver.getByLabel('Choose a file to send').setInputFiles(filePath);
  await giver.getByRole('button', { name: 'Send', exact: true }).click();
  await expect(giver.getByTestId('send-panel')).toContainText(`is offered to @taker-${id}`, { timeout: 60_000 });
  await giver.screenshot({ path: 'test-results/content-nearby-send.png', fullPage: true });

  // the gift pops up on the taker's device; accepting it starts the copy (no credits involved)
  const gift = taker.getByTestId('gifts').getByRole('listitem').filter({ hasText: `map-tiles-${id}` });
  await expect(gift).toContainText(`from @giver-${id}`, { timeout: 30_000 });
  await taker.screenshot({ path: 'test-results/content-nearby-gift.png', fullPage: true });
  await gift.getByRole('button', { name: 'Accept' }).click();
  await expect(taker).toHaveURL(/\/content\/transfers$/);
  const card = taker.locator('[data-role="receive"]').first();
  await expect(card).toHaveAttribute('data-phase', 'transferring', { timeout: 60_000 });
  await expect.poll(async () => Number(await card.getByRole('progressbar').getAttribute('aria-valuenow')), { timeout: 60_000, intervals: [50] }).toBeGreaterThanOrEqual(10);
  // cut the WebRTC connection from the receiving side: the manager reconnects and resumes
  await taker.evaluate(() => window.__swapmeshTransfers!.debug.dropConnections());
  await expect(card.getByTestId('transfer-resumed')).toBeVisible({ timeout: 60_000 });
  await expect(card).toHaveAttribute('data-phase', 'completed', { timeout: 120_000 });
  const transferId = (await card.getAttribute('data-testid'))!.replace('transfer-', '');
  expect(await receivedSha256(taker, transferId)).toBe(sha256);

  // a device in no shared community (and not paired) is refused by the coordinator
  const hello = { fromDeviceId: strangerDevice, toDeviceId: giverDevice, message: { type: 'hello' } };
  const refused = await call(stranger, 'signal.send', hello);
  expect(refused.status).toBe(403);
  expect(refused.body.error.data.code).toBe('FORBIDDEN');
  // nor can it speak as someone else's device
  const spoofed = await call(stranger, 'signal.send', { ...hello, fromDeviceId: giverDevice });
  expect(spoofed.status).toBe(404);

  // pairing by code (shown as text and as a QR code) lets the two devices signal each other
  await giver.getByRole('button', { name: 'Show a pairing code' }).click();
  const code = (await giver.getByLabel('Your pairing code').textContent())!.trim();
  expect(code).toMatch(/^\d{6}$/);
  await expect(giver.getByRole('img', { name: `QR code for pairing code ${code}` })).toBeVisible();
  await giver.getByTestId('pairing').screenshot({ path: 'test-results/content-pairing.png' });
  // the QR code opens this address on the other device, with the code filled in
  await stranger.goto(`/content/nearby?pair=${code}`);
  await expect(stranger.getByLabel('Code from the other device')).toHaveValue(code);
  await stranger.getByRole('button', { name: 'Pair', exact: true }).click();
  await expect(stranger.getByTestId('pairing')).toContainText(`Paired with Giver tablet (@giver-${id})`);
  await expect(stranger.getByTestId('nearby-devices')).toContainText('paired');
  expect((await call(stranger, 'signal.send', hello)).status).toBe(200);
  await Promise.all([a.close(), b.close(), c.close()]);
});

test('a file shared from another app (left by the service worker in Cache Storage) lands on the offer form', async ({ browser, baseURL }) => {
  const id = unique();
  const context = await device(browser, baseURL!);
  const page = await context.newPage();
  await signUp(page, `sharer-${id}`);
  await mutate(page, 'community.create', { name: `Share ${id}`, slug: `share-${id}`, commissionBps: 0, startingGrant: 0, inviteOnly: false });
  await registerDevice(page, 'Sharing phone');
  const text = `notes from the repair café ${id}\n`.repeat(5000);
  const sha256 = createHash('sha256').update(text).digest('hex');
  // what the service worker's share_target handler stores (see app/share-target/route.ts)
  await page.evaluate(async (body) => {
    const cache = await caches.open('swapmesh-share');
    await cache.put('/share-target/file', new Response(body, { headers: { 'content-type': 'text/plain', 'x-file-name': encodeURIComponent('Repair notes.txt') } }));
  }, text);
  await page.goto('/content/publish?shared=1');
  await expect(page.getByText('Shared from another app: Repair notes.txt')).toBeVisible();
  await expect(page.getByLabel('Title')).toHaveValue('Repair notes', { timeout: 30_000 });
  await expect(page.getByLabel('Media type')).toHaveValue('text/plain');
  await expect(page.getByTestId('published-sha')).toHaveText(`${sha256.slice(0, 12)}…`);
  expect(await page.evaluate(async () => Boolean(await (await caches.open('swapmesh-share')).match('/share-target/file')))).toBe(false);
  await context.close();
});
