/**
 * The screens of issue 14 that were API-only, and offline beyond Home: the device's worth as a 7-bar chart of the
 * median over its measurements with the Donate switch and the jobs waiting; the coordinator's valuation rates, pool,
 * sweepstakes share, the community's own barter offers (issue 13) and federation links, each change made through a
 * confirm step and seen, an API error shown in place; Market, Trades and the statement offline with last known data.
 */
import { expect, test, type Page } from '@playwright/test';
import { phoneProfile } from '../support/fixtures';
import { call, PASSWORD, unique } from './support';

const HOUR = 3_600_000;
const WINDOW = { windowStart: new Date(Date.now() - 60_000).toISOString(), windowEnd: new Date(Date.now() + 2 * HOUR).toISOString() };
const shot = (page: Page, name: string) => page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });

async function waitForServiceWorker(page: Page) {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? null)).toMatch(/\/sw\.js$/);
}

test('device: the Donate switch first with the jobs waiting and their pay, then the worth per hour as 7 bars of the median over the measurements', async ({ browser }) => {
  const id = unique();
  const context = await browser.newContext();
  const page = await context.newPage();
  const other = await browser.newContext();
  await call(page.request, 'auth.signUp', { handle: `dev-${id}`, password: PASSWORD });
  await call(other.request, 'auth.signUp', { handle: `job-${id}`, password: PASSWORD });
  const community = await call(page.request, 'community.create', { name: `Workshop ${id}`, slug: `workshop-${id}`, commissionBps: 200, startingGrant: 50_000_000, inviteOnly: false });
  await call(other.request, 'community.join', { slug: `workshop-${id}` });
  await call(other.request, 'compute.submitJob', {
    communityId: community.id, kernel: 'mandelbrot', params: { width: 64, height: 64, maxIterations: 50, view: { centerX: -0.5, centerY: 0, scale: 3 } }, units: 4, replication: 2, quorum: 2,
    deadline: new Date(Date.now() + HOUR).toISOString(), pricePerUnit: 50_000,
  });
  // three measurements a minute apart that wandered (1,500 → 600 → 1,100 MIPS): the screen shows their median
  const { device } = await call(page.request, 'device.register', { name: 'Test phone', profile: phoneProfile });
  await page.goto('/');
  await page.evaluate((deviceId) => localStorage.setItem('swapmesh.deviceId', deviceId), device.id);
  const valued: number[] = [];
  for (const [i, mips] of [1_500, 600, 1_100].entries()) {
    const result = await call(page.request, 'device.register', { deviceId: device.id, name: 'Test phone', profile: { ...phoneProfile, compute: { ...phoneProfile.compute, mips } } });
    valued.push(result.valuation.COMPUTE.creditsPerHour);
    await page.goto('/device');
    await expect(page.getByTestId('valuation-basis')).toContainText(i === 0 ? 'From 1 measurement' : `Median of your last ${i + 1} measurements`);
  }
  const chart = page.getByTestId('valuation-chart');
  await expect(chart.locator('li[data-category]')).toHaveCount(7);
  await expect(page.getByTestId('valuation-basis')).toContainText('Median of your last 3 measurements');
  // the bar is the median of the three compute valuations, not the last one
  const median = [...valued].sort((a, b) => a - b)[1]!;
  const expected = await page.evaluate((micro) => new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(micro / 1e6), median);
  await expect(page.getByTestId('bar-value-COMPUTE')).toContainText(`${expected} credits/h`);
  expect(valued[2]).toBe(median);
  await expect(chart.locator('li[data-category="COMPUTE"]')).toContainText('8 cores · 1,100 MIPS');
  await expect(chart.locator('li[data-category="NETWORK"]')).toContainText('80 Mbit/s');
  const text = await page.locator('body').innerText();
  expect(text).not.toMatch(/cpuSecondsPerHour|PerHour|offeredMb|throughputKbps|WORK_UNIT/);
  // the Donate switch and the jobs waiting come before the chart
  const donate = page.getByRole('switch', { name: 'Donate' });
  await expect(donate).toBeVisible();
  const jobs = page.getByTestId('waiting-jobs');
  await expect(jobs.getByTestId('waiting-job')).toHaveCount(1);
  await expect(jobs).toContainText('Mandelbrot');
  await expect(jobs).toContainText('0.05 / unit');
  await expect(jobs).toContainText(`Workshop ${id}`);
  expect((await donate.boundingBox())!.y).toBeLessThan((await chart.boundingBox())!.y);
  await shot(page, 'device-chart');
  await Promise.all([context.close(), other.close()]);
});

