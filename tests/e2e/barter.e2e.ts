import { expect, test, type Page } from '@playwright/test';
import { call, PASSWORD, unique } from './support';

async function fillLegs(page: Page, title: 'I give' | 'I want', legs: { category: string; unit: string; quantity: number }[]) {
  for (const [i, leg] of legs.entries()) {
    if (i > 0) await page.getByRole('group', { name: title }).getByRole('button', { name: 'Add another' }).click();
    await page.getByLabel(`${title} ${i + 1}: category`).selectOption(leg.category);
    await page.getByLabel(`${title} ${i + 1}: unit`).selectOption(leg.unit);
    await page.getByLabel(`${title} ${i + 1}: quantity`).fill(String(leg.quantity));
  }
}

test('two members barter files and peripherals for compute and memory; the legs become contracts and commission is charged', async ({ browser }) => {
  const id = unique();
  const [aContext, bContext] = [await browser.newContext(), await browser.newContext()];
  const [a, b] = [await aContext.newPage(), await bContext.newPage()];
  await call(a.request, 'auth.signUp', { handle: `maker-${id}`, password: PASSWORD });
  await call(a.request, 'community.create', { name: `Swap shop ${id}`, slug: `swap-shop-${id}`, commissionBps: 200, startingGrant: 10_000_000, inviteOnly: false });
  await call(b.request, 'auth.signUp', { handle: `coder-${id}`, password: PASSWORD });
  await call(b.request, 'community.join', { slug: `swap-shop-${id}` });

  const filesAndPeripherals = [{ category: 'FILE', unit: 'ITEM', quantity: 100 }, { category: 'PERIPHERAL', unit: 'DEVICE_HOUR', quantity: 10 }];
  const computeAndMemory = [{ category: 'COMPUTE', unit: 'CPU_SECOND', quantity: 3_000 }, { category: 'MEMORY', unit: 'MB_HOUR', quantity: 1_125 }];

  await a.goto('/barter');
  await fillLegs(a, 'I give', filesAndPeripherals);
  await fillLegs(a, 'I want', computeAndMemory);
  await expect(a.getByTestId('barter-meter')).toBeVisible();
  await expect(a.getByTestId('barter-balance')).toContainText(/apart|Even/);
  await a.getByRole('button', { name: 'Post offer' }).click();
  await expect(a.getByTestId('barter-result')).toContainText('Your offer waits for a match.');
  await expect(a.getByTestId('barter-result')).toContainText('No other member has an open offer yet');
  await a.screenshot({ path: 'test-results/barter-offer.png', fullPage: true });

  // an offer that cannot pair says why: too little compute for what the maker wants
  await b.goto('/barter');
  await expect(b.getByTestId('barter-offers')).toContainText(`@maker-${id}`);
  await fillLegs(b, 'I give', [{ category: 'COMPUTE', unit: 'CPU_SECOND', quantity: 300 }, { category: 'MEMORY', unit: 'MB_HOUR', quantity: 1_125 }]);
  await fillLegs(b, 'I want', filesAndPeripherals);
  await b.getByRole('button', { name: 'Post offer' }).click();
  await expect(b.getByTestId('barter-result')).toContainText(`@maker-${id} gives what you want, but wants compute and memory, not what you give.`);
  await expect(b.getByTestId('no-match-reason')).toContainText('not what you give');
  await b.screenshot({ path: 'test-results/barter-no-match.png', fullPage: true });
  await b.getByRole('button', { name: 'Withdraw' }).click();
  await expect(b.getByTestId('no-match-reason')).toHaveCount(0);

  // "Take this offer" fills in the mirror legs; posted, it matches and closes
  await b.getByTestId('barter-offers').locator('li', { hasText: `@maker-${id}` }).getByRole('button', { name: 'Take this offer' }).click();
  await expect(b.getByLabel('I give 1: quantity')).toHaveValue('3000');
  await expect(b.getByLabel('I want 1: quantity')).toHaveValue('100');
  await b.getByRole('button', { name: 'Post offer' }).click();
  await expect(b.getByTestId('barter-result')).toHaveText('Matched and closed: the legs are now contracts in Trades.');

  // one contract per leg, seen by both
  await b.getByRole('link', { name: 'Trades', exact: true }).click();
  await expect(b.getByTestId('contracts').locator('li')).toHaveCount(4);
  await a.getByRole('link', { name: 'Trades', exact: true }).click();
  await expect(a.getByTestId('contracts')).toContainText('Sold 100 items');
  await expect(a.getByTestId('contracts')).toContainText('Bought 3,000 CPU seconds');
  await a.screenshot({ path: 'test-results/barter-contracts.png', fullPage: true });

  // each paid 2% commission, in credits, on what they received
  const balance = async (page: Page) => {
    const communities = await call(page.request, 'community.list', { mine: true }, 'GET');
    return call(page.request, 'ledger.balance', { communityId: communities.items[0].id }, 'GET');
  };
  const [ba, bb] = [await balance(a), await balance(b)];
  expect(ba.available).toBeLessThan(10_000_000);
  expect(bb.available).toBeLessThan(10_000_000);
  await aContext.close();
  await bContext.close();
});
