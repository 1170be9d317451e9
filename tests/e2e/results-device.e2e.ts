/**
 * Issue 12 in Chromium:
 * - a job whose results go to the buyer's second device: the buyer picks that device on the new-job form, two donors
 *   compute it, the buyer's first device fetches the results and sends them over WebRTC, and the second device (a
 *   second context signed in as the buyer) keeps them in OPFS with the same SHA-256 as the coordinator's file;
 * - a GFLOP bid matched by a donor's standing sell (posted with the Donate switch), spent by a job the donor's page
 *   computes, settles from the validated units' counted FLOP; the ledger sums to zero.
 */
import { createHash } from 'node:crypto';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { call, ledgerSums, PASSWORD, receivedSha256, unique } from './support';

const PHONE = { width: 412, height: 915 };
const sha = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

async function context(browser: Browser, baseURL: string) {
  const ctx = await browser.newContext({ viewport: PHONE });
  // with this permission Chromium offers a 127.0.0.1 host candidate (see RECIPES.md)
  await ctx.grantPermissions(['microphone', 'camera'], { origin: baseURL });
  return ctx;
}

async function register(page: Page) {
  await page.goto('/device');
  await page.getByRole('button', { name: 'Measure and register' }).click();
  const panel = page.getByTestId('donate-panel');
  await expect(panel).toBeVisible({ timeout: 45_000 });
  return { panel, deviceId: (await page.evaluate(() => localStorage.getItem('swapmesh.deviceId')))! };
}

async function donor(browser: Browser, baseURL: string, handle: string, slug: string) {
  const ctx = await context(browser, baseURL);
  const page = await ctx.newPage();
  await call(page.request, 'auth.signUp', { handle, password: PASSWORD });
  await call(page.request, 'community.join', { slug });
  const { panel } = await register(page);
  await panel.getByRole('switch', { name: 'Donate' }).click();
  await expect(panel.getByRole('switch', { name: 'Donate' })).toHaveAttribute('aria-checked', 'true');
  return { ctx, page, panel };
}