test('coordinator screens: rates, pool funding, sweepstakes share, the pool’s own offers and federation links, each confirmed and seen; errors in place', async ({ browser }) => {
  test.setTimeout(120_000);
  const id = unique();
  const slug = `harbour-${id}`;
  const context = await browser.newContext();
  const page = await context.newPage();
  const memberContext = await browser.newContext();
  const otherContext = await browser.newContext();
  await call(page.request, 'auth.signUp', { handle: `coord-${id}`, password: PASSWORD });
  await call(memberContext.request, 'auth.signUp', { handle: `mem-${id}`, password: PASSWORD });
  await call(otherContext.request, 'auth.signUp', { handle: `far-${id}`, password: PASSWORD });
  const community = await call(page.request, 'community.create', { name: `Harbour ${id}`, slug, commissionBps: 200, startingGrant: 50_000_000, inviteOnly: false });
  await call(memberContext.request, 'community.join', { slug });
  const far = await call(otherContext.request, 'community.create', { name: `Far shore ${id}`, slug: `far-${id}`, commissionBps: 100, startingGrant: 10_000_000, inviteOnly: false });

  await page.goto(`/communities/${slug}`);
  await page.getByRole('link', { name: 'Open coordinator tools' }).click();
  await expect(page.getByTestId('coordinator-hub')).toBeVisible();
  await shot(page, 'coordinator-hub');

  // valuation rates: 0.1 → 0.25 credits per 1,000 MIPS, through a confirm step
  await page.getByRole('link', { name: /Valuation rates/ }).click();
  const mips = page.getByLabel('Credits per 1,000 MIPS of one core, per hour');
  await expect(mips).toHaveValue('0.1');
  await mips.fill('0.25');
  await page.getByRole('button', { name: 'Review changes…' }).click();
  const confirmRates = page.getByTestId('rates-confirm');
  await expect(confirmRates).toContainText('Compute, per 1,000 MIPS of one core, per hour');
  await expect(confirmRates).toContainText('0.10 → 0.25');
  await shot(page, 'coordinator-rates-confirm');
  await confirmRates.getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByTestId('rates-saved')).toContainText('table version 2');
  const afterRates = await call(page.request, 'community.get', { slug }, 'GET');
  expect(afterRates.valuationRates.compute.perMipsHour).toBe(250);
  await shot(page, 'coordinator-rates');

  // the pool: fund 25 credits, confirmed with the pool before and after
  await page.goto(`/communities/${slug}/coordinator/pool`);
  await expect(page.getByTestId('pool-balance')).toHaveText('0.00 credits');
  await page.getByLabel('Credits to issue').fill('25');
  await page.getByRole('button', { name: 'Fund…' }).click();
  const poolConfirm = page.getByTestId('pool-confirm');
  await expect(poolConfirm).toContainText('Pool after');
  await expect(poolConfirm).toContainText('25.00');
  await poolConfirm.getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByTestId('pool-balance')).toHaveText('25.00 credits');

  // the sweepstakes share: the API's refusal of 150% shows in place; 20% is confirmed and kept
  const share = page.getByTestId('sweepstakes-share');
  await share.getByLabel('Share of commission (%)').fill('150');
  await share.getByRole('button', { name: 'Change…' }).click();
  await page.getByTestId('share-confirm').getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByTestId('share-outcome')).toContainText('At most the whole commission');
  await share.getByLabel('Share of commission (%)').fill('20');
  await share.getByRole('button', { name: 'Change…' }).click();
  await expect(page.getByTestId('share-confirm')).toContainText('20%');
  await page.getByTestId('share-confirm').getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByTestId('share-outcome')).toContainText('From now on 20% of each commission');
  expect((await call(page.request, 'community.get', { slug }, 'GET')).sweepstakesShareBps).toBe(2000);

  // the community's own offer (issue 13): network access for compute, posted from the pool, then withdrawn
  const offers = page.getByTestId('pool-offers');
  await offers.getByTestId('offer-preset').selectOption('network-compute');
  await offers.getByRole('button', { name: 'Post from the pool…' }).click();
  const offerConfirm = page.getByTestId('offer-confirm');
  await expect(offerConfirm).toContainText(/[\d,]+ MB of network/);
  await expect(offerConfirm).toContainText('10 work units of compute');
  await offerConfirm.getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByTestId('offer-outcome')).toContainText('Posted from the pool');
  await expect(offers.getByTestId('pool-offer')).toHaveCount(1);
  await expect(offers.getByTestId('pool-offer')).toContainText(/[\d,]+ MB of network for 10 work units of compute/);
  // a member sees it, and the preset made it fair: the pool gives at least what it asks for, at the community's rates
  const listed = await call(memberContext.request, 'barter.list', { communityId: community.id }, 'GET');
  const fromPool = listed.filter((o: { fromPool: boolean }) => o.fromPool);
  expect(fromPool).toHaveLength(1);
  expect(fromPool[0].giveValue).toBeGreaterThanOrEqual(fromPool[0].wantValue);
  expect(fromPool[0].giveValue).toBeGreaterThan(0);
  await shot(page, 'coordinator-pool');
  await offers.getByRole('button', { name: 'Withdraw' }).click();
  await expect(page.getByTestId('offer-outcome')).toContainText('Offer withdrawn');
  await expect(offers.getByTestId('pool-offer')).toHaveCount(0);

  // federation links: an unknown community is refused in place; a real one is proposed, accepted there, and its cap raised
  await page.goto(`/communities/${slug}/coordinator/links`);
  const propose = page.getByTestId('link-propose');
  await propose.getByLabel('Its address (slug)').fill(`nowhere-${id}`);
  await propose.getByRole('button', { name: 'Propose link…' }).click();
  await page.getByTestId('links-confirm').getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByTestId('links-outcome')).toContainText(`No community is called "nowhere-${id}"`);
  await propose.getByLabel('Its address (slug)').fill(`far-${id}`);
  await propose.getByLabel('Cap (credits)').fill('50');
  await propose.getByRole('button', { name: 'Propose link…' }).click();
  await expect(page.getByTestId('links-confirm')).toContainText('50.00');
  await page.getByTestId('links-confirm').getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByTestId('links-outcome')).toContainText('Link proposed');
  await expect(page.getByTestId('link')).toContainText('proposed');
  const [link] = await call(otherContext.request, 'admin.links', { communityId: far.id }, 'GET');
  await call(otherContext.request, 'admin.acceptLink', { communityId: far.id, linkId: link.id });
  await page.reload();
  await expect(page.getByTestId('link')).toContainText('active');
  await expect(page.getByTestId('link-cap')).toContainText('Cap 50.00 credits');
  await page.getByTestId('link').getByLabel('New cap (credits)').fill('80');
  await page.getByTestId('link').getByRole('button', { name: 'Propose…' }).click();
  await expect(page.getByTestId('links-confirm')).toContainText('80.00');
  await page.getByTestId('links-confirm').getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByTestId('link-cap')).toContainText('new cap 80.00 proposed by you');
  await call(otherContext.request, 'admin.acceptLinkCap', { communityId: far.id, linkId: link.id });
  await page.reload();
  await expect(page.getByTestId('link-cap')).toContainText('Cap 80.00 credits');
  await shot(page, 'coordinator-links');

  // a member who is not the coordinator is told so, on every coordinator screen
  const memberPage = await memberContext.newPage();
  for (const path of ['', '/rates', '/pool', '/links']) {
    await memberPage.goto(`/communities/${slug}/coordinator${path}`);
    await expect(memberPage.getByRole('alert').filter({ hasText: 'Only the coordinator' })).toContainText(`Only the coordinator of Harbour ${id}`);
  }
  await Promise.all([context.close(), memberContext.close(), otherContext.close()]);
});

