import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createClient } from '@libsql/client';
import { expect, test, type APIRequestContext, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { phoneProfile } from '../support/fixtures';

export const unique = () => Date.now().toString(36) + Math.floor(Math.random() * 1e4).toString(36);
export const PASSWORD = 'a long enough password';

/** A browser context for a device that makes WebRTC connections: with this permission Chromium offers a loopback host candidate (RECIPES.md). */
export async function webrtcContext(browser: Browser, baseURL: string): Promise<BrowserContext> {
  const context = await browser.newContext();
  await context.grantPermissions(['microphone', 'camera'], { origin: baseURL });
  return context;
}

/** Signs a member up, registers a phone over the API and makes this browser that device (with the debug log on); returns its id. */
export async function memberWithDevice(page: Page, handle: string, deviceName: string): Promise<string> {
  await call(page.request, 'auth.signUp', { handle, password: PASSWORD });
  const { device: registered } = await call(page.request, 'device.register', { name: deviceName, profile: phoneProfile });
  await page.goto('/offline');
  await page.evaluate((id) => {
    window.localStorage.setItem('swapmesh.deviceId', id);
    window.localStorage.setItem('swapmesh.debug', '1');
  }, registered.id);
  return registered.id as string;
}

/**
 * Chromium with fake capture devices (camera, microphone and a monitor for getDisplayMedia) and no picker or
 * permission prompt (RECIPES.md): `test.use({ launchOptions: fakeMediaLaunch })` in the media suites.
 */
export const fakeMediaLaunch = {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  ],
};

/** Calls a tRPC procedure over plain JSON with the context's session cookie; returns `result.data`. */
export async function call(api: APIRequestContext, path: string, input: unknown, method: 'POST' | 'GET' = 'POST') {
  const response =
    method === 'POST'
      ? await api.post(`/api/trpc/${path}`, { data: input })
      : await api.get(`/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`);
  expect(response.ok(), await response.text()).toBe(true);
  return (await response.json()).result.data;
}

/** Runs the headless donor (`npm run agent`) until it exits, for at most 90 s. */
export function runAgent(baseURL: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/agent.mjs', '--url', baseURL, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGINT'), 90_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Signs a new member up through the sign-up screen and waits for the home screen. */
export async function signUpInBrowser(page: Page, handle: string) {
  await page.goto('/signup');
  await page.getByLabel('Handle').fill(handle);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create your account' }).click();
  await expect(page.getByRole('heading', { name: 'Your communities' })).toBeVisible();
}

/** SHA-256 of a received file, read straight from the receiving device's OPFS. */
export async function receivedSha256(page: Page, transferId: string): Promise<string> {
  return page.evaluate(async (id) => {
    const root = await navigator.storage.getDirectory();
    const dir = await (await root.getDirectoryHandle('swapmesh')).getDirectoryHandle('incoming');
    const file = await (await dir.getFileHandle(`${id}.part`)).getFile();
    const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
    return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
  }, transferId);
}

/** The community's accounts and postings summed straight from the e2e database (SQLite; skipped on another). */
export async function ledgerSums(communityId: string) {
  const url = process.env.E2E_DATABASE_URL ?? 'file:./data/e2e.db';
  test.skip(!url.startsWith('file:'), 'the ledger is summed from the SQLite file');
  const db = createClient({ url });
  try {
    const balances = await db.execute({ sql: 'SELECT COALESCE(SUM(balance), 0) AS s FROM Account WHERE communityId = ?', args: [communityId] });
    const postings = await db.execute({ sql: 'SELECT COALESCE(SUM(p.amount), 0) AS s FROM Posting p JOIN Account a ON a.id = p.accountId WHERE a.communityId = ?', args: [communityId] });
    return { balances: Number(balances.rows[0]!.s), postings: Number(postings.rows[0]!.s) };
  } finally {
    db.close();
  }
}

// ——— barter legs delivered in the browser (barter-delivered.e2e.ts, barter-fig.e2e.ts) ———

export type LegInput = { category: string; unit: string; quantity: number };

/** Sets a leg editor's legs (the barter screen's "I give" / "I want", the pool screen's "The pool gives" / "It asks for"). */
export async function fillLegs(page: Page, title: string, legs: LegInput[]) {
  const editor = page.locator('fieldset').filter({ has: page.locator('legend', { hasText: new RegExp(`^${title}$`) }) });
  const rows = editor.locator('.leg');
  while ((await rows.count()) > legs.length) await editor.getByRole('button', { name: `Remove ${title.toLowerCase()} ${await rows.count()}` }).click();
  while ((await rows.count()) < legs.length) await editor.getByRole('button', { name: 'Add another' }).click();
  for (const [i, leg] of legs.entries()) {
    await page.getByLabel(`${title} ${i + 1}: category`).selectOption(leg.category);
    await page.getByLabel(`${title} ${i + 1}: unit`).selectOption(leg.unit);
    await page.getByLabel(`${title} ${i + 1}: quantity`).fill(String(leg.quantity));
  }
}

