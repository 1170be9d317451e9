/**
 * The coordinator's cash desk and the sweepstakes (issue 14), on a 412 px phone: a withdrawal above the
 * balance says so (before and after confirming), a deposit is confirmed with the member's balance and
 * lands in the journal and the member table; a member sees the pool and the published fingerprint.
 */
import { expect, test } from '@playwright/test';
import { call, signUpInBrowser, unique } from './support';

test('cash needs a confirm step with the balance, a refusal is said plainly, and the journal and balances follow', async ({ browser }) => {
  const id = unique();
  const [a, b] = [await browser.newContext(), await browser.newContext()];
  const coordinator = await a.newPage();
  const member = await b.newPage();
  await signUpInBrowser(coordinator, `cash-c-${id}`);
  await signUpInBrowser(member, `cash-m-${id}`);
  const slug = `cash-${id}`;
  await call(coordinator.request, 'community.create', { name: `Cash ${id}`, slug, commissionBps: 100, startingGrant: 10_000_000, inviteOnly: false });
  await call(member.request, 'community.join', { slug });

  await coordinator.goto(`/communities/${slug}`);
  const desk = coordinator.getByTestId('cash-desk');
  await expect(coordinator.getByTestId('member-balances')).toContainText(`@cash-m-${id}`);
  await desk.getByTestId('cash-member').selectOption({ label: `@cash-m-${id} · 10.00 available` });

  // a withdrawal above the balance: the confirm step warns, and the refusal is the answer shown
  await desk.getByLabel('Credits').fill('25');
  await desk.getByLabel('External reference').fill('atm-1');
  await desk.getByRole('button', { name: 'Withdrawal…' }).click();
  const confirm = desk.getByTestId('cash-confirm');
  await expect(confirm).toContainText('Available now10.00');
  await expect(confirm).toContainText('more than');
  await coordinator.screenshot({ path: 'test-results/coordinator-cash-confirm.png', fullPage: true });
  await confirm.getByRole('button', { name: 'Confirm' }).click();
  await expect(desk.getByTestId('cash-outcome')).toContainText('balance is too low for this withdrawal: 10 credits available, 25 asked');

  // a deposit, confirmed: recorded, in the journal, in the table
  await desk.getByLabel('Credits').fill('5.50');
  await desk.getByLabel('External reference').fill('bank-42');
  await desk.getByRole('button', { name: 'Deposit…' }).click();
  await expect(confirm).toContainText('Available after15.50');
  await confirm.getByRole('button', { name: 'Confirm' }).click();
  await expect(desk.getByTestId('cash-outcome')).toContainText(`Recorded: deposit of 5.50 credits for @cash-m-${id} (bank-42).`);
  await expect(coordinator.getByTestId('cash-journal')).toContainText(`Deposit · @cash-m-${id}`);
  await expect(coordinator.getByTestId('cash-journal')).toContainText('+5.50');
  await expect(coordinator.getByTestId('member-balances')).toContainText('15.50');
  expect(await coordinator.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(412);
  await coordinator.screenshot({ path: 'test-results/coordinator-cash.png', fullPage: true });

  // the sweepstakes: the coordinator starts a draw (the secret stays on this device); a member sees its fingerprint
  await coordinator.getByRole('button', { name: 'Start a draw' }).click();
  await expect(coordinator.getByText('lives only on this device')).toBeVisible();
  await member.goto(`/communities/${slug}`);
  const sweepstakes = member.getByTestId('sweepstakes');
  await expect(sweepstakes.getByTestId('sweepstakes-pool')).toHaveText('0.00 credits');
  await expect(sweepstakes.getByTestId('open-draw')).toContainText(/Published fingerprint: [0-9a-f]{64}/);
  await expect(sweepstakes.getByRole('button', { name: 'Start a draw' })).toHaveCount(0);
  await member.screenshot({ path: 'test-results/sweepstakes-member.png', fullPage: true });
  await a.close();
  await b.close();
});
