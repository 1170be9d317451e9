import { expect, test, type Page } from '@playwright/test';
import { call, signUpInBrowser, unique } from './support';

async function placeOrder(page: Page, side: 'Buy (bid)' | 'Sell (ask)', quantity: string, price: string) {
  await page.getByRole('button', { name: side }).click();
  await page.getByLabel('Quantity').fill(quantity);
  await page.getByLabel(/^Price per/).fill(price);
  // an ask's window must cover the bid's (DESIGN.md): both start at the minute their screen opened, so the
  // ask offers two hours and still covers a one-hour bid opened a minute later
  if (side === 'Sell (ask)') await page.getByLabel('Hours').fill('2');
  await page.getByRole('button', { name: side === 'Buy (bid)' ? 'Review bid' : 'Review ask' }).click();
  await page.getByRole('button', { name: side === 'Buy (bid)' ? 'Place bid' : 'Place ask' }).click();
}

test('one member asks, another bids: both see the fill live, the buyer signs off, both balances are right', async ({ browser }) => {
  const id = unique();
  const sellerContext = await browser.newContext();
  const buyerContext = await browser.newContext();
  const seller = await sellerContext.newPage();
  const buyer = await buyerContext.newPage();
  await signUpInBrowser(seller, `seller-${id}`);
  await signUpInBrowser(buyer, `buyer-${id}`);
  const slug = `bazaar-${id}`;
  await call(seller.request, 'community.create', { name: `Bazaar ${id}`, slug, commissionBps: 200, startingGrant: 100_000_000, inviteOnly: false });
  await call(buyer.request, 'community.join', { slug });

  await seller.goto(`/communities/${slug}/market`);
  await buyer.goto(`/communities/${slug}/market`);
  await expect(seller.getByTestId('market-balance')).toHaveText('100.00 credits');
  // files sold as items: a good the seller delivers by hand and the buyer signs off (compute, storage, rentals and relays pay only from proofs)
  for (const page of [seller, buyer]) await page.getByRole('button', { name: 'Files', exact: true }).click();

  // the seller asks 5 items at 2 credits
  await placeOrder(seller, 'Sell (ask)', '5', '2');
  await expect(seller.getByTestId('order-result')).toHaveText(/rests in the book/);
  await expect(seller.getByTestId('my-orders')).toContainText('0 of 5 items');
  await seller.screenshot({ path: 'test-results/market-ask.png', fullPage: true });

  // the buyer sees the ask and bids at it
  await buyer.reload();
  await buyer.getByRole('button', { name: 'Files', exact: true }).click();
  await expect(buyer.getByTestId('book')).toContainText('2');
  await placeOrder(buyer, 'Buy (bid)', '5', '2');
  await expect(buyer.getByTestId('order-result')).toHaveText(/Filled 5/);

  // the seller sees the fill without reloading
  await expect(seller.getByRole('status').filter({ hasText: 'Sold 5 units of files at 2.00 credits each' })).toBeVisible();
  await expect(seller.getByTestId('my-orders')).toContainText('filled');
  await expect(seller.getByTestId('market-balance')).toHaveText('100.00 credits');
  await expect(buyer.getByTestId('market-balance')).toHaveText('89.90 credits · 10.10 in escrow');
  await buyer.screenshot({ path: 'test-results/market-filled.png', fullPage: true });

  // delivery and sign-off through the contract timeline
  await seller.getByRole('link', { name: 'Trades', exact: true }).click();
  await seller.getByTestId('contracts').getByRole('link').first().click();
  await seller.getByRole('button', { name: 'I have delivered' }).click();
  await expect(seller.getByTestId('contract-state')).toHaveText('delivered');

  await buyer.getByRole('link', { name: 'Trades', exact: true }).click();
  await expect(buyer.getByTestId('contracts')).toContainText('delivered');
  await buyer.getByTestId('contracts').getByRole('link').first().click();
  await buyer.getByRole('button', { name: /Sign off and pay 9.90 to/ }).click();
  await buyer.getByRole('button', { name: 'Yes, pay 9.90' }).click();
  await expect(buyer.getByTestId('contract-state')).toHaveText('settled');
  await expect(buyer.getByTestId('timeline')).toContainText('Signed off: seller paid');
  await expect(seller.getByTestId('contract-state')).toHaveText('settled'); // live, no reload
  await buyer.screenshot({ path: 'test-results/contract-settled.png', fullPage: true });

  // 5 x 2 = 10 credits; 2% commission = 0.2, half from each side
  await buyer.goto(`/communities/${slug}`);
  await expect(buyer.getByTestId('balance-available')).toHaveText('89.90 credits');
  await seller.goto(`/communities/${slug}`);
  await expect(seller.getByTestId('balance-available')).toHaveText('109.90 credits');
  await sellerContext.close();
  await buyerContext.close();
});

test('a bid below the ask opens a negotiation that a counter-offer closes', async ({ browser }) => {
  const id = unique();
  const [a, b] = [await browser.newContext(), await browser.newContext()];
  const seller = await a.newPage();
  const buyer = await b.newPage();
  await signUpInBrowser(seller, `haggler-s-${id}`);
  await signUpInBrowser(buyer, `haggler-b-${id}`);
  const slug = `souk-${id}`;
  await call(seller.request, 'community.create', { name: `Souk ${id}`, slug, commissionBps: 0, startingGrant: 50_000_000, inviteOnly: false });
  await call(buyer.request, 'community.join', { slug });

  await seller.goto(`/communities/${slug}/market`);
  await seller.getByRole('button', { name: 'Sell (ask)' }).click();
  await seller.getByLabel('Negotiate').selectOption('MANUAL');
  await placeOrder(seller, 'Sell (ask)', '2', '5');
  await expect(seller.getByTestId('order-result')).toHaveText(/rests in the book/);

  await buyer.goto(`/communities/${slug}/market`);
  await buyer.getByLabel('Negotiate').selectOption('MANUAL');
  await placeOrder(buyer, 'Buy (bid)', '2', '3');
  await expect(buyer.getByTestId('order-result')).toHaveText(/negotiation has opened/);

  await seller.getByRole('link', { name: 'Trades', exact: true }).click();
  const card = seller.getByTestId('negotiations').locator('li').first();
  await expect(card).toContainText('You: 5');
  await card.getByLabel('Counter-offer (credits per unit)').fill('4');
  await card.getByRole('button', { name: 'Counter' }).click();
  await expect(card).toContainText('You: 4');
  await seller.screenshot({ path: 'test-results/negotiation.png', fullPage: true });

  await buyer.getByRole('link', { name: 'Trades', exact: true }).click();
  await buyer.getByRole('button', { name: 'Accept 4' }).click();
  await expect(buyer.getByTestId('contracts')).toContainText('Bought 2');
  await expect(seller.getByTestId('contracts')).toContainText('Sold 2'); // live
  await a.close();
  await b.close();
});
