/**
 * A large offline swap that is interrupted and resumes (issue 11, item 6, with the transfer path of item 3), in
 * Chromium at 412x915: two paired devices open their data channel, lose the coordinator, and agree a swap of a
 * 100 MB file (more than the 64 MB a swap used to be held in memory for) for 2 credits. The file streams into
 * the receiver's OPFS chunk by chunk; a third of the way in the receiver's page is reloaded. The swap was kept on
 * the device: after the reload it reconnects (signaling needs the coordinator, which is back by then), asks again
 * from the bytes already verified — the screen says from where — and finishes; the kept file's SHA-256 matches
 * the receipt, both sign, the receipt settles once, and the balances, the commission and the ledger sums are exact.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from '@libsql/client';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { phoneProfile } from '../support/fixtures';
import { signUpInBrowser, unique, webrtcContext } from './support';

const CREDIT = 1_000_000;
const BPS = 250;
const SIZE = 100 * 1024 * 1024 + 5;

async function trpc(page: Page, procedure: string, input: unknown, method: 'POST' | 'GET' = 'POST') {
  const response =
    method === 'POST'
      ? await page.request.post(`/api/trpc/${procedure}`, { data: input })
      : await page.request.get(`/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`);
  return { status: response.status(), body: (await response.json()) as { result?: { data: unknown } } };
}

async function ok<T>(result: Promise<{ status: number; body: { result?: { data: unknown } } }>): Promise<T> {
  const { status, body } = await result;
  expect(status, JSON.stringify(body)).toBe(200);
  return body.result!.data as T;
}

async function registerDevice(page: Page, name: string): Promise<string> {
  const { device: registered } = await ok<{ device: { id: string } }>(trpc(page, 'device.register', { name, profile: phoneProfile }));
  await page.evaluate((id) => window.localStorage.setItem('swapmesh.deviceId', id), registered.id);
  return registered.id;
}

function bigFile(name: string) {
  const bytes = Buffer.alloc(SIZE);
  let x = 0x9e3779b9;
  for (let i = 0; i + 4 <= SIZE; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes.writeUInt32LE(x >>> 0, i);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'swapmesh-swap-big-'));
  const filePath = path.join(dir, name);
  writeFileSync(filePath, bytes);
  return { name, filePath, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** SHA-256 of a file the device keeps (OPFS offers/, under its hash), read back in 8 MiB pieces; null if absent. */
