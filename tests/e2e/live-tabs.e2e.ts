import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { phoneProfile } from '../support/fixtures';
import { call, signUpInBrowser, unique } from './support';

/**
 * Four tabs of one browser, each with a device registered, all on the market screen: the browser keeps one
 * live stream (`signal.stream`, held by a leader tab and relayed to the others), so over HTTP/1.1 (six
 * connections per host) every tab loads, places orders without hanging, and sees the others' orders live;
 * when the leading tab closes another takes over.
 */

async function placeAsk(page: Page, quantity: string, price: string) {
  await page.getByRole('button', { name: 'Sell (ask)' }).click();
  await page.getByLabel('Quantity').fill(quantity);
  await page.getByLabel(/^Price per/).fill(price);
  await page.getByRole('button', { name: 'Review ask' }).click();
  await page.getByRole('button', { name: 'Place ask' }).click();
  await expect(page.getByTestId('order-result')).toHaveText(/rests in the book/);
}

/** Open long-lived requests of the context, by procedure. */
function watchStreams(context: BrowserContext) {
  const open = new Map<string, number>();
  const opened: string[] = [];
  const key = (url: string) => new URL(url).pathname.replace('/api/trpc/', '');
  context.on('request', (request) => {
    if (request.headers().accept?.includes('text/event-stream') || request.url().includes('signal.stream')) {
      opened.push(key(request.url()));
      open.set(key(request.url()), (open.get(key(request.url())) ?? 0) + 1);
    }
  });
  const done = (request: { url(): string; headers(): Record<string, string> }) => {
    if (open.has(key(request.url()))) open.set(key(request.url()), open.get(key(request.url()))! - 1);
  };
  context.on('requestfinished', done);
  context.on('requestfailed', done);
  return { open, opened };
}

test('four tabs of one browser, each with a device: one live stream, every tab live, a later tab places an order, the leader can close', async ({ browser }) => {
  test.setTimeout(180_000);
  const id = unique();
  const context = await browser.newContext();
  const streams = watchStreams(context);
  const first = await context.newPage();
  await signUpInBrowser(first, `tabs-${id}`);
  const slug = `tabs-${id}`;
  await call(first.request, 'community.create', { name: `Tabs ${id}`, slug, commissionBps: 0, startingGrant: 100_000_000, inviteOnly: false });
  const market = `/communities/${slug}/market`;

  /** A tab with a device of its own (registered, then stored as this browser's device before the app reads it). */
  async function openTab(n: number, page?: Page) {
    const tab = page ?? (await context.newPage());
    const { device } = await call(tab.request, 'device.register', { name: `tab ${n}`, profile: phoneProfile });
    await tab.goto('/');
    await tab.evaluate((deviceId) => {
      localStorage.setItem('swapmesh.deviceId', deviceId);
      localStorage.setItem('swapmesh.debug', '1');
    }, device.id as string);
    await tab.goto(market);
    await expect(tab.getByRole('heading', { name: 'Place an order' })).toBeVisible();
    // the tabs share localStorage: this tab runs its device's transfers before the next tab stores another id
    await expect
      .poll(() => tab.evaluate(() => { const s = window.__swapmeshTransfers?.getSnapshot(); return s?.started && !s.passive ? s.deviceId : null; }))
      .toBe(device.id);
    return { tab, deviceId: device.id as string };
  }

  const tabs = [await openTab(1, first), await openTab(2), await openTab(3)];
  // every device is kept online through the one stream: each tab's transfers see the other devices
  for (const { tab, deviceId } of tabs) {
    await expect
      .poll(() => tab.evaluate(() => window.__swapmeshTransfers?.getSnapshot().nearby?.map((d) => d.deviceId).sort() ?? null), { timeout: 30_000 })
      .toEqual(tabs.filter((t) => t.deviceId !== deviceId).map((t) => t.deviceId).sort());
  }

  // an order placed in one tab shows in the others' book, without reloading
  await placeAsk(tabs[0]!.tab, '2', '7.25');
  for (const { tab } of tabs.slice(1)) await expect(tab.getByTestId('book')).toContainText('7.25');

  // a fourth tab loads and places an order without hanging; the first three see it
  const fourth = await openTab(4);
  tabs.push(fourth);
  await placeAsk(fourth.tab, '3', '8.5');
  for (const { tab } of tabs.slice(0, 3)) await expect(tab.getByTestId('book')).toContainText('8.5');

  // one stream for the whole browser, none of the per-feed subscriptions
  const leaders = [];
  for (const { tab } of tabs) leaders.push(await tab.evaluate(() => window.__swapmeshLive?.isLeader ?? null));
  expect(leaders.filter(Boolean)).toHaveLength(1);
  expect(streams.opened.filter((p) => p !== 'signal.stream')).toEqual([]);
  expect([...streams.open.entries()].filter(([, n]) => n > 0)).toEqual([['signal.stream', 1]]);

  // the leading tab closes: another takes over, and the rest stay live
  const leader = tabs[leaders.indexOf(true)]!;
  await leader.tab.close();
  const rest = tabs.filter((t) => t !== leader);
  await placeAsk(rest[0]!.tab, '1', '9.75');
  for (const { tab } of rest.slice(1)) await expect(tab.getByTestId('book')).toContainText('9.75');
  await expect.poll(async () => (await Promise.all(rest.map(({ tab }) => tab.evaluate(() => window.__swapmeshLive?.isLeader)))).filter(Boolean).length).toBe(1);
  await context.close();
});