/** The coordinator issues credits into the community pool from the pool screen, through its confirm step. */
export async function fundPoolInBrowser(coord: Page, slug: string, credits: number) {
  await coord.goto(`/communities/${slug}/coordinator/pool`);
  await coord.getByLabel('Credits to issue').fill(String(credits));
  await coord.getByRole('button', { name: 'Fund…' }).click();
  await coord.getByTestId('pool-confirm').getByRole('button', { name: 'Confirm' }).click();
  await expect(coord.getByTestId('pool-outcome')).toContainText(`${credits}`);
}

/**
 * The coordinator posts the pool's own barter offer from the pool screen: a preset as the starting point, legs
 * changed where given, then the confirm step (which must name `confirms`).
 */
export async function postPoolOffer(coord: Page, slug: string, offer: { preset: string; give?: LegInput[]; want?: LegInput[]; confirms: (string | RegExp)[] }) {
  await coord.goto(`/communities/${slug}/coordinator/pool`);
  const offers = coord.getByTestId('pool-offers');
  await offers.getByTestId('offer-preset').selectOption(offer.preset);
  if (offer.give) await fillLegs(coord, 'The pool gives', offer.give);
  if (offer.want) await fillLegs(coord, 'It asks for', offer.want);
  await offers.getByRole('button', { name: 'Post from the pool…' }).click();
  for (const text of offer.confirms) await expect(coord.getByTestId('offer-confirm')).toContainText(text);
  await coord.getByTestId('offer-confirm').getByRole('button', { name: 'Confirm' }).click();
  await expect(coord.getByTestId('offer-outcome')).toContainText('Posted from the pool');
}

/** A member takes an open offer on the barter screen (the mirror legs filled in) and posts it: the barter closes. */
export async function takeBarterOffer(page: Page, offeredBy: string | RegExp) {
  await page.goto('/barter');
  await page.getByTestId('barter-offers').locator('li', { hasText: offeredBy }).getByRole('button', { name: 'Take this offer' }).click();
  await page.getByRole('button', { name: 'Post offer' }).click();
  await expect(page.getByTestId('barter-result')).toHaveText('Matched and closed: the legs are now contracts in Trades.');
}

/** The contracts a closed barter made, one per resource leg, by category. */
export async function barterLegs(api: APIRequestContext, communityId: string) {
  const { items } = await call(api, 'contract.list', { communityId }, 'GET');
  const legs = (items as { id: string; category: string; barterDealId?: string | null }[]).filter((c) => c.barterDealId !== null);
  return Object.fromEntries(legs.map((c) => [c.category, c])) as Record<string, { id: string; category: string; unit: string; quantity: number; state: string }>;
}

/** A member signs up, joins, and registers this browser by measuring it on the device screen, as a donor does. */
export async function measuredMember(page: Page, handle: string, slug: string) {
  await call(page.request, 'auth.signUp', { handle, password: PASSWORD });
  await call(page.request, 'community.join', { slug });
  await page.goto('/device');
  await page.getByRole('button', { name: 'Measure and register' }).click();
  await expect(page.getByTestId('donate-panel')).toBeVisible({ timeout: 60_000 });
}

/** Switches donating on from the device screen, offering `memory` (an option such as "256 MB per unit") to jobs that need it. */
export async function startDonating(page: Page, memory?: string) {
  await page.goto('/device');
  const panel = page.getByTestId('donate-panel');
  await expect(panel).toBeVisible({ timeout: 60_000 });
  if (memory) {
    await panel.getByTestId('donate-preferences').locator('summary').click();
    await panel.getByTestId('donate-memory').selectOption({ label: memory });
  }
  await panel.getByRole('switch', { name: 'Donate' }).click();
  await expect(panel.getByRole('switch', { name: 'Donate' })).toHaveAttribute('aria-checked', 'true');
}

