/**
 * Storage on other members' devices, end to end in Chromium contexts talking WebRTC over loopback: a member
 * stores a 20 MB folder with two copies of every piece on two lenders; one lender's context is closed for good,
 * its challenges go unanswered, its pieces are repaired onto a third lender from the surviving copies; the
 * buyer restores the folder from a fresh context (a new device) with the recovery key and its SHA-256 matches;
 * the closed lender was paid only for the periods it proved; the ledger sums to zero.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from '@libsql/client';
import { expect, test, type APIRequestContext, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { pack } from '../../app/_lib/storage/bundle';
import { fillAmounts } from '../../server/market/commission';
import { proRataAmounts } from '../../server/market/contract-state';
import { phoneProfile } from '../support/fixtures';
import { PASSWORD, unique } from './support';

const CREDIT = 1_000_000;
const GRANT = 100 * CREDIT;
const BPS = 200;
const PERIOD_S = 30;
const PERIODS = 15;
const FOLDER_FILES = [
  { name: 'beach.raw', bytes: 8 * 1024 * 1024 },
  { name: 'forest.raw', bytes: 7 * 1024 * 1024 },
  { name: 'city.raw', bytes: 5 * 1024 * 1024 - 4096 },
  { name: 'notes.txt', bytes: 4096 },
];

function deterministic(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  for (let i = length - (length % 4); i < length; i++) out[i] = i & 0xff;
  return out;
}

async function api(request: APIRequestContext, procedure: string, input: unknown, method: 'POST' | 'GET' = 'POST') {
  const response =
    method === 'POST'
      ? await request.post(`/api/trpc/${procedure}`, { data: input })
      : await request.get(`/api/trpc/${procedure}${input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`}`);
  expect(response.ok(), `${procedure}: ${await response.text()}`).toBe(true);
  return (await response.json()).result.data;
}

type Device = { context: BrowserContext; page: Page; memberId: string; deviceId: string; handle: string };

async function device(browser: Browser, baseURL: string, handle: string, signUp = true): Promise<Device> {
  const context = await browser.newContext();
  // with this permission Chromium offers a 127.0.0.1 host candidate (RECIPES.md)
  await context.grantPermissions(['microphone', 'camera'], { origin: baseURL });
  const page = await context.newPage();
  const auth = await api(page.request, signUp ? 'auth.signUp' : 'auth.signIn', { handle, password: PASSWORD });
  const { device: d } = await api(page.request, 'device.register', { name: `${handle}'s phone`, profile: phoneProfile });
  await context.addInitScript((id) => window.localStorage.setItem('swapmesh.deviceId', id), d.id);
  return { context, page, memberId: auth.member.id, deviceId: d.id, handle };
}

test('a 20 MB folder kept on two lenders survives one vanishing: repaired onto a third, restored byte-identical on a new device', async ({ browser, baseURL, playwright }) => {
  test.setTimeout(600_000);
  const id = unique();
  const slug = `vault-${id}`;
  const buyer = await device(browser, baseURL!, `keeper-${id}`);
  const community = await api(buyer.page.request, 'community.create', { name: `Vault ${id}`, slug, commissionBps: BPS, startingGrant: GRANT, inviteOnly: false });
  const [first, second, third] = [await device(browser, baseURL!, `lend1-${id}`), await device(browser, baseURL!, `lend2-${id}`), await device(browser, baseURL!, `lend3-${id}`)];
  for (const d of [first, second, third]) await api(d.page.request, 'community.join', { slug });
  const lend = (d: Device) => api(d.page.request, 'storage.lend', { communityId: community.id, deviceId: d.deviceId, mb: 200, hours: 24, price: 10_000 });
  await lend(first);
  await lend(second);
  for (const d of [buyer, first, second, third]) await d.page.goto('/storage');

  // the folder, and its fingerprint as the app computes it (the same packing of the same files)
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'storage-e2e-')), 'holiday');
  mkdirSync(dir);
  const files = FOLDER_FILES.map((f, i) => ({ path: `holiday/${f.name}`, bytes: new Uint8Array(deterministic(f.bytes, 17 + i)) }));
  FOLDER_FILES.forEach((f, i) => writeFileSync(path.join(dir, f.name), files[i]!.bytes));
  const expected = createHash('sha256').update(pack(files)).digest('hex');
  expect(files.reduce((n, f) => n + f.bytes.length, 0)).toBe(20 * 1024 * 1024);

  const started = Date.now();
  await buyer.page.locator('#store-folder').setInputFiles(dir);
  await buyer.page.getByLabel('Most you pay per MB-hour (credits)').fill('0.02');
  await buyer.page.getByText('How long, and how often it is proven').click();
  await buyer.page.getByLabel(/Proof period/).fill(String(PERIOD_S));
  await buyer.page.getByLabel(/^Periods/).fill(String(PERIODS));
  await buyer.page.getByRole('button', { name: 'Encrypt and store' }).click();
  const recoveryKey = (await buyer.page.getByTestId('recovery-key').textContent({ timeout: 60_000 }))!.trim();
  expect(recoveryKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
  const plans = await api(buyer.page.request, 'storage.plans', undefined, 'GET');
  const planId: string = plans[0].id;
  const plan = () => api(buyer.page.request, 'storage.plan', { planId }, 'GET');
  const shardCount = (await plan()).shards.length;
  // 20 MiB and the bundle's header, in shards of at most 4 MiB
  expect(shardCount).toBe(6);

  // both lenders fetch every piece from the buyer's device over WebRTC, verify it and keep it
  await expect(buyer.page.getByTestId('plan-summary')).toContainText(`${shardCount} of ${shardCount} pieces fully copied`, { timeout: 180_000 });
  const uploadSeconds = (Date.now() - started) / 1000;
  await buyer.page.screenshot({ path: 'test-results/storage-buyer.png', fullPage: true });

  // a period later, each lender has proven every piece at least once
  await expect
    .poll(async () => (await plan()).shards.every((s: { copies: { passed: number }[] }) => s.copies.every((c) => c.passed >= 1)), { timeout: 90_000, intervals: [2_000] })
    .toBe(true);
  await second.page.reload();
  await expect(second.page.getByTestId('lending-summary')).toContainText(`Keeps ${shardCount} pieces`);
  await second.page.screenshot({ path: 'test-results/storage-lender.png', fullPage: true });

  // a third member starts lending; the second lender's device goes away for good
  await lend(third);
  const secondState = await second.context.storageState();
  await second.context.close();

  // its next challenges are missed: each of its copies is lost and repaired onto the third lender from the first's
  await expect
    .poll(
      async () => {
        const view = await plan();
        return view.shards.every((s: { copies: { seller: { id: string }; status: string }[] }) => s.copies.some((c) => c.seller.id === third.memberId && c.status === 'STORED'));
      },
      { timeout: 240_000, intervals: [3_000] },
    )
    .toBe(true);
  const view = await plan();
  const lost = view.shards.flatMap((s: { copies: unknown[] }) => s.copies).filter((c: { seller: { id: string } }) => c.seller.id === second.memberId);
  expect(lost.map((c: { status: string }) => c.status)).toEqual(Array(shardCount).fill('LOST'));
  await buyer.page.reload();
  await buyer.page.getByText('Where it is').click();
  await buyer.page.screenshot({ path: 'test-results/storage-repaired.png', fullPage: true });

  // the closed lender was paid only for the periods it proved
  const contractId: string = lost[0].contract.id;
  const contract = await api(buyer.page.request, 'contract.get', { contractId }, 'GET');
  expect(contract.state).toBe('SETTLED');
  const note: string = contract.events.at(-1).note;
  const [, part, whole] = note.match(/^(\d+) of (\d+) storage periods proven/)!.map(Number);
  const proved = lost.reduce((n: number, c: { passed: number }) => n + c.passed, 0);
  expect(part).toBe(proved);
  expect(whole).toBe(shardCount * PERIODS);
  expect(part).toBeLessThan(whole!);
  const amounts = fillAmounts(contract.quantity, contract.price, BPS);
  const paid = proRataAmounts(amounts.buyerPays, amounts.buyerPays - amounts.sellerGets, part!, whole!);
  const secondApi = await playwright.request.newContext({ baseURL, storageState: secondState });
  expect(await api(secondApi, 'ledger.balance', { communityId: community.id }, 'GET')).toEqual({ available: GRANT + paid.sellerGets, escrow: 0 });
  await secondApi.dispose();

  // the buyer restores the folder on a new device (a fresh context) with the recovery key
  const fresh = await device(browser, baseURL!, buyer.handle, false);
  await fresh.page.goto('/storage');
  const restoreStarted = Date.now();
  await fresh.page.getByRole('button', { name: 'Restore…' }).click();
  await fresh.page.getByLabel('Recovery key').fill(recoveryKey);
  await fresh.page.getByRole('button', { name: 'Restore here' }).click();
  await expect(fresh.page.getByTestId('restored-sha256')).toHaveText(expected, { timeout: 180_000 });
  const restoreSeconds = (Date.now() - restoreStarted) / 1000;
  for (const f of FOLDER_FILES) await expect(fresh.page.getByRole('link', { name: `holiday/${f.name}` })).toBeVisible();
  await fresh.page.screenshot({ path: 'test-results/storage-restored.png', fullPage: true });

  // credits never appeared or vanished
  const db = createClient({ url: process.env.E2E_DATABASE_URL ?? 'file:./data/e2e.db' });
  const sums = await db.execute('SELECT (SELECT COALESCE(SUM(balance), 0) FROM "Account") AS balances, (SELECT COALESCE(SUM(amount), 0) FROM "Posting") AS postings');
  expect([Number(sums.rows[0]!.balances), Number(sums.rows[0]!.postings)]).toEqual([0, 0]);
  db.close();
  console.log(`storage e2e: 20 MB × 2 copies stored in ${uploadSeconds.toFixed(1)} s, restored in ${restoreSeconds.toFixed(1)} s`);
});
