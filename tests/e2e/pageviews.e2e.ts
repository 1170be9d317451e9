/**
 * Page views end to end, in Chromium: a buyer proves control of a loopback test site (a node:http server this test
 * starts) by serving the token the app gives, orders N page views of it; three donors' browsers serving page views
 * load the page with each view's token and report the times; the site sees exactly the paid views' tokens, the
 * buyer's report shows their timings, each donor is paid per validated view, and the community's ledger sums to
 * zero. A site whose token is not served is refused.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { fillAmounts } from '@/server/market/commission';
import { phoneProfile } from '../support/fixtures';
import { call, ledgerSums, PASSWORD, unique } from './support';

const CREDIT = 1_000_000;
const BPS = 200;
const GRANT = 100 * CREDIT;
const VIEWS = 9;
const PRICE = 50_000; // 0.05 credits a view

type Site = { origin: string; hits: { token: string; at: number }[]; tokens: Set<string>; server: Server };

/** The buyer's site: token files for the tokens it was given, and a page that records each view's token. */
async function startSite(): Promise<Site> {
  const site: Omit<Site, 'origin' | 'server'> = { hits: [], tokens: new Set() };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://site');
    const file = /^\/\.well-known\/swapmesh-([A-Za-z0-9_-]+)\.txt$/.exec(url.pathname);
    if (file) {
      const served = site.tokens.has(file[1]!);
      res.writeHead(served ? 200 : 404, { 'content-type': 'text/plain' }).end(served ? file[1] : 'not found');
      return;
    }
    const token = url.searchParams.get('swapmesh_view');
    if (token) site.hits.push({ token, at: Date.now() });
    // a page of some weight, sent in two parts, with timings open to the measuring browser
    res.writeHead(200, { 'content-type': 'text/html', 'timing-allow-origin': '*', 'cache-control': 'no-store' });
    res.write(`<!doctype html><title>Landing</title>${'<p>Fresh bread every morning.</p>'.repeat(400)}`);
    setTimeout(() => res.end('</html>'), 30);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { ...site, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function member(browser: Browser, handle: string): Promise<{ context: BrowserContext; page: Page; deviceId: string }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  if (process.env.PV_DEBUG) page.on('console', (m) => console.log(handle, m.type(), m.text()));
  await call(page.request, 'auth.signUp', { handle, password: PASSWORD });
  const { device } = await call(page.request, 'device.register', { name: `${handle} phone`, profile: phoneProfile });
  await page.goto('/offline');
  await page.evaluate((id) => window.localStorage.setItem('swapmesh.deviceId', id), device.id);
  return { context, page, deviceId: device.id };
}

test('a page-view order against a verified loopback site: views from 3 donors reach the site, the report shows their timings, each donor is paid per view', async ({ browser }) => {
  test.setTimeout(180_000);
  const id = unique();
  const site = await startSite();
  try {
    const buyer = await member(browser, `shop-${id}`);
    const slug = `views-${id}`;
    const community = await call(buyer.page.request, 'community.create', { name: `Views ${id}`, slug, commissionBps: BPS, startingGrant: GRANT, inviteOnly: false });

    // three donors switch on serving page views on their phones
    const donors = [];
    for (const n of [1, 2, 3]) {
      const donor = await member(browser, `donor${n}-${id}`);
      await call(donor.page.request, 'community.join', { slug });
      await donor.page.goto('/pageviews');
      await donor.page.getByRole('button', { name: 'Serve page views from this device' }).click();
      await expect(donor.page.getByTestId('serving-state')).toContainText('Waiting for views');
      donors.push(donor);
    }
    await donors[0]!.page.screenshot({ path: 'test-results/pageviews-donor-waiting.png', fullPage: true });

    // the buyer adds the site: it is not verified until the token is served, and cannot be ordered views of
    const { page } = buyer;
    await page.goto('/pageviews');
    await page.getByLabel('Site address').fill(site.origin);
    await page.getByRole('button', { name: 'Add site' }).click();
    const token = (await page.getByTestId('site-token').textContent())!.trim();
    expect(token.length).toBeGreaterThan(16);
    await expect(page.getByText(`${site.origin}/.well-known/swapmesh-${token}.txt`)).toBeVisible();
    await page.getByRole('button', { name: /^Verify / }).click();
    await expect(page.locator('.alert.error')).toContainText('is not verified');
    await expect(page.getByText('Verify a site first')).toBeVisible();
    await page.screenshot({ path: 'test-results/pageviews-buyer-unverified.png', fullPage: true });
    const sites = (await (await page.request.get('/api/trpc/pageviews.sites')).json()).result.data;
    const refused = await page.request.post('/api/trpc/pageviews.order', { data: { communityId: community.id, siteId: sites[0].id, path: '/', quantity: 5, price: PRICE } });
    expect(refused.status()).toBe(412);
    expect(await refused.text()).toContain('not verified');
    expect(site.hits).toEqual([]);

    // the token served, the site verifies
    site.tokens.add(token);
    await page.getByRole('button', { name: /^Verify / }).click();
    await expect(page.getByTestId('sites').getByText('verified', { exact: true })).toBeVisible();

    // the order: N views of /landing at 0.05 credits a view
    await page.getByRole('textbox', { name: /^Page/ }).fill('/landing');
    await page.getByRole('spinbutton', { name: 'Views', exact: true }).fill(String(VIEWS));
    await page.getByRole('textbox', { name: /^Price per view/ }).fill('0.05');
    await page.screenshot({ path: 'test-results/pageviews-buyer-order.png', fullPage: true });
    await page.getByRole('button', { name: `Order ${VIEWS} views` }).click();
    await expect(page.getByRole('heading', { name: 'Page-view report' })).toBeVisible();

    // the donors' devices load the views; the report fills in, live
    await expect(page.getByTestId('report-valid')).toHaveText(String(VIEWS), { timeout: 60_000 });
    await expect(page.getByTestId('timing-chart')).toBeVisible();
    await expect(page.getByTestId('report-p50')).toHaveText(/^\d+ ms$/);
    await page.screenshot({ path: 'test-results/pageviews-buyer-report.png', fullPage: true });

    const url = new URL(page.url());
    const campaignId = url.pathname.split('/').pop()!;
    const report = await call(page.request, 'pageviews.report', { campaignId }, 'GET');
    expect(report.total).toMatchObject({ views: VIEWS, valid: VIEWS, errors: 0 });
    expect(report.views.every((v: { durationMs: number }) => v.durationMs > 0)).toBe(true);
    console.info(`page views: p50 ${report.total.p50Ms} ms, p95 ${report.total.p95Ms} ms over ${VIEWS} views`);
    // the site saw exactly the paid views, each once, each by its token
    expect(site.hits.map((h) => h.token).sort()).toEqual(report.views.map((v: { token: string }) => v.token).sort());

    // each donor is paid per validated view
    const amounts = fillAmounts(1, PRICE, BPS);
    let served = 0;
    for (const donor of donors) {
      const status = await call(donor.page.request, 'pageviews.serving', { communityId: community.id, deviceId: donor.deviceId }, 'GET');
      expect(status.views.valid).toBeGreaterThanOrEqual(1);
      served += status.views.valid;
      expect(status.earned).toBe(status.views.valid * amounts.sellerGets);
      expect(await call(donor.page.request, 'ledger.balance', { communityId: community.id }, 'GET')).toEqual({ available: GRANT + status.views.valid * amounts.sellerGets, escrow: 0 });
      await expect(donor.page.getByTestId('views-served')).toHaveText(String(status.views.valid), { timeout: 15_000 });
    }
    expect(served).toBe(VIEWS);
    await donors[0]!.page.screenshot({ path: 'test-results/pageviews-donor-paid.png', fullPage: true });
    expect(await call(page.request, 'ledger.balance', { communityId: community.id }, 'GET')).toEqual({ available: GRANT - VIEWS * amounts.buyerPays, escrow: 0 });
    expect(await ledgerSums(community.id)).toEqual({ balances: 0, postings: 0 });

    // a donor switches serving off
    await donors[0]!.page.getByRole('button', { name: 'Stop serving page views' }).click();
    await expect(donors[0]!.page.getByTestId('serving-state')).toContainText('Not serving');
    for (const donor of [buyer, ...donors]) await donor.context.close();
  } finally {
    await new Promise((resolve) => site.server.close(resolve));
  }
});