/** A member offers a file from this device on the publish screen. */
export async function publishFile(page: Page, title: string, bytes: Buffer) {
  await page.goto('/content/publish');
  await page.getByLabel('Choose a file').setInputFiles({ name: `${title.replace(/\W+/g, '-')}.png`, mimeType: 'image/png', buffer: bytes });
  await expect(page.getByLabel('Title')).toBeVisible({ timeout: 60_000 });
  await page.getByLabel('Title').fill(title);
  await page.getByRole('button', { name: /^Offer in/ }).click();
  await expect(page.getByRole('heading', { name: title })).toBeVisible();
}

/** The receiver of a file leg takes the giver's file `title` against it from the contract's page; the transfer starts. */
export async function takeFileForLeg(page: Page, contractId: string, giverHandle: string, title: string) {
  await page.goto(`/contracts/${contractId}`);
  await expect(page.getByTestId('file-leg')).toContainText(`of @${giverHandle}'s for this trade`);
  await page.getByTestId('file-leg').getByRole('link', { name: title }).click();
  await expect(page.getByTestId('item-for-leg')).toContainText('nothing is charged');
  await page.getByRole('button', { name: 'Take it for the barter' }).click();
  await expect(page).toHaveURL(/\/content\/transfers$/);
}

/** The bytes the relay's page forwarded (its frames, in order), which must hold no run of `file`'s plaintext. */
export async function expectCiphertextOnly(relay: Page, file: Buffer): Promise<Buffer> {
  const relayed = Buffer.from(
    await relay.evaluate(() => {
      let binary = '';
      for (const frame of window.__swapmeshRelayed ?? []) for (let i = 0; i < frame.length; i += 8192) binary += String.fromCharCode(...frame.subarray(i, i + 8192));
      return btoa(binary);
    }),
    'base64',
  );
  expect(relayed.length).toBeGreaterThan(file.length);
  expect(relayed.equals(file)).toBe(false);
  for (let at = 0; at + 32 <= file.length; at += 50_000) expect(relayed.indexOf(file.subarray(at, at + 32))).toBe(-1);
  return relayed;
}

/**
 * A network leg delivered by a relayed transfer: from the leg's page the sender sends `file` through the
 * seller's device to the receiver's, encrypted end to end; the receiver checks its SHA-256, both ends'
 * receipts reach the coordinator, the relay's page held only ciphertext, and the sender ends the relay.
 */
export async function relayFileForLeg(p: { sender: Page; relay: Page; receiver: Page; senderHandle: string; relayHandle: string; receiverHandle: string; contractId: string; file: Buffer; name: string }) {
  const { sender, relay, receiver, file } = p;
  await receiver.goto('/relay');
  await expect(receiver.getByRole('heading', { name: 'Relays' })).toBeVisible();
  await sender.goto(`/contracts/${p.contractId}`);
  await expect(sender.getByTestId('delivered-by-app')).toContainText('encrypted end to end');
  await expect(sender.getByRole('button', { name: 'I have delivered' })).toHaveCount(0);
  await sender.getByRole('link', { name: `Send a file through @${p.relayHandle} to…` }).click();
  await sender.getByRole('radio', { name: new RegExp(`@${p.receiverHandle}`) }).check();
  await sender.getByRole('button', { name: 'Open the relay' }).click();
  await expect(sender.getByRole('heading', { name: 'Sending through a relay' })).toBeVisible();
  const sessionId = sender.url().split('/').pop()!;
  await relay.goto('/relay');
  await relay.getByRole('link', { name: new RegExp(`Relaying @${p.senderHandle} → @${p.receiverHandle}`) }).click();
  await receiver.goto('/relay');
  await receiver.getByRole('link', { name: new RegExp(`Receiving from @${p.senderHandle}`) }).click();
  await expect(receiver.getByTestId('relay-link')).toHaveText('Connected, end to end encrypted.', { timeout: 60_000 });
  await expect(sender.getByTestId('relay-link')).toHaveText('Connected, end to end encrypted.', { timeout: 30_000 });
  const sha256 = createHash('sha256').update(file).digest('hex');
  await sender.getByLabel('File to send').setInputFiles({ name: p.name, mimeType: 'application/octet-stream', buffer: file });
  await sender.getByRole('button', { name: 'Send through the relay' }).click();
  await expect(receiver.getByTestId('relay-verified')).toBeVisible({ timeout: 60_000 });
  await expect(receiver.getByTestId('relay-sha256')).toHaveText(sha256);
  await expect.poll(async () => (await call(sender.request, 'relay.get', { sessionId }, 'GET')).provenBytes, { timeout: 20_000 }).toBe(file.length);
  // the relay carried ciphertext only
  await expectCiphertextOnly(relay, file);
  await sender.getByRole('button', { name: 'End the relay' }).click();
  await expect(sender.getByTestId('relay-ended')).toBeVisible({ timeout: 20_000 });
  return sessionId;
}

