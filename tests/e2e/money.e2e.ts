/**
 * Money that reads like a bank, and an order ticket that cannot mislead (issue 14), on a 412 px phone.
 */
import { expect, test, type Page } from '@playwright/test';
import { call, signUpInBrowser, unique } from './support';

const RAW = /\b(WORK_UNIT|CPU_SECOND|MB_HOUR|DEVICE_HOUR|PAGE_VIEW|ITEM|CREDIT|SETTLEMENT|ORDER_HOLD|HOLD_RELEASE)\b|µ/;
/** Every amount a statement shows: two decimals, signed when it moved the balance. */
const AMOUNT = /^([+−]?(\d{1,3}(,\d{3})*|\d+)\.\d{2}|< 0\.01|.+ (held in|back from) escrow|paid from escrow)$/;

async function statementOf(page: Page) {
  const lines = page.getByTestId('history').locator(':scope > li');
  await expect(lines.first()).toBeVisible();
  return lines;
}

test('the statement reads from each side: the buyer bought, the seller sold, escrow is a sub-line, two decimals, no raw units', async ({ browser }) => {
  const id = unique();
  const [a, b] = [await browser.newContext(), await browser.newContext()];
  const seller = await a.newPage();
  const buyer = await b.newPage();
  await signUpInBrowser(seller, `stm-s-${id}`);
  await signUpInBrowser(buyer, `stm-b-${id}`);
  const slug = `ledger-${id}`;
  const community = await call(seller.request, 'community.create', { name: `Ledger ${id}`, slug, commissionBps: 200, startingGrant: 100_000_000, inviteOnly: false });
  await call(buyer.request, 'community.join', { slug });
  const window = { windowStart: new Date(Date.now() - 60_000).toISOString(), windowEnd: new Date(Date.now() + 3_600_000).toISOString() };
  // a file: a good the seller delivers by hand and the buyer signs off (compute pays only from validated units)
  await call(seller.request, 'market.placeOrder', { communityId: community.id, side: 'SELL', category: 'FILE', unit: 'ITEM', quantity: 1, price: 2_000_000, kind: 'STANDING', ...window });
  const bid = await call(buyer.request, 'market.placeOrder', { communityId: community.id, side: 'BUY', category: 'FILE', unit: 'ITEM', quantity: 1, price: 2_500_000, kind: 'STANDING', ...window });
  const contractId = bid.fills[0].contractId;
  await call(seller.request, 'contract.reportDelivered', { contractId });

  // the contract page: fits the phone, no µcredits or raw units, and sign-off asks first
  await buyer.goto(`/contracts/${contractId}`);
  await expect(buyer.getByTestId('contract-state')).toHaveText('delivered');
  expect(await buyer.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(412);
  await expect(buyer.getByTestId('timeline')).toContainText('1 item at 2.00 credits each (the bid met the ask)');
  expect(await buyer.locator('main').innerText()).not.toMatch(RAW);
  await buyer.getByRole('button', { name: /^Sign off and pay 1\.98 to/ }).click();
  await expect(buyer.getByTestId('confirm-sign-off')).toContainText('cannot be undone');
  await expect(buyer.getByTestId('contract-state')).toHaveText('delivered'); // nothing paid yet
  await buyer.screenshot({ path: 'test-results/money-contract-confirm.png', fullPage: true });
  await buyer.getByRole('button', { name: 'Not yet' }).click();
  await expect(buyer.getByTestId('confirm-sign-off')).toHaveCount(0);
  await buyer.getByRole('button', { name: /^Sign off and pay/ }).click();
  await buyer.getByRole('button', { name: 'Yes, pay 1.98' }).click();
  await expect(buyer.getByTestId('contract-state')).toHaveText('settled');

  // the buyer's statement: bought (never "sold"), the hold as escrow, the welcome grant
  await buyer.goto(`/communities/${slug}`);
  const buyerLines = await statementOf(buyer);
  await expect(buyerLines.first()).toContainText(`Bought 1 item of files from @stm-s-${id}`);
  await expect(buyerLines.first()).toContainText('2.00 credits per item');
  await expect(buyerLines.first().getByTestId('statement-amount')).toHaveText('−2.02');
  await expect(buyerLines.first()).toContainText('paid from escrow');
  await expect(buyer.getByTestId('history')).toContainText('Bid for 1 item of files');
  await expect(buyer.getByTestId('history')).toContainText('held in escrow');
  const buyerText = await buyer.getByTestId('history').innerText();
  expect(buyerText).not.toMatch(/\bSold\b/);
  expect(buyerText).not.toMatch(/1 items/);
  expect(buyerText).not.toMatch(RAW);
  for (const amount of await buyer.getByTestId('statement-amount').allInnerTexts()) expect(amount.trim()).toMatch(AMOUNT);
  // the line opens its contract
  await expect(buyerLines.first().getByRole('link')).toHaveAttribute('href', `/contracts/${contractId}`);
  await buyer.screenshot({ path: 'test-results/money-statement-buyer.png', fullPage: true });

  // the seller's statement: sold to the buyer, paid less the seller's half of the commission
  await seller.goto(`/communities/${slug}`);
  const sellerLines = await statementOf(seller);
  await expect(sellerLines.first()).toContainText(`Sold 1 item of files to @stm-b-${id}`);
  await expect(sellerLines.first().getByTestId('statement-amount')).toHaveText('+1.98');
  const sellerText = await seller.getByTestId('history').innerText();
  expect(sellerText).not.toMatch(/\bBought\b/);
  expect(sellerText).not.toMatch(RAW);
  for (const amount of await seller.getByTestId('statement-amount').allInnerTexts()) expect(amount.trim()).toMatch(AMOUNT);
  await seller.screenshot({ path: 'test-results/money-statement-seller.png', fullPage: true });
  await a.close();
  await b.close();
});

test('the order ticket keeps the side and amounts when the unit changes, shows the total it holds, confirms, and refuses an offline order', async ({ browser }) => {
  const id = unique();
  const context = await browser.newContext();
  const page = await context.newPage();
  await signUpInBrowser(page, `ticket-${id}`);
  const slug = `ticket-${id}`;
  await call(page.request, 'community.create', { name: `Ticket ${id}`, slug, commissionBps: 200, startingGrant: 100_000_000, inviteOnly: false });
  const sent: string[] = [];
  page.on('request', (request) => {
    if (request.url().includes('market.placeOrder')) sent.push(request.url());
  });
  await page.goto(`/communities/${slug}/market`);

  const ticket = page.getByRole('form', { name: 'Order ticket' });
  await ticket.getByRole('button', { name: 'Sell (ask)' }).click();
  await ticket.getByLabel('Quantity').fill('3');
  await ticket.getByLabel(/^Price per GFLOP/).fill('1.5');
  await ticket.getByLabel('Unit').selectOption('CPU_SECOND');
  await expect(ticket.getByRole('button', { name: 'Sell (ask)' })).toHaveAttribute('aria-pressed', 'true');
  await expect(ticket.getByLabel('Quantity')).toHaveValue('3');
  await expect(ticket.getByLabel(/^Price per CPU second/)).toHaveValue('1.5');
  // an ask: what a full fill brings, less the seller's half of the 2% commission (4.50 − 0.045)
  await expect(ticket.getByTestId('ticket-receive')).toHaveText('4.46 credits');

  // a bid: the hold is price × quantity plus the buyer's half of the commission, rounded up per unit (holdFor)
  await ticket.getByRole('button', { name: 'Buy (bid)' }).click();
  await expect(ticket.getByTestId('ticket-hold')).toHaveText('4.55 credits');
  await ticket.getByLabel('Quantity').fill('4');
  await expect(ticket.getByTestId('ticket-hold')).toHaveText('6.06 credits');

  // the counterparty conditions the engine enforces
  await ticket.getByText(/^Advanced/).click();
  await ticket.getByLabel('Least MIPS').fill('50');
  await ticket.getByLabel('Wi-Fi').check();
  await expect(ticket.getByText(/^Advanced/)).toContainText('2 conditions');

  // a confirm step before anything is sent
  await ticket.getByRole('button', { name: 'Review bid' }).click();
  const confirm = page.getByTestId('order-confirm');
  await expect(confirm).toContainText('4 CPU seconds of compute');
  await expect(confirm).toContainText('6.06 credits');
  await page.screenshot({ path: 'test-results/money-ticket-confirm.png', fullPage: true });
  expect(sent).toHaveLength(0);
  await confirm.getByRole('button', { name: 'Place bid' }).click();
  await expect(page.getByTestId('order-result')).toHaveText(/rests in the book/);
  expect(sent).toHaveLength(1);
  await expect(page.getByTestId('market-balance')).toHaveText('93.94 credits · 6.06 in escrow');

  // offline with the confirmation open: it closes and says so; back online nothing is sent until confirmed again
  await ticket.getByRole('button', { name: 'Review bid' }).click();
  await expect(confirm).toBeVisible();
  await context.setOffline(true);
  await expect(page.getByTestId('order-refused')).toContainText('You are offline, so this order was not sent');
  await expect(confirm).toHaveCount(0);
  await page.screenshot({ path: 'test-results/money-ticket-offline.png', fullPage: true });
  // tapping while offline is refused at once too
  await ticket.getByRole('button', { name: 'Review bid' }).click();
  await expect(page.getByTestId('order-refused')).toBeVisible();
  await expect(confirm).toHaveCount(0);
  await context.setOffline(false);
  await page.waitForTimeout(2_000);
  expect(sent).toHaveLength(1);
  const orders = await call(page.request, 'market.myOrders', { communityId: (await call(page.request, 'community.get', { slug }, 'GET')).id, limit: 10 }, 'GET');
  expect(orders.items).toHaveLength(1);
  await context.close();
});