test('offline, Market, Trades, a contract and the statement show the last known data, marked with when it was', async ({ browser }) => {
  test.setTimeout(120_000);
  const id = unique();
  const slug = `quay-${id}`;
  const context = await browser.newContext();
  const page = await context.newPage();
  const other = await browser.newContext();
  await call(page.request, 'auth.signUp', { handle: `away-${id}`, password: PASSWORD });
  await call(other.request, 'auth.signUp', { handle: `seller-${id}`, password: PASSWORD });
  const community = await call(page.request, 'community.create', { name: `Quay ${id}`, slug, commissionBps: 200, startingGrant: 50_000_000, inviteOnly: false });
  await call(other.request, 'community.join', { slug });
  await call(other.request, 'market.placeOrder', { communityId: community.id, side: 'SELL', category: 'COMPUTE', unit: 'WORK_UNIT', quantity: 2, price: 1_000_000, kind: 'STANDING', ...WINDOW });
  await call(page.request, 'market.placeOrder', { communityId: community.id, side: 'BUY', category: 'COMPUTE', unit: 'WORK_UNIT', quantity: 2, price: 1_000_000, kind: 'STANDING', ...WINDOW });
  await call(page.request, 'market.placeOrder', { communityId: community.id, side: 'BUY', category: 'COMPUTE', unit: 'WORK_UNIT', quantity: 3, price: 700_000, kind: 'STANDING', ...WINDOW });

  const { available } = await call(page.request, 'ledger.balance', { communityId: community.id }, 'GET');
  const balanceText = `${(available / 1e6).toFixed(2)} credits`;

  // online once: each screen is read, and kept
  await page.goto('/market');
  await expect(page.getByTestId('my-orders').locator('li')).toHaveCount(2);
  await expect(page.getByTestId('market-balance')).toContainText(balanceText);
  await waitForServiceWorker(page);
  await page.goto('/trades');
  await expect(page.getByTestId('contracts')).toContainText('Bought 2 work units of compute');
  await page.getByTestId('contracts').getByRole('link').first().click();
  await expect(page.getByTestId('contract-state')).toHaveText('active');
  const contractPath = new URL(page.url()).pathname;
  await page.goto(contractPath); // opened once as a page, so the service worker keeps it too
  await expect(page.getByTestId('contract-state')).toHaveText('active');
  await page.goto(`/communities/${slug}`);
  await expect(page.getByTestId('history')).toContainText('Welcome grant');
  await expect(page.getByTestId('balance-available')).toHaveText(balanceText);
  const savedAt = await page.evaluate(() => {
    const me = localStorage.getItem('swapmesh.home.last');
    return JSON.parse(localStorage.getItem(`swapmesh.trades.contracts.v1.${me}`)!).savedAt as string;
  });
  const asOf = await page.evaluate((iso) => new Intl.DateTimeFormat(undefined, { timeStyle: 'short' }).format(new Date(iso)), savedAt);

  await context.setOffline(true);
  try {
    await page.goto('/market');
    await expect(page.getByTestId('last-known')).toContainText('Offline — as of');
    await expect(page.getByTestId('my-orders').locator('li')).toHaveCount(2);
    await expect(page.getByTestId('market-balance')).toContainText(balanceText);
    await expect(page.getByText(/^Loading…$/)).toHaveCount(0);
    await shot(page, 'market-offline');

    await page.goto('/trades');
    await expect(page.getByTestId('last-known')).toHaveText(`Offline — as of ${asOf}`);
    await expect(page.getByTestId('contracts')).toContainText('Bought 2 work units of compute');
    await expect(page.getByTestId('contracts')).toContainText(`from @seller-${id}`);
    await expect(page.getByText(/^Loading…$/)).toHaveCount(0);
    await shot(page, 'trades-offline');

    await page.goto(contractPath);
    await expect(page.getByTestId('last-known')).toContainText('Offline — as of');
    await expect(page.getByTestId('contract-state')).toHaveText('active');
    await shot(page, 'contract-offline');

    await page.goto(`/communities/${slug}`);
    await expect(page.getByTestId('last-known')).toContainText('Offline — as of');
    await expect(page.getByTestId('balance-available')).toHaveText(balanceText);
    await expect(page.getByTestId('history')).toContainText('Welcome grant');
    await shot(page, 'statement-offline');
  } finally {
    await context.setOffline(false);
  }
  // back online the mark goes once the screen is read again
  await page.goto('/trades');
  await expect(page.getByTestId('contracts')).toContainText('Bought 2 work units of compute');
  await expect(page.getByTestId('last-known')).toHaveCount(0);
  await Promise.all([context.close(), other.close()]);
});
