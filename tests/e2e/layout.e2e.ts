/**
 * Every screen on a 412 px phone: no page is wider than the screen, and every visible button, link, input,
 * select and checkbox is a touch target of at least 48 × 48 px (its own box, or the label or link around it).
 * Routes come from the app's `page.tsx` files, so a new screen is checked as soon as it exists; a dynamic
 * route needs an example below, or the test says which one is missing.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { phoneProfile } from '../support/fixtures';
import { call, PASSWORD, unique } from './support';

const WIDTH = 412;
const MIN = 48;

/** Every route of the app, from its page files: `/communities/[slug]/market`. */
function routes(dir = 'app', prefix = ''): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) {
      if (name.startsWith('_') || name === 'api') continue;
      const segment = name.startsWith('(') ? '' : `/${name}`;
      found.push(...routes(full, prefix + segment));
    } else if (name === 'page.tsx') {
      found.push(prefix || '/');
    }
  }
  return found.sort();
}

type Problem = { route: string; what: string };

/** What is wrong with the screen as it is now: overflow, and targets under 48 px. */
async function audit(page: Page, route: string): Promise<Problem[]> {
  const found = await page.evaluate(
    ({ min }) => {
      const problems: string[] = [];
      const width = document.documentElement.scrollWidth;
      if (width > window.innerWidth) problems.push(`the page is ${width} px wide on a ${window.innerWidth} px screen`);
      const visible = (el: Element) => {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) return false;
        const style = getComputedStyle(el);
        if (style.visibility === 'hidden' || style.display === 'none' || Number(style.opacity) === 0) return false;
        return el.closest('details:not([open]) > :not(summary)') === null;
      };
      const describe = (el: Element) => {
        const text = (el.getAttribute('aria-label') || (el as HTMLElement).innerText || el.getAttribute('name') || el.getAttribute('type') || '').trim().replace(/\s+/g, ' ').slice(0, 40);
        return `${el.tagName.toLowerCase()}${el.getAttribute('type') ? `[${el.getAttribute('type')}]` : ''} “${text}”`;
      };
      const targets = document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [role=switch], [role=tab]');
      for (const el of targets) {
        if (!visible(el)) continue;
        // the hit area: the element, or the label, link or button it sits in
        const boxes = [el, el.closest('label'), el.parentElement?.closest('a[href], button')].filter((b): b is Element => Boolean(b)).map((b) => b.getBoundingClientRect());
        const w = Math.max(...boxes.map((b) => b.width));
        const h = Math.max(...boxes.map((b) => b.height));
        if (w < min - 0.5 || h < min - 0.5) problems.push(`${describe(el)} is ${Math.round(w)} × ${Math.round(h)} px`);
        const r = el.getBoundingClientRect();
        // a row that scrolls sideways (the category chips) may hold targets beyond the edge: they scroll into view
        const scroller = (() => {
          for (let p = el.parentElement; p; p = p.parentElement) {
            const overflow = getComputedStyle(p).overflowX;
            if (overflow === 'auto' || overflow === 'scroll') return p;
          }
          return null;
        })();
        if (r.right > window.innerWidth + 0.5 && !scroller) problems.push(`${describe(el)} is cut off at the right edge (${Math.round(r.right)} px)`);
      }
      return problems;
    },
    { min: MIN },
  );
  return found.map((what) => ({ route, what }));
}

/** Waits until the screen has loaded its data (no “Loading…” left) and settled. */
async function settle(page: Page) {
  await page.waitForLoadState('load');
  await expect(page.getByText(/^Loading…$/)).toHaveCount(0, { timeout: 15_000 }).catch(() => undefined);
  await page.waitForTimeout(400);
}

const CHUNK = 64 * 1024;
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