test("a job's results go to the buyer's second device over WebRTC and arrive there with the coordinator's SHA-256", async ({ browser, baseURL }) => {
  test.setTimeout(300_000);
  const id = unique();
  const handle = `buyer-${id}`;
  const slug = `rd-${id}`;

  // --- the buyer's first device (a phone) and second device (another browser, the same member)
  const phoneCtx = await context(browser, baseURL!);
  const phone = await phoneCtx.newPage();
  await call(phone.request, 'auth.signUp', { handle, password: PASSWORD });
  await call(phone.request, 'community.create', { name: `Results ${id}`, slug, commissionBps: 200, startingGrant: 100_000_000, inviteOnly: false });
  await register(phone);
  const tabletCtx = await context(browser, baseURL!);
  const tablet = await tabletCtx.newPage();
  await call(tablet.request, 'auth.signIn', { handle, password: PASSWORD });
  const { deviceId: tabletId } = await register(tablet);
  await tablet.goto('/content/transfers');

  // --- the job, through the form: results to the second device
  await phone.goto('/jobs/new');
  await phone.getByLabel('Kernel').selectOption('montecarlo-pi');
  await phone.getByLabel('Samples').fill('2000000');
  await phone.getByLabel('Work units').fill('4');
  await phone.getByTestId('results-device').selectOption(tabletId);
  await phone.getByTestId('results-device').scrollIntoViewIfNeeded();
  await phone.screenshot({ path: 'test-results/results-device-form.png' });
  await phone.getByRole('button', { name: 'Post job' }).click();
  await expect(phone.getByTestId('job-status')).toHaveText('open');
  const jobId = phone.url().match(/\/jobs\/([^/?#]+)/)![1]!;

  // --- two donors compute it
  const a = await donor(browser, baseURL!, `donor-a-${id}`, slug);
  const b = await donor(browser, baseURL!, `donor-b-${id}`, slug);
  await expect(phone.getByTestId('job-status')).toHaveText('completed', { timeout: 150_000 });

  // --- the phone sends the file, the tablet verifies and keeps it
  await expect(phone.getByTestId('results-device-status')).toHaveText('Delivered, fingerprint checked', { timeout: 90_000 });
  const file = await phone.request.get(`/api/compute/results/${jobId}`);
  expect(file.ok()).toBe(true);
  const expected = sha(await file.body());
  expect(file.headers()['x-swapmesh-sha256']).toBe(expected);
  const transfers = (await call(tablet.request, 'content.transfers', { deviceId: tabletId }, 'GET')) as { id: string; status: string; item: { title: string; sha256: string } }[];
  const got = transfers.find((t) => t.item.title.startsWith('Results of job'))!;
  expect(got).toMatchObject({ status: 'COMPLETED', item: { sha256: expected } });
  expect(await receivedSha256(tablet, got.id)).toBe(expected);
  await expect(tablet.getByText(/Results of job/).first()).toBeVisible({ timeout: 15_000 });
  await tablet.screenshot({ path: 'test-results/results-device-received.png', fullPage: true });
  await phone.getByTestId('results-to-device').scrollIntoViewIfNeeded();
  await phone.screenshot({ path: 'test-results/results-device-job.png' });
  await expect(phone.getByTestId('results-to-device')).toContainText(expected.slice(0, 12));

  await Promise.all([a.ctx.close(), b.ctx.close(), phoneCtx.close(), tabletCtx.close()]);
});

test("a GFLOP bid matched by a donor's standing sell is spent by a job the donor's page computes and settles from the validated units", async ({ browser, baseURL }) => {
  test.setTimeout(300_000);
  const id = unique();
  const slug = `gflop-${id}`;

  // --- the donor: a community, this browser donating, a standing GFLOP sell from the device screen
  const donorCtx = await context(browser, baseURL!);
  const donorPage = await donorCtx.newPage();
  await call(donorPage.request, 'auth.signUp', { handle: `gd-${id}`, password: PASSWORD });
  const community = await call(donorPage.request, 'community.create', { name: `GFLOP ${id}`, slug, commissionBps: 200, startingGrant: 100_000_000, inviteOnly: false });
  const { panel } = await register(donorPage);
  await panel.getByRole('switch', { name: 'Donate' }).click();
  await expect(panel.getByRole('switch', { name: 'Donate' })).toHaveAttribute('aria-checked', 'true');
  const sells = panel.getByTestId('measure-sells');
  await sells.locator('summary').click();
  await sells.getByLabel('Sell GFLOP').check();
  await sells.getByLabel('Price per GFLOP (credits)').fill('2');
  await sells.getByLabel('GFLOP to sell').fill('50');
  await sells.getByRole('button', { name: 'Offer these for a week' }).click();
  await expect(sells.getByTestId('measure-sells-current')).toContainText('50 GFLOP left of 50');
  await sells.scrollIntoViewIfNeeded();
  await donorPage.screenshot({ path: 'test-results/donor-gflop-sell.png' });

  const before = (await call(donorPage.request, 'ledger.balance', { communityId: community.id }, 'GET')).available as number;

  // --- the buyer bids for 1 GFLOP: the donor's sell fills it at its price
  const buyerCtx = await context(browser, baseURL!);
  const buyer = await buyerCtx.newPage();
  await call(buyer.request, 'auth.signUp', { handle: `gb-${id}`, password: PASSWORD });
  await call(buyer.request, 'community.join', { slug });
  await register(buyer);
  const bid = await call(buyer.request, 'market.placeOrder', { communityId: community.id, side: 'BUY', category: 'COMPUTE', unit: 'GFLOP', quantity: 1, price: 3_000_000, kind: 'STANDING', windowStart: new Date().toISOString(), windowEnd: new Date(Date.now() + 2 * 3_600_000).toISOString() });
  expect(bid.fills).toEqual([{ contractId: expect.any(String), quantity: 1, price: 2_000_000 }]);
  const contractId = bid.fills[0].contractId as string;
  await expect(sells.getByTestId('measure-sells-current')).toContainText('49 GFLOP left of 50', { timeout: 15_000 });

  // --- the buyer spends it with a job from the contract page; only the donor's devices run it
  await buyer.goto(`/contracts/${contractId}`);
  await buyer.getByRole('link', { name: 'Run a job with it' }).click();
  await expect(buyer.getByTestId('job-funding')).toHaveValue(contractId);
  await buyer.getByLabel('Kernel').selectOption('montecarlo-pi');
  await buyer.getByLabel('Samples').fill('2000000');
  await buyer.getByLabel('Work units').fill('4');
  await buyer.getByRole('button', { name: 'Post job' }).click();
  await expect(buyer.getByTestId('job-terms')).toContainText(`Only @gd-${id}'s devices run this job`);
  const jobId = buyer.url().match(/\/jobs\/([^/?#]+)/)![1]!;

  // one donor: the buyer's own device confirms the returned units
  await buyer.getByRole('button', { name: 'Confirm results on this device' }).click({ timeout: 120_000 });
  await expect(buyer.getByTestId('job-status')).toHaveText('completed', { timeout: 150_000 });
  await expect.poll(async () => (await call(buyer.request, 'contract.get', { contractId }, 'GET')).state, { timeout: 60_000 }).toBe('SETTLED');
  const contract = await call(buyer.request, 'contract.get', { contractId }, 'GET');
  expect(contract.events.filter((e: { action: string }) => e.action === 'SETTLE_PROVEN')).toHaveLength(1);
  expect(contract.events.at(-1).note).toMatch(/GFLOP of 1 spent by 4 validated units/);
  const job = await call(buyer.request, 'compute.job', { jobId }, 'GET');
  expect(job.terms.funding.flop).toBeGreaterThan(0);
  await buyer.getByTestId('job-funding-spent').scrollIntoViewIfNeeded();
  await buyer.screenshot({ path: 'test-results/gflop-job-settled.png', fullPage: true });
  const donorBalance = await call(donorPage.request, 'ledger.balance', { communityId: community.id }, 'GET');
  expect(donorBalance.available).toBeGreaterThan(before);
  expect(donorBalance.escrow).toBe(0);
  const sums = await ledgerSums(community.id);
  expect(sums).toEqual({ balances: 0, postings: 0 });
  await Promise.all([donorCtx.close(), buyerCtx.close()]);
});