async function keptSha256(page: Page, sha256: string): Promise<{ size: number; sha256: string } | null> {
  return page.evaluate(async (name) => {
    try {
      const root = await navigator.storage.getDirectory();
      const dir = await (await root.getDirectoryHandle('swapmesh')).getDirectoryHandle('offers');
      const file = await (await dir.getFileHandle(`${name}.bin`)).getFile();
      const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
      return { size: file.size, sha256: [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('') };
    } catch {
      return null;
    }
  }, sha256);
}

/** The bytes a reload could resume from: the highest watermark of the device's resume records (OPFS incoming/); 0 if none yet. */
async function resumableBytes(page: Page): Promise<number> {
  return page.evaluate(async () => {
    try {
      const root = await navigator.storage.getDirectory();
      const dir = await (await root.getDirectoryHandle('swapmesh')).getDirectoryHandle('incoming');
      let best = 0;
      for await (const [name, handle] of (dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
        if (!name.endsWith('.json') || handle.kind !== 'file') continue;
        const record = JSON.parse(await (await (handle as FileSystemFileHandle).getFile()).text()) as { watermark: number; chunkSize: number };
        best = Math.max(best, record.watermark * record.chunkSize);
      }
      return best;
    } catch {
      return 0; // not written yet, or being written
    }
  });
}

async function cutCoordinator(context: BrowserContext) {
  await context.route('**/api/**', (route) => route.abort('internetdisconnected'));
  await context.setOffline(true);
}

async function restoreCoordinator(context: BrowserContext) {
  await context.unroute('**/api/**');
  await context.setOffline(false);
}

async function fromDatabase<T>(read: (db: ReturnType<typeof createClient>) => Promise<T>): Promise<T> {
  const url = process.env.E2E_DATABASE_URL ?? 'file:./data/e2e.db';
  test.skip(!url.startsWith('file:'), 'the ledger is read from the SQLite file');
  const db = createClient({ url });
  try {
    return await read(db);
  } finally {
    db.close();
  }
}

test('a 100 MB file swapped offline for credits: the receiver reloads a third of the way in and the swap resumes from the verified bytes', async ({ browser, baseURL }) => {
  test.setTimeout(600_000);
  const id = unique();
  const [ca, cb] = [await webrtcContext(browser, baseURL!), await webrtcContext(browser, baseURL!)];
  const [ann, ben] = [await ca.newPage(), await cb.newPage()];
  for (const page of [ann, ben]) await page.setViewportSize({ width: 412, height: 915 });
  const [annHandle, benHandle] = [`ra-${id}`, `rb-${id}`];
  await signUpInBrowser(ann, annHandle);
  await signUpInBrowser(ben, benHandle);
  const slug = `swapbig-${id}`;
  const community = await ok<{ id: string }>(trpc(ann, 'community.create', { name: `Big swaps ${id}`, slug, commissionBps: BPS, startingGrant: 20 * CREDIT, inviteOnly: false }));
  await ok(trpc(ben, 'community.join', { slug }));
  await registerDevice(ann, 'Ann phone');
  await registerDevice(ben, 'Ben phone');
  const file = bigFile(`film-${id}.mp4`);

  await ann.goto('/content/nearby');
  await ben.goto('/content/nearby');
  await ann.getByRole('button', { name: 'Show a pairing code' }).click();
  const code = (await ann.getByLabel('Your pairing code').textContent())!.trim();
  await ben.getByLabel('Code from the other device').fill(code);
  await ben.getByRole('button', { name: 'Pair', exact: true }).click();
  const benRow = ann.getByTestId('paired-device').filter({ hasText: `@${benHandle}` });
  const annRow = ben.getByTestId('paired-device').filter({ hasText: `@${annHandle}` });
  await expect(benRow).toBeVisible({ timeout: 20_000 });
  await expect(annRow).toBeVisible({ timeout: 20_000 });
  await benRow.getByRole('button', { name: 'Swap…' }).click();
  await annRow.getByRole('button', { name: 'Swap…' }).click();
  await expect(ann.getByTestId('swap-connected')).toBeVisible({ timeout: 60_000 });
  await expect(ben.getByTestId('swap-connected')).toBeVisible({ timeout: 60_000 });
  const before = {
    ann: (await ok<{ available: number }>(trpc(ann, 'ledger.balance', { communityId: community.id }, 'GET'))).available,
    ben: (await ok<{ available: number }>(trpc(ben, 'ledger.balance', { communityId: community.id }, 'GET'))).available,
  };

  // offline from the coordinator: the file goes on Ann's shelf (no 64 MB cap any more) and the swap is agreed
  await cutCoordinator(ca);
  await cutCoordinator(cb);
  const panel = ann.getByTestId('swap-panel');
  await expect(panel).toContainText('Files of any size this device has room for');
  await ann.getByLabel('Add a file to swap').setInputFiles(file.filePath);
  await expect(panel.getByText(file.name)).toBeVisible({ timeout: 120_000 });
  await panel.getByRole('group', { name: 'You give' }).getByLabel(new RegExp(file.name)).check();
  await panel.getByRole('group', { name: 'You want' }).getByLabel('Credits', { exact: true }).check();
  await panel.getByLabel('Credits you want').fill('2');
  await panel.getByRole('button', { name: 'Propose swap' }).click();
  const incoming = ben.getByTestId('swap-activity').getByTestId('swap-status').filter({ hasText: file.name });
  await incoming.getByRole('button', { name: 'Accept swap' }).click({ timeout: 30_000 });

  // the file streams in; a third of the way in, Ben's page is reloaded
  const receiving = ben.getByRole('progressbar', { name: 'Receiving' });
  await expect.poll(async () => Number(await receiving.getAttribute('aria-valuenow')), { timeout: 240_000, intervals: [200] }).toBeGreaterThanOrEqual(33);
  const seenBefore = Number(await receiving.getAttribute('aria-valuenow'));
  expect(seenBefore).toBeLessThan(100);
  // what a reload can resume from is the durable watermark (made durable at most once a second, after the file's
  // fsync, which a busy disk can hold back for seconds): wait until the resume record names a fifth of the file
  await expect.poll(() => resumableBytes(ben), { timeout: 120_000, intervals: [200] }).toBeGreaterThan(SIZE * 0.2);
  const durableBefore = await resumableBytes(ben);
  await ben.screenshot({ path: 'test-results/offline-swap-big-receiving.png', fullPage: true });
  // a new connection needs the coordinator's signaling: it is back before the reload
  await restoreCoordinator(ca);
  await restoreCoordinator(cb);
  await ben.reload();

  // after the reload: the swap is still there, and goes on from what was already verified
  const resumed = ben.getByTestId('swap-resumed');
  await expect(resumed).toBeVisible({ timeout: 90_000 });
  const resumedFrom = Number(await resumed.getAttribute('data-bytes'));
  expect(resumedFrom).toBeGreaterThanOrEqual(durableBefore);
  expect(resumedFrom).toBeGreaterThan(SIZE * 0.2);
  expect(resumedFrom).toBeLessThan(SIZE);
  await ben.screenshot({ path: 'test-results/offline-swap-big-resumed.png', fullPage: true });
  expect(await ben.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(412);
  for (const page of [ann, ben]) await expect(page.getByTestId('swap-done')).toBeVisible({ timeout: 300_000 });
  const kept = await keptSha256(ben, file.sha256);
  expect(kept).toEqual({ size: SIZE, sha256: file.sha256 });

  // back online, the receipt settles once; Ann got 2 credits, Ben paid them and the commission on the file
  for (const page of [ann, ben]) await expect(page.getByTestId('swap-receipt').first()).toHaveAttribute('data-state', 'settled', { timeout: 90_000 });
  await ben.screenshot({ path: 'test-results/offline-swap-big-settled.png', fullPage: true });
  const prices = await fromDatabase(async (db) => (await db.execute({ sql: "SELECT price FROM Contract WHERE communityId = ? AND category = 'FILE'", args: [community.id] })).rows.map((r) => Number(r.price)));
  expect(prices).toHaveLength(1);
  const commission = Math.floor((prices[0]! * BPS) / 10_000);
  const after = {
    ann: (await ok<{ available: number }>(trpc(ann, 'ledger.balance', { communityId: community.id }, 'GET'))).available,
    ben: (await ok<{ available: number }>(trpc(ben, 'ledger.balance', { communityId: community.id }, 'GET'))).available,
  };
  expect(after.ann - before.ann).toBe(2 * CREDIT);
  expect(after.ben - before.ben).toBe(-2 * CREDIT - commission);
  const sums = await fromDatabase(async (db) => {
    const balances = await db.execute({ sql: 'SELECT COALESCE(SUM(balance), 0) AS s FROM Account WHERE communityId = ?', args: [community.id] });
    const postings = await db.execute({ sql: 'SELECT COALESCE(SUM(p.amount), 0) AS s FROM Posting p JOIN Account a ON a.id = p.accountId WHERE a.communityId = ?', args: [community.id] });
    return { balances: Number(balances.rows[0]!.s), postings: Number(postings.rows[0]!.s) };
  });
  expect(sums).toEqual({ balances: 0, postings: 0 });
  await Promise.all([ca.close(), cb.close()]);
});