/**
 * A peripheral leg delivered by a camera rental: the seller opens the rental from the leg's page and starts it, the
 * buyer's device (on the rental's page, opened from the leg's page) shows the video and signs receipts, and the
 * seller stops once `seconds` are proven. Needs `fakeMediaLaunch`. Returns the ended rental.
 */
export async function streamCameraForLeg(p: { seller: Page; buyer: Page; buyerHandle: string; contractId: string; seconds: number; screenshot?: string }) {
  const { seller, buyer } = p;
  await buyer.goto(`/contracts/${p.contractId}`);
  await expect(buyer.getByTestId('delivered-by-app')).toContainText('The app delivers this itself and measures it');
  await buyer.getByRole('link', { name: 'Open the rental' }).click();
  await seller.goto(`/contracts/${p.contractId}`);
  await expect(seller.getByRole('button', { name: 'I have delivered' })).toHaveCount(0);
  await seller.getByRole('link', { name: 'Open the rental' }).click();
  await expect(seller.getByRole('radio', { name: 'Camera' })).toBeChecked();
  await seller.getByRole('button', { name: 'Rent out my camera' }).click();
  const indicator = seller.getByTestId('sharing-indicator');
  await expect(indicator).toContainText(`Your camera is being shared with @${p.buyerHandle} until`);
  await expect(buyer.getByTestId('buyer-link')).toHaveText('Receiving live.', { timeout: 45_000 });
  const video = buyer.getByTestId('rental-video');
  await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.videoWidth), { timeout: 20_000 }).toBeGreaterThan(0);
  await expect.poll(async () => parseInt((await buyer.getByTestId('seconds-proven').textContent()) ?? '0', 10), { timeout: p.seconds * 1000 + 30_000 }).toBeGreaterThanOrEqual(p.seconds);
  if (p.screenshot) await buyer.screenshot({ path: p.screenshot, fullPage: true });
  await indicator.getByRole('button', { name: 'Stop' }).click();
  await expect(indicator).toHaveCount(0);
  await expect(buyer.getByTestId('rental-ended')).toContainText('the seller stopped', { timeout: 20_000 });
  const { rental } = await call(seller.request, 'peripheral.get', { contractId: p.contractId }, 'GET');
  expect(rental).toMatchObject({ state: 'ENDED', endedBy: 'SELLER', kind: 'CAMERA' });
  return rental as { provenMs: number; wholeMs: number };
}

/**
 * A compute or memory leg spent by a job its buyer starts from the leg's page ("Run a job with it"); only the
 * seller's devices run it. `hashJoin` makes it a hash join whose units use that many MB (a memory leg).
 * Returns the job's id once its page says only the seller's devices run it.
 */
export async function runJobForLeg(owner: Page, contractId: string, sellerHandle: string, job: { units: number; hashJoin?: { workingSetMb: number } }) {
  await owner.goto(`/contracts/${contractId}`);
  await expect(owner.getByTestId('delivered-by-app')).toContainText(job.hashJoin ? 'You spend this by running a job whose units use memory' : 'You spend this by running a compute job against it');
  await owner.getByRole('link', { name: 'Run a job with it' }).click();
  if (job.hashJoin) {
    await owner.getByLabel('Kernel').selectOption({ label: 'Hash join' });
    await owner.getByLabel('Working set per unit (MB)').fill(String(job.hashJoin.workingSetMb));
  }
  await expect(owner.getByTestId('job-funding')).toHaveValue(contractId);
  await expect(owner.locator('#job-funding-hint')).toContainText(`Only @${sellerHandle}'s devices run this job`);
  if (!job.hashJoin) await expect(owner.locator('#job-funding-hint')).toContainText('work units: the job can have at most that many');
  await owner.getByRole('textbox', { name: 'Work units' }).fill(String(job.units));
  await owner.getByRole('button', { name: 'Post job' }).click();
  await expect(owner.getByTestId('job-terms')).toContainText(`Only @${sellerHandle}'s devices run this job`);
  return owner.url().split('/').pop()!;
}

/** With one donor, the job's owner confirms what it returns on this device until the job completes. */
export async function confirmUntilComplete(owner: Page) {
  await expect(owner.getByTestId('confirm-here')).toBeVisible({ timeout: 90_000 });
  await owner.getByTestId('confirm-here').click();
  await expect(owner.getByTestId('job-status')).toHaveText('completed', { timeout: 150_000 });
}