test('every screen fits a 412 px phone and every target is at least 48 px, signed in and signed out', async ({ browser }) => {
  test.setTimeout(240_000);
  const id = unique();
  const slug = `layout-${id}`;
  const context = await browser.newContext();
  const page = await context.newPage();
  expect(page.viewportSize()?.width).toBe(WIDTH);

  // signed out first
  const signedOut = ['/', '/signin', '/signup', '/communities', '/offline', '/communities/join'];
  const problems: Problem[] = [];
  for (const route of signedOut) {
    await page.goto(route);
    await settle(page);
    problems.push(...(await audit(page, `${route} (signed out)`)));
  }

  // a member with a community, a device, an order, a contract, a job and a file, so that each screen has content
  const other = await browser.newContext();
  await call(other.request, 'auth.signUp', { handle: `lay-s-${id}`, password: PASSWORD });
  await call(page.request, 'auth.signUp', { handle: `lay-b-${id}`, password: PASSWORD });
  const community = await call(page.request, 'community.create', { name: `Layout ${id}`, slug, commissionBps: 200, startingGrant: 100_000_000, inviteOnly: false });
  await call(other.request, 'community.join', { slug });
  const { device } = await call(page.request, 'device.register', { name: 'phone', profile: phoneProfile });
  const { device: otherDevice } = await call(other.request, 'device.register', { name: 'tablet', profile: phoneProfile });
  const hour = 3_600_000;
  const window = { windowStart: new Date(Date.now() - 60_000).toISOString(), windowEnd: new Date(Date.now() + 2 * hour).toISOString() };
  await call(other.request, 'market.placeOrder', { communityId: community.id, side: 'SELL', category: 'NETWORK', unit: 'MB', quantity: 10, price: 1_500_000, kind: 'STANDING', ...window });
  // a contract delivered by hand (the seller's word), waiting for the buyer's sign-off
  await call(other.request, 'market.placeOrder', { communityId: community.id, side: 'SELL', category: 'FILE', unit: 'ITEM', quantity: 10, price: 1_500_000, kind: 'STANDING', ...window });
  const bought = await call(page.request, 'market.placeOrder', { communityId: community.id, side: 'BUY', category: 'FILE', unit: 'ITEM', quantity: 1, price: 2_000_000, kind: 'STANDING', ...window });
  await call(page.request, 'market.placeOrder', { communityId: community.id, side: 'BUY', category: 'STORAGE', unit: 'MB_HOUR', quantity: 100, price: 10_000, kind: 'STANDING', ...window });
  const contractId = bought.fills[0].contractId;
  await call(other.request, 'market.placeOrder', { communityId: community.id, side: 'SELL', category: 'PERIPHERAL', unit: 'DEVICE_HOUR', quantity: 1, price: 1_000_000, kind: 'STANDING', ...window });
  const rented = await call(page.request, 'market.placeOrder', { communityId: community.id, side: 'BUY', category: 'PERIPHERAL', unit: 'DEVICE_HOUR', quantity: 1, price: 1_000_000, kind: 'STANDING', ...window });
  await call(other.request, 'contract.reportDelivered', { contractId });
  const job = await call(page.request, 'compute.submitJob', {
    communityId: community.id, kernel: 'mandelbrot', params: { width: 64, height: 64, maxIterations: 50, view: { centerX: -0.5, centerY: 0, scale: 3 } }, units: 4, replication: 2, quorum: 2,
    deadline: new Date(Date.now() + hour).toISOString(), pricePerUnit: 10_000,
  });
  const bytes = Buffer.alloc(100_000, 7);
  const chunkHashes: string[] = [];
  for (let at = 0; at < bytes.length; at += CHUNK) chunkHashes.push(sha(bytes.subarray(at, at + CHUNK)));
  const item = await call(other.request, 'content.publish', {
    communityId: community.id, deviceId: otherDevice.id,
    header: { title: 'Dawn chorus', description: 'Field recordings', audience: 'everyone', purpose: 'listening', environment: 'any audio player', mediaType: 'audio/ogg', sizeBytes: bytes.length, sha256: sha(bytes), chunkSize: CHUNK, chunkHashes },
    pricing: { mode: 'CREDITS', price: 2_000_000 },
  });
  // a page-view order of a verified loopback site (a small server of this test serves its token)
  const siteTokens = new Set<string>();
  const siteServer = createServer((req, res) => {
    const file = /swapmesh-([\w-]+)\.txt$/.exec(req.url ?? '');
    res.writeHead(file && siteTokens.has(file[1]!) ? 200 : 404).end(file?.[1] ?? '');
  });
  await new Promise<void>((resolve) => siteServer.listen(0, '127.0.0.1', resolve));
  const site = await call(page.request, 'pageviews.addSite', { origin: `http://127.0.0.1:${(siteServer.address() as AddressInfo).port}`, ratePerMinute: 10 });
  siteTokens.add(site.token);
  await call(page.request, 'pageviews.verifySite', { siteId: site.id });
  const pageViews = await call(page.request, 'pageviews.order', { communityId: community.id, siteId: site.id, path: '/', quantity: 5, price: 10_000 });
  siteServer.close();
  await page.evaluate((deviceId) => localStorage.setItem('swapmesh.deviceId', deviceId), device.id).catch(() => undefined);
  // a relay: a second network contract sent through @lay-s to a third member's device, and a third with no relay yet
  const third = await browser.newContext();
  await call(third.request, 'auth.signUp', { handle: `lay-r-${id}`, password: PASSWORD });
  await call(third.request, 'community.join', { slug });
  const { device: thirdDevice } = await call(third.request, 'device.register', { name: 'laptop', profile: phoneProfile });
  const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64url');
  await call(page.request, 'device.setKey', { deviceId: device.id, publicKey: spki, algorithm: 'ECDSA-P256' });
  const relayed = await call(page.request, 'market.placeOrder', { communityId: community.id, side: 'BUY', category: 'NETWORK', unit: 'MB', quantity: 2, price: 2_000_000, kind: 'STANDING', ...window });
  const relaySession = await call(page.request, 'relay.open', { contractId: relayed.fills[0].contractId, deviceId: device.id, toDeviceId: thirdDevice.id });
  const toRelay = await call(page.request, 'market.placeOrder', { communityId: community.id, side: 'BUY', category: 'NETWORK', unit: 'MB', quantity: 2, price: 2_000_000, kind: 'STANDING', ...window });
  // a live broadcast by @lay-s, watched from this page's (keyed) device
  const cast = await call(other.request, 'broadcast.start', { communityId: community.id, deviceId: otherDevice.id, title: 'Layout live', fanOut: 2, pricePerMb: 100_000, budget: 1_000_000 });

  const examples: Record<string, string> = {
    '/communities/[slug]': `/communities/${slug}`,
    // an invitation (static route, shown with its link's parameters)
    '/communities/join': `/communities/join?c=${slug}`,
    '/communities/[slug]/market': `/communities/${slug}/market`,
    '/communities/[slug]/coordinator': `/communities/${slug}/coordinator`,
    '/communities/[slug]/coordinator/rates': `/communities/${slug}/coordinator/rates`,
    '/communities/[slug]/coordinator/pool': `/communities/${slug}/coordinator/pool`,
    '/communities/[slug]/coordinator/links': `/communities/${slug}/coordinator/links`,
    '/contracts/[id]': `/contracts/${contractId}`,
    '/content/items/[id]': `/content/items/${item.id}`,
    '/content/items/[id]/share': `/content/items/${item.id}/share`,
    '/jobs/[id]': `/jobs/${job.id}`,
    '/peripherals/[contractId]': `/peripherals/${rented.fills[0].contractId}`,
    '/pageviews/[campaignId]': `/pageviews/${pageViews.campaignId}`,
    '/relay/[sessionId]': `/relay/${relaySession.id}`,
    '/relay/send/[contractId]': `/relay/send/${toRelay.fills[0].contractId}`,
    '/broadcast/[broadcastId]': `/broadcast/${cast.broadcast.id}`,
  };
  const all = routes();
  const missing = all.filter((r) => r.includes('[') && !examples[r]);
  expect(missing, 'dynamic routes without an example in layout.e2e.ts').toEqual([]);
  const shots = process.env.LAYOUT_SCREENSHOTS;
  for (const route of all) {
    const url = examples[route] ?? route;
    await page.goto(url);
    await settle(page);
    problems.push(...(await audit(page, url)));
    if (shots) await page.screenshot({ path: `test-results/layout${route.replaceAll('/', '_').replace(/[[\]]/g, '') || '_home'}.png`, fullPage: true });
  }
  // the order ticket's advanced section, open
  await page.goto(`/communities/${slug}/market`);
  await settle(page);
  await page.getByText(/^Advanced/).click();
  problems.push(...(await audit(page, `/communities/${slug}/market (advanced open)`)));

  expect(problems.map((p) => `${p.route}: ${p.what}`)).toEqual([]);
  await other.close();
  await third.close();
  await context.close();
});
