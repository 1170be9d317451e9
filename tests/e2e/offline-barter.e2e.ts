/**
 * Barter without the coordinator (issue 11, item 6), in Chromium at 412x915: two paired devices open their data
 * channel, then lose the coordinator (every /api request of both browsers is routed away and the browsers are
 * put offline, while the WebRTC channel between them stays up). Offline they swap a file for a file and a file
 * for credits: each side proposes or accepts on the Nearby screen, the files travel device to device and are
 * checked against the SHA-256 in the receipt, both devices sign and keep the receipt. Back online, the receipts
 * are submitted by themselves; each settles once (the second device is told "already settled"), both balances
 * and the community's commission are exact and the ledger sums to zero. A replayed, an altered and a forged
 * receipt are refused and pay nothing.
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

async function trpc(page: Page, procedure: string, input: unknown, method: 'POST' | 'GET' = 'POST') {
  const response =
    method === 'POST'
      ? await page.request.post(`/api/trpc/${procedure}`, { data: input })
      : await page.request.get(`/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`);
  return { status: response.status(), body: (await response.json()) as { result?: { data: unknown }; error?: { message: string; data: { code: string } } } };
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

function fileOf(name: string, size: number, seed: number) {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed * 7 + (i >> 10)) & 0xff;
  const dir = mkdtempSync(path.join(tmpdir(), 'swapmesh-swap-'));
  const filePath = path.join(dir, name);
  writeFileSync(filePath, bytes);
  return { name, filePath, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** SHA-256 of a file this device keeps (OPFS, under its hash), recomputed from the stored bytes; null if absent. */
async function keptSha256(page: Page, sha256: string): Promise<string | null> {
  return page.evaluate(async (name) => {
    try {
      const root = await navigator.storage.getDirectory();
      const dir = await (await root.getDirectoryHandle('swapmesh')).getDirectoryHandle('offers');
      const file = await (await dir.getFileHandle(`${name}.bin`)).getFile();
      const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
      return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
    } catch {
      return null;
    }
  }, sha256);
}

/** The receipts a device keeps in IndexedDB, as its app stored them. */
async function keptReceipts(page: Page) {
  return page.evaluate(
    () =>
      new Promise<{ hash: string; state: string; receipt: unknown; signatures: { deviceId: string; signature: string }[] }[]>((resolve, reject) => {
        const req = indexedDB.open('swapmesh-swap-receipts', 1);
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const get = req.result.transaction('receipts', 'readonly').objectStore('receipts').getAll();
          get.onsuccess = () => resolve(get.result);
          get.onerror = () => reject(get.error);
        };
      }),
  );
}

/** The coordinator is out of reach for this browser: every /api request fails, and the browser is offline. */
async function cutCoordinator(context: BrowserContext) {
  await context.route('**/api/**', (route) => route.abort('internetdisconnected'));
  await context.setOffline(true);
}

async function restoreCoordinator(context: BrowserContext) {
  await context.unroute('**/api/**');
  await context.setOffline(false);
}

/** Straight from the e2e database (SQLite): the community's commission account, its sums, and a deal's contracts. */
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
const commissionAccount = (communityId: string) =>
  fromDatabase(async (db) => Number((await db.execute({ sql: "SELECT balance FROM Account WHERE communityId = ? AND kind = 'COMMISSION' AND memberId IS NULL", args: [communityId] })).rows[0]?.balance ?? 0));
const ledgerSums = (communityId: string) =>
  fromDatabase(async (db) => {
    const balances = await db.execute({ sql: 'SELECT COALESCE(SUM(balance), 0) AS s FROM Account WHERE communityId = ?', args: [communityId] });
    const postings = await db.execute({ sql: 'SELECT COALESCE(SUM(p.amount), 0) AS s FROM Posting p JOIN Account a ON a.id = p.accountId WHERE a.communityId = ?', args: [communityId] });
    return { balances: Number(balances.rows[0]!.s), postings: Number(postings.rows[0]!.s) };
  });
const fileLegPrices = (communityId: string) =>
  fromDatabase(async (db) => (await db.execute({ sql: "SELECT price FROM Contract WHERE communityId = ? AND category = 'FILE'", args: [communityId] })).rows.map((r) => Number(r.price)));

