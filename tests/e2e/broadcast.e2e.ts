/**
 * A broadcast end to end in Chromium with its fake camera and microphone: one broadcaster → 6 viewers through 2
 * relays (8 pages in one browser process would be 8 contexts; here 7: the broadcaster, 2 relays, 4 viewers), every
 * viewer's video plays; then one relay's page closes and its children play again through a replacement within a
 * few seconds; the relays are paid for what their children proved, and the community's ledger sums to zero.
 */
import { createClient } from '@libsql/client';
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { phoneProfile } from '../support/fixtures';
import { call, fakeMediaLaunch, ledgerSums, PASSWORD, unique } from './support';

test.use({ launchOptions: fakeMediaLaunch });

const CREDIT = 1_000_000;
const BPS = 200;
const GRANT = 100 * CREDIT;
const PRICE_PER_MB = 2 * CREDIT;
const BUDGET = 50 * CREDIT;
/** a relay's children must play again through another parent within this long of its page closing */
const REPLACED_WITHIN_MS = 15_000;

async function device(browser: Browser, baseURL: string): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 412, height: 915 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  // camera permission for the broadcaster's capture; on every page, it also makes Chromium offer a loopback candidate
  await context.grantPermissions(['microphone', 'camera'], { origin: baseURL });
  return context;
}

async function member(page: Page, handle: string) {
  await call(page.request, 'auth.signUp', { handle, password: PASSWORD });
  const { device: registered } = await call(page.request, 'device.register', { name: `${handle} phone`, profile: phoneProfile });
  await page.goto('/offline');
  await page.evaluate((id) => window.localStorage.setItem('swapmesh.deviceId', id), registered.id);
  return { handle, page, deviceId: registered.id as string };
}
type Member = Awaited<ReturnType<typeof member>>;

/** The video on a viewer's page has frames and its time moves on. */
async function expectPlaying(page: Page, timeout = 45_000) {
  const video = page.getByTestId('broadcast-video');
  await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.videoWidth), { timeout }).toBeGreaterThan(0);
  const t0 = await video.evaluate((v: HTMLVideoElement) => v.currentTime);
  await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 10_000 }).toBeGreaterThan(t0);
}

