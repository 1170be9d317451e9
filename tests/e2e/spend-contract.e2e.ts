import { expect, test } from '@playwright/test';
import { call, signUpInBrowser, unique } from './support';

// A compute contract pays only from validated units: the seller cannot report it delivered, the buyer spends it by a job.
test('a CPU-second contract is spent by a job started from its page: no "I have delivered", the job pays from it', async ({ browser }) => {
  const id = unique();
  const [a, b] = [await browser.newContext({ viewport: { width: 412, height: 915 } }), await browser.newContext({ viewport: { width: 412, height: 915 } })];
  const [seller, buyer] = [await a.newPage(), await b.newPage()];
  await signUpInBrowser(seller, `cpu-s-${id}`);
  await signUpInBrowser(buyer, `cpu-b-${id}`);
  const slug = `spend-${id}`;
  const community = await call(seller.request, 'community.create', { name: `Spend ${id}`, slug, commissionBps: 200, startingGrant: 100_000_000, inviteOnly: false });
  await call(buyer.request, 'community.join', { slug });
  const window = { windowStart: new Date(Date.now() - 60_000).toISOString(), windowEnd: new Date(Date.now() + 3 * 3_600_000).toISOString() };
  await call(seller.request, 'market.placeOrder', { communityId: community.id, side: 'SELL', category: 'COMPUTE', unit: 'CPU_SECOND', quantity: 60, price: 100_000, kind: 'STANDING', ...window });
  const bid = await call(buyer.request, 'market.placeOrder', { communityId: community.id, side: 'BUY', category: 'COMPUTE', unit: 'CPU_SECOND', quantity: 60, price: 100_000, kind: 'STANDING', windowStart: new Date().toISOString(), windowEnd: new Date(Date.now() + 2 * 3_600_000).toISOString() });
  const contractId = bid.fills[0].contractId;

  await seller.goto(`/contracts/${contractId}`);
  await expect(seller.getByTestId('delivered-by-app')).toContainText(`@cpu-b-${id} spends this by running a compute job on your devices`);
  await expect(seller.getByRole('button', { name: 'I have delivered' })).toHaveCount(0);

  await buyer.goto(`/contracts/${contractId}`);
  await expect(buyer.getByTestId('delivered-by-app')).toContainText('You spend this by running a compute job against it');
  expect(await buyer.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(412);
  await buyer.screenshot({ path: 'test-results/contract-spend-compute.png', fullPage: true });
  await buyer.getByRole('link', { name: 'Run a job with it' }).click();
  await expect(buyer.getByTestId('job-funding')).toHaveValue(contractId);
  await expect(buyer.getByLabel('Price per replica (credits)')).toHaveCount(0);
  await buyer.getByLabel('Work units').fill('4');
  await buyer.getByRole('button', { name: 'Post job' }).click();
  await expect(buyer.getByTestId('job-funding-spent')).toContainText('of 60 CPU seconds spent');
  await expect(buyer.getByTestId('job-terms')).toContainText(`Only @cpu-s-${id}'s devices run this job`);
  await buyer.screenshot({ path: 'test-results/job-spends-contract.png', fullPage: true });
  await a.close();
  await b.close();
});