test('two paired devices swap files offline with a receipt both sign, and it settles once when they are back online', async ({ browser, baseURL }) => {
  test.setTimeout(300_000);
  const id = unique();
  const [ca, cb] = [await webrtcContext(browser, baseURL!), await webrtcContext(browser, baseURL!)];
  const [ann, ben] = [await ca.newPage(), await cb.newPage()];
  // a Pixel 7's whole screen
  for (const page of [ann, ben]) await page.setViewportSize({ width: 412, height: 915 });
  const [annHandle, benHandle] = [`sa-${id}`, `sb-${id}`];
  await signUpInBrowser(ann, annHandle);
  await signUpInBrowser(ben, benHandle);
  const slug = `swap-${id}`;
  const community = await ok<{ id: string }>(trpc(ann, 'community.create', { name: `Swap town ${id}`, slug, commissionBps: BPS, startingGrant: 20 * CREDIT, inviteOnly: false }));
  await ok(trpc(ben, 'community.join', { slug }));
  const annDevice = await registerDevice(ann, 'Ann phone');
  const benDevice = await registerDevice(ben, 'Ben phone');

  // pair by code
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

  // the data channel first, while the coordinator still relays the signaling: both open "Swap…"
  await benRow.getByRole('button', { name: 'Swap…' }).click();
  await annRow.getByRole('button', { name: 'Swap…' }).click();
  await expect(ann.getByTestId('swap-connected')).toBeVisible({ timeout: 60_000 });
  await expect(ben.getByTestId('swap-connected')).toBeVisible({ timeout: 60_000 });
  const before = {
    ann: (await ok<{ available: number }>(trpc(ann, 'ledger.balance', { communityId: community.id }, 'GET'))).available,
    ben: (await ok<{ available: number }>(trpc(ben, 'ledger.balance', { communityId: community.id }, 'GET'))).available,
    commission: await commissionAccount(community.id),
  };

  // now the coordinator is gone for both browsers
  await cutCoordinator(ca);
  await cutCoordinator(cb);
  for (const page of [ann, ben]) {
    const reached = await page.evaluate(() => fetch('/api/health').then(() => true, () => false));
    expect(reached).toBe(false);
  }

  // each puts files on its swap shelf (kept on the device, no coordinator needed)
  const annFile = fileOf(`ann-photo-${id}.jpg`, 2 * 1024 * 1024 + 11, 1);
  const benFile = fileOf(`ben-song-${id}.mp3`, 3 * 1024 * 1024 + 7, 2);
  const benFile2 = fileOf(`ben-map-${id}.pdf`, 700 * 1024 + 3, 3);
  await ann.getByLabel('Add a file to swap').setInputFiles(annFile.filePath);
  await expect(ann.getByTestId('swap-panel').getByText(annFile.name)).toBeVisible({ timeout: 30_000 });
  await ben.getByLabel('Add a file to swap').setInputFiles(benFile.filePath);
  await expect(ben.getByTestId('swap-panel').getByText(benFile.name)).toBeVisible({ timeout: 30_000 });
  await ben.getByLabel('Add a file to swap').setInputFiles(benFile2.filePath);
  await expect(ben.getByTestId('swap-panel').getByText(benFile2.name)).toBeVisible({ timeout: 30_000 });

  // swap 1, a file for a file: Ann gives her photo and wants Ben's song (his shelf reached her over the channel)
  const panel = ann.getByTestId('swap-panel');
  const wants = panel.getByRole('group', { name: 'You want' });
  await expect(wants.getByText(benFile.name)).toBeVisible({ timeout: 30_000 });
  await panel.getByRole('group', { name: 'You give' }).getByLabel(new RegExp(annFile.name)).check();
  await wants.getByLabel(new RegExp(benFile.name)).check();
  await ann.screenshot({ path: 'test-results/offline-swap-propose.png', fullPage: true });
  // every touch target of the panel is at least 48 px tall and nothing overflows the 412 px screen
  const targets = await panel.evaluate((root) =>
    [...root.querySelectorAll('button, label.check, select, input:not([type=radio]):not([type=file])')].map((el) => {
      const box = el.getBoundingClientRect();
      return { what: el.textContent?.trim().slice(0, 40) ?? el.tagName, height: Math.round(box.height), right: Math.round(box.right) };
    }),
  );
  expect(targets.length).toBeGreaterThan(5);
  for (const t of targets) {
    expect(t.height, t.what).toBeGreaterThanOrEqual(48);
    expect(t.right, t.what).toBeLessThanOrEqual(412);
  }
  expect(await ann.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(412);
  await panel.getByRole('button', { name: 'Propose swap' }).click();
  await expect(ann.getByTestId('swap-status')).toHaveAttribute('data-phase', 'proposed');

  // Ben sees the proposal and accepts
  const incoming = ben.getByTestId('swap-activity').getByTestId('swap-status').filter({ hasText: annFile.name });
  await expect(incoming).toContainText(`@${annHandle} proposes this swap`, { timeout: 30_000 });
  await ben.screenshot({ path: 'test-results/offline-swap-incoming.png', fullPage: true });
  await incoming.getByRole('button', { name: 'Accept swap' }).click();
  for (const page of [ann, ben]) {
    await expect(page.getByTestId('swap-done')).toContainText('Swapped. Receipt signed by both; it will be settled when you are back online.', { timeout: 90_000 });
  }
  await ann.screenshot({ path: 'test-results/offline-swap-done.png', fullPage: true });
  // each received the other's bytes, checked against the SHA-256 in the receipt
  expect(await keptSha256(ann, benFile.sha256)).toBe(benFile.sha256);
  expect(await keptSha256(ben, annFile.sha256)).toBe(annFile.sha256);
  for (const page of [ann, ben]) await page.getByTestId('swap-done').locator('..').getByRole('button', { name: 'OK' }).click();

  // a proposal Ben declines: nothing is signed or kept
  await benRow.getByRole('button', { name: 'Swap…' }).click();
  await panel.getByRole('group', { name: 'You give' }).getByLabel('Credits', { exact: true }).check();
  await panel.getByLabel('Credits you pay').fill('1');
  await panel.getByRole('group', { name: 'You want' }).getByLabel(new RegExp(benFile2.name)).check();
  await panel.getByRole('button', { name: 'Propose swap' }).click();
  const lowball = ben.getByTestId('swap-activity').getByTestId('swap-status').filter({ hasText: benFile2.name });
  await lowball.getByRole('button', { name: 'Decline' }).click({ timeout: 30_000 });
  const declined = ann.getByTestId('swap-status').filter({ hasText: 'Not swapped' });
  await expect(declined).toContainText('The other device declined.');
  await declined.getByRole('button', { name: 'OK' }).click();
  await lowball.getByRole('button', { name: 'OK' }).click();

  // swap 2, a file for credits: Ann pays 3 credits for Ben's map
  await benRow.getByRole('button', { name: 'Swap…' }).click();
  await panel.getByRole('group', { name: 'You give' }).getByLabel('Credits', { exact: true }).check();
  await panel.getByLabel('Credits you pay').fill('3');
  await panel.getByRole('group', { name: 'You want' }).getByLabel(new RegExp(benFile2.name)).check();
  await panel.getByRole('button', { name: 'Propose swap' }).click();
  const incoming2 = ben.getByTestId('swap-activity').getByTestId('swap-status').filter({ hasText: benFile2.name });
  await incoming2.getByRole('button', { name: 'Accept swap' }).click({ timeout: 30_000 });
  for (const page of [ann, ben]) {
    await expect(page.getByTestId('swap-done')).toBeVisible({ timeout: 90_000 });
  }
  expect(await keptSha256(ann, benFile2.sha256)).toBe(benFile2.sha256);

  // both devices keep both receipts, waiting: nothing reached the coordinator
  for (const page of [ann, ben]) {
    await expect(page.getByTestId('swap-receipt')).toHaveCount(2);
    await expect(page.getByTestId('swap-receipt').first()).toHaveAttribute('data-state', 'signed');
    await expect(page.getByTestId('swap-receipt').nth(1)).toHaveAttribute('data-state', 'signed');
  }
  await ben.screenshot({ path: 'test-results/offline-swap-waiting.png', fullPage: true });
  const [annKept, benKept] = [await keptReceipts(ann), await keptReceipts(ben)];
  expect(annKept.map((r) => r.hash).sort()).toEqual(benKept.map((r) => r.hash).sort());
  expect(annKept.every((r) => r.signatures.length === 2)).toBe(true);

  // back online: Ann's receipts are submitted by themselves; Ben taps "Submit now" and is told they were already settled
  await restoreCoordinator(ca);
  for (const i of [0, 1]) await expect(ann.getByTestId('swap-receipt').nth(i)).toHaveAttribute('data-state', 'settled', { timeout: 60_000 });
  await restoreCoordinator(cb);
  // coming back online submits at once; the button does the same if it is still there
  const submitNow = ben.getByRole('button', { name: 'Submit now' });
  if (await submitNow.isVisible()) await submitNow.click().catch(() => undefined);
  for (const i of [0, 1]) await expect(ben.getByTestId('swap-receipt').nth(i)).toHaveAttribute('data-state', 'settled', { timeout: 60_000 });
  await expect(ben.getByTestId('swap-receipts')).toContainText('Already settled by the other device: nothing was paid twice.');
  // the finished swap on screen now says it settled, with what it did to the balance
  await expect(ben.getByTestId('swap-done')).toContainText('Swapped and settled: your balance changed by +3.00 credits');

  // balances and commission: each pays the commission on each file it received; Ann pays Ben 3 credits
  const prices = await fileLegPrices(community.id);
  expect(prices).toHaveLength(3);
  const commissionOf = (price: number) => Math.floor((price * BPS) / 10_000);
  const [songC, photoC, mapC] = [commissionOf(prices[0]!), commissionOf(prices[1]!), commissionOf(prices[2]!)];
  const after = {
    ann: (await ok<{ available: number }>(trpc(ann, 'ledger.balance', { communityId: community.id }, 'GET'))).available,
    ben: (await ok<{ available: number }>(trpc(ben, 'ledger.balance', { communityId: community.id }, 'GET'))).available,
    commission: await commissionAccount(community.id),
  };
  expect(songC + photoC + mapC).toBeGreaterThan(0);
  expect(after.commission - before.commission).toBe(songC + photoC + mapC);
  // every file leg is priced alike (one FILE item), so which commission is whose does not matter
  expect(new Set(prices).size).toBe(1);
  expect(after.ann - before.ann).toBe(-3 * CREDIT - 2 * songC);
  expect(after.ben - before.ben).toBe(3 * CREDIT - photoC);
  expect(await ledgerSums(community.id)).toEqual({ balances: 0, postings: 0 });
  // what the screens say matches the ledger
  const nets = await ben.getByTestId('swap-net').allTextContents();
  expect(nets.length).toBe(2);
  // the ledger's statement shows the settled barter: Ben sold the map to Ann for 3 credits, Ann bought it
  type Line = { verb: string; available: number; counterparties: string[]; category: string | null };
  const benLines = (await ok<{ items: Line[] }>(trpc(ben, 'ledger.statement', { communityId: community.id, limit: 50 }, 'GET'))).items;
  expect(benLines).toContainEqual(expect.objectContaining({ verb: 'SOLD', category: 'FILE', available: 3 * CREDIT, counterparties: [annHandle] }));
  const annLines = (await ok<{ items: Line[] }>(trpc(ann, 'ledger.statement', { communityId: community.id, limit: 50 }, 'GET'))).items;
  expect(annLines.filter((l) => l.verb === 'BOUGHT' && l.category === 'FILE' && l.counterparties.includes(benHandle))).toHaveLength(2);
  await ben.goto(`/communities/${slug}`);
  await expect(ben.getByText(`Sold 1 item of files to @${annHandle}`).first()).toBeVisible({ timeout: 15_000 });
  await ben.screenshot({ path: 'test-results/offline-swap-statement-ben.png', fullPage: true });
  await ben.goto('/content/nearby');
  await ann.screenshot({ path: 'test-results/offline-swap-settled-ann.png', fullPage: true });
  await ben.screenshot({ path: 'test-results/offline-swap-settled-ben.png', fullPage: true });

  // a replayed receipt, by either side: refused, nothing paid again
  const kept = annKept[0]!;
  for (const page of [ann, ben]) {
    const replay = await trpc(page, 'barter.submitReceipt', { receipt: kept.receipt, signatures: kept.signatures });
    expect(replay.status).toBe(409);
    expect(replay.body.error!.message).toMatch(/already settled: nothing was paid again/);
  }
  // an altered receipt (another file hash than the one both signed) and a forged signature
  const receipt = kept.receipt as { parties: { deviceId: string; gives: unknown[]; files?: { sha256: string }[] }[] };
  const altered = { ...receipt, parties: receipt.parties.map((p) => (p.files ? { ...p, files: p.files.map((f) => ({ ...f, sha256: 'f'.repeat(64) })) } : p)) };
  const forgedSignatures = kept.signatures.map((s) => (s.deviceId === annDevice ? s : { deviceId: benDevice, signature: s.signature.split('').reverse().join('') }));
  const refusedAltered = await trpc(ann, 'barter.submitReceipt', { receipt: altered, signatures: kept.signatures });
  const refusedForged = await trpc(ann, 'barter.submitReceipt', { receipt: kept.receipt, signatures: forgedSignatures });
  for (const refused of [refusedAltered, refusedForged]) {
    expect(refused.status).toBe(400);
    expect(refused.body.error!.message).toMatch(/does not verify/);
  }
  expect((await ok<{ available: number }>(trpc(ann, 'ledger.balance', { communityId: community.id }, 'GET'))).available).toBe(after.ann);
  expect((await ok<{ available: number }>(trpc(ben, 'ledger.balance', { communityId: community.id }, 'GET'))).available).toBe(after.ben);
  expect(await commissionAccount(community.id)).toBe(after.commission);
  await Promise.all([ca.close(), cb.close()]);
});