test('1 broadcaster → 6 viewers through 2 relays; a relay leaves and its children play again through a replacement; relays paid for proven bytes', async ({ browser, baseURL }) => {
  test.setTimeout(300_000);
  const id = unique();
  const contexts = await Promise.all(Array.from({ length: 7 }, () => device(browser, baseURL!)));
  const pages = await Promise.all(contexts.map((c) => c.newPage()));
  pages.forEach((p, i) => {
    p.on('pageerror', (error) => console.log(`page ${i}: ${error.message}`));
    p.on('console', (m) => m.type() === 'error' && console.log(`page ${i} console: ${m.text()}`));
  });
  const names = ['host', 'relay1', 'relay2', 'view1', 'view2', 'view3', 'view4'];
  const [host, r1, r2, ...viewers] = (await Promise.all(pages.map((p, i) => member(p, `${names[i]}-${id}`)))) as [Member, Member, Member, ...Member[]];
  const slug = `cast-${id}`;
  const community = await call(host.page.request, 'community.create', { name: `Cast ${id}`, slug, commissionBps: BPS, startingGrant: GRANT, inviteOnly: false });
  for (const m of [r1, r2, ...viewers]) await call(m.page.request, 'community.join', { slug });

  // the broadcaster goes live from the screen
  await host.page.goto('/broadcast');
  await expect(host.page.getByText('Nobody in your communities is live right now.')).toBeVisible();
  await host.page.getByLabel('Title').fill('Saturday market');
  await host.page.getByLabel('Viewers your connection serves directly').fill('2');
  await host.page.getByLabel('Pay relays per MB (credits)').fill('2');
  await host.page.getByLabel('Relay budget (credits)').fill('50');
  await host.page.screenshot({ path: 'test-results/broadcast-start.png', fullPage: true });
  await host.page.getByRole('button', { name: 'Start broadcasting' }).click();
  await expect(host.page).toHaveURL(/\/broadcast\/[a-z0-9]+$/);
  const broadcastId = host.page.url().split('/').pop()!;
  await expect.poll(() => host.page.getByTestId('broadcast-preview').evaluate((v: HTMLVideoElement) => v.videoWidth), { timeout: 20_000 }).toBeGreaterThan(0);

  // the two relays join first (the broadcaster's two places) and turn on "relay for others"
  for (const r of [r1, r2]) {
    await r.page.goto('/broadcast');
    await r.page.getByRole('link', { name: /Saturday market/ }).click();
    await expect(r.page.getByTestId('watch-status')).toContainText(`from @${host.handle} directly`);
    await r.page.getByTestId('relay-toggle').check();
    await expect(r.page.getByTestId('relay-children')).toBeVisible();
  }
  // four viewers join: the relays serve them, two each
  for (const v of viewers) await v.page.goto(`/broadcast/${broadcastId}`);
  for (const v of viewers) await expect(v.page.getByTestId('watch-status')).toContainText(/through @relay[12]-/);

  const startedAt = Date.now();
  for (const m of [r1, r2, ...viewers]) await expectPlaying(m.page);
  console.log(`all 6 viewers playing ${((Date.now() - startedAt) / 1000).toFixed(1)} s after the last one joined`);
  for (const v of viewers) await expect(v.page.getByTestId('watch-status')).toContainText('Live');
  const tree = await call(host.page.request, 'broadcast.tree', { broadcastId }, 'GET');
  const byHandle = new Map(tree.viewers.map((v: { handle: string; id: string }) => [v.handle, v.id]));
  const parentHandle = (handle: string) => tree.viewers.find((v: { id: string }) => v.id === tree.viewers.find((x: { handle: string }) => x.handle === handle).parentId)?.handle ?? null;
  // the relays under the broadcaster, two viewers under each
  expect([parentHandle(r1.handle), parentHandle(r2.handle)]).toEqual([null, null]);
  const parents = viewers.map((v) => parentHandle(v.handle));
  expect(parents.filter((p) => p === r1.handle)).toHaveLength(2);
  expect(parents.filter((p) => p === r2.handle)).toHaveLength(2);
  expect(byHandle.size).toBe(6);
  await expect(host.page.getByTestId('viewer-count')).toContainText('6');
  const underR1 = viewers.filter((v, i) => parents[i] === r1.handle);
  for (const v of underR1) await expect(r1.page.getByTestId('relay-children')).toContainText(v.handle);

  // let receipts accumulate (every 2 s) for a while
  await host.page.waitForTimeout(12_000);
  await host.page.screenshot({ path: 'test-results/broadcast-host.png', fullPage: true });
  await underR1[0]!.page.screenshot({ path: 'test-results/broadcast-viewer.png', fullPage: true });
  await r1.page.screenshot({ path: 'test-results/broadcast-relay.png', fullPage: true });

  // relay 1's page closes: its children (view1, view3) move to a replacement and play again
  const children = underR1;
  const before = await Promise.all(children.map((c) => c.page.getByTestId('broadcast-video').evaluate((v: HTMLVideoElement) => v.currentTime)));
  const closedAt = Date.now();
  await r1.page.close({ runBeforeUnload: true });
  for (const c of children) await expect(c.page.getByTestId('watch-status')).not.toContainText(r1.handle, { timeout: REPLACED_WITHIN_MS });
  for (const [i, c] of children.entries()) {
    await expect(c.page.getByTestId('watch-status')).toContainText('Live', { timeout: REPLACED_WITHIN_MS });
    const video = c.page.getByTestId('broadcast-video');
    await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.videoWidth), { timeout: REPLACED_WITHIN_MS }).toBeGreaterThan(0);
    const t = await video.evaluate((v: HTMLVideoElement) => v.currentTime);
    await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: REPLACED_WITHIN_MS }).toBeGreaterThan(t);
    expect(before[i]).toBeGreaterThan(0);
  }
  const replacedMs = Date.now() - closedAt;
  console.log(`relay 1 left: its 2 children played again through a replacement after ${(replacedMs / 1000).toFixed(1)} s`);
  expect(replacedMs).toBeLessThan(2 * REPLACED_WITHIN_MS);
  const after = await call(host.page.request, 'broadcast.tree', { broadcastId }, 'GET');
  expect(after.viewers.map((v: { handle: string }) => v.handle)).not.toContain(r1.handle);
  expect(after.viewers.filter((v: { state: string }) => v.state === 'WATCHING')).toHaveLength(5);
  await children[0]!.page.screenshot({ path: 'test-results/broadcast-viewer-replaced.png', fullPage: true });

  // a few more receipts through the new parents, then the broadcaster ends
  await host.page.waitForTimeout(6_000);
  await host.page.getByRole('button', { name: 'End broadcast' }).click();
  await expect(host.page.getByText('The broadcast has ended.')).toBeVisible();
  for (const v of viewers) await expect(v.page.getByText('The broadcast has ended.')).toBeVisible({ timeout: 15_000 });
  await host.page.screenshot({ path: 'test-results/broadcast-ended.png', fullPage: true });

  // every relay link paid what its child proved, per MB, less commission; nothing else moved
  const url = process.env.E2E_DATABASE_URL ?? 'file:./data/e2e.db';
  const db = createClient({ url });
  let links: { parentMemberId: string; bytes: number; paid: number }[];
  try {
    const rows = await db.execute({ sql: 'SELECT parentMemberId, bytes, paid FROM BroadcastLink WHERE broadcastId = ? AND parentId IS NOT NULL', args: [broadcastId] });
    links = rows.rows.map((r) => ({ parentMemberId: String(r.parentMemberId), bytes: Number(r.bytes), paid: Number(r.paid) }));
  } finally {
    db.close();
  }
  const me = async (m: Member) => (await call(m.page.request, 'auth.me', null, 'GET')).id as string;
  const [r1Id, r2Id] = [await me(r1), await me(r2)];
  let spent = 0;
  for (const [relay, relayId] of [[r1, r1Id], [r2, r2Id]] as const) {
    const own = links.filter((l) => l.parentMemberId === relayId);
    expect(own.length).toBeGreaterThanOrEqual(2);
    for (const l of own) {
      expect(l.bytes).toBeGreaterThan(0);
      expect(l.paid).toBe(Math.floor((l.bytes * PRICE_PER_MB) / 1_000_000));
    }
    const net = own.reduce((s, l) => s + l.paid - Math.floor((l.paid * BPS) / 10_000), 0);
    spent += own.reduce((s, l) => s + l.paid, 0);
    expect(await call(relay.page.request, 'ledger.balance', { communityId: community.id }, 'GET')).toEqual({ available: GRANT + net, escrow: 0 });
    console.log(`@${relay.handle} relayed ${(own.reduce((s, l) => s + l.bytes, 0) / 1e6).toFixed(2)} MB proven by its children, earned ${(net / CREDIT).toFixed(2)} credits`);
  }
  expect(spent).toBeLessThanOrEqual(BUDGET);
  expect(await call(host.page.request, 'ledger.balance', { communityId: community.id }, 'GET')).toEqual({ available: GRANT - spent, escrow: 0 });
  expect(await ledgerSums(community.id)).toEqual({ balances: 0, postings: 0 });
  for (const c of contexts) await c.close();
});
