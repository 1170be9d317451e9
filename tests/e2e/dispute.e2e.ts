import { expect, test } from '@playwright/test';
import { call, signUpInBrowser, unique } from './support';

const CREDIT = 1_000_000;
const HOUR = 3_600_000;

test('the buyer disputes with a statement, the seller responds, the coordinator splits with a reason', async ({ browser }) => {
  const id = unique();
  const [coordinatorContext, sellerContext, buyerContext] = [await browser.newContext(), await browser.newContext(), await browser.newContext()];
  const [coordinator, seller, buyer] = [await coordinatorContext.newPage(), await sellerContext.newPage(), await buyerContext.newPage()];
  await signUpInBrowser(coordinator, `judge-${id}`);
  await signUpInBrowser(seller, `dseller-${id}`);
  await signUpInBrowser(buyer, `dbuyer-${id}`);
  const slug = `court-${id}`;
  const community = await call(coordinator.request, 'community.create', { name: `Court ${id}`, slug, commissionBps: 200, startingGrant: 100 * CREDIT, inviteOnly: false });
  await call(seller.request, 'community.join', { slug });
  await call(buyer.request, 'community.join', { slug });
  const window = (from: number, to: number) => ({ windowStart: new Date(Date.now() + from * HOUR).toISOString(), windowEnd: new Date(Date.now() + to * HOUR).toISOString() });
  const base = { communityId: community.id, category: 'FILE', unit: 'ITEM', kind: 'STANDING', quantity: 10, price: CREDIT };
  await call(seller.request, 'market.placeOrder', { ...base, side: 'SELL', ...window(0.5, 6) });
  const bid = await call(buyer.request, 'market.placeOrder', { ...base, side: 'BUY', ...window(1, 3) });
  const contractId = bid.fills[0].contractId;

  await buyer.goto(`/contracts/${contractId}`);
  await expect(buyer.getByRole('button', { name: 'Dispute' })).toBeDisabled();
  await buyer.getByLabel('Something wrong?').fill('Not one of the ten files ever arrived.');
  await buyer.getByRole('button', { name: 'Dispute' }).click();
  await expect(buyer.getByTestId('contract-state')).toHaveText('disputed');
  await expect(buyer.getByTestId('dispute')).toContainText('The community\'s coordinator will decide');

  await seller.goto(`/contracts/${contractId}`);
  await seller.getByLabel('Your side').fill('I sent all ten by the agreed time.');
  await seller.getByRole('button', { name: 'Send response' }).click();
  await expect(seller.getByTestId('dispute')).toContainText('I sent all ten by the agreed time.');

  await coordinator.goto('/trades');
  await coordinator.getByRole('link', { name: 'Disputes' }).click();
  await expect(coordinator.getByTestId('disputes')).toContainText('Not one of the ten files ever arrived.');
  await coordinator.screenshot({ path: 'test-results/disputes-list.png', fullPage: true });
  await coordinator.getByTestId('disputes').getByRole('link').first().click();
  await expect(coordinator.getByTestId('dispute')).toContainText('I sent all ten by the agreed time.');
  await coordinator.getByLabel('Split').check();
  await coordinator.getByLabel("Seller's share (%)").fill('25');
  await coordinator.getByLabel('Reason').fill('Logs show two days online out of eight.');
  await coordinator.screenshot({ path: 'test-results/dispute-decide.png', fullPage: true });
  await coordinator.getByRole('button', { name: 'Decide' }).click();
  await expect(coordinator.getByTestId('contract-state')).toHaveText('settled');
  await expect(coordinator.getByTestId('timeline')).toContainText('Coordinator decided: split');
  await expect(coordinator.getByTestId('timeline')).toContainText('Logs show two days online out of eight.');

  // 10.1 credits were held; a quarter was paid out (commission pro rata), the rest refunded
  const balance = await call(buyer.request, 'ledger.balance', { communityId: community.id }, 'GET');
  expect(balance).toEqual({ available: 100 * CREDIT - 2_525_000, escrow: 0 });
  await buyer.reload();
  await expect(buyer.getByTestId('timeline')).toContainText('Logs show two days online out of eight.');
  await buyer.screenshot({ path: 'test-results/dispute-decided.png', fullPage: true });
  for (const context of [coordinatorContext, sellerContext, buyerContext]) await context.close();
});
