import { expect, test, type Browser } from '@playwright/test';
import { getKernel } from '../../workers/kernels';
import { call, PASSWORD, unique } from './support';

const GRANT = 100_000_000;
const params = { seed: 2026, workingSetMb: 16, probePerBuild: 2 };

/** The join's reference result, computed here with the kernel (the unit tests check it against a plain join). */
function reference(units: number) {
  const kernel = getKernel('hash-join');
  const parsed = kernel.paramsSchema.parse(params);
  return kernel.assemble(parsed, kernel.split(parsed, units).map((unit) => kernel.run(unit)));
}

/** A member in their own browser context who registers this browser, chooses the memory it offers, and switches donating on. */
async function browserDonor(browser: Browser, handle: string, slug: string, memory: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await call(page.request, 'auth.signUp', { handle, password: PASSWORD });
  await call(page.request, 'community.join', { slug });
  await page.goto('/device');
  await page.getByRole('button', { name: 'Measure and register' }).click();
  const panel = page.getByTestId('donate-panel');
  await expect(panel).toBeVisible({ timeout: 45_000 });
  await panel.getByTestId('donate-preferences').locator('summary').click();
  await panel.getByTestId('donate-memory').selectOption({ label: memory });
  await panel.getByRole('switch', { name: 'Donate' }).click();
  await expect(panel.getByRole('switch', { name: 'Donate' })).toHaveAttribute('aria-checked', 'true');
  return { context, page, panel };
}

test('a memory-bound job runs only on the browsers that offer its working set, completes with the reference join, and pays them memory and compute', async ({ browser }) => {
  test.setTimeout(240_000);
  const id = unique();
  const ownerContext = await browser.newContext();
  const owner = await ownerContext.newPage();
  await call(owner.request, 'auth.signUp', { handle: `analyst-${id}`, password: PASSWORD });
  const slug = `joins-${id}`;
  await call(owner.request, 'community.create', { name: `Joins ${id}`, slug, commissionBps: 200, startingGrant: GRANT, inviteOnly: false });

  // the device without room for the job switches on first: it is never given a unit
  const small = await browserDonor(browser, `small-${id}`, slug, 'None');

  await owner.goto('/jobs/new');
  await owner.getByLabel('Kernel').selectOption({ label: 'Hash join' });
  await owner.getByLabel('Working set per unit (MB)').fill(String(params.workingSetMb));
  await owner.getByLabel('Dataset seed').fill(String(params.seed));
  await owner.getByLabel('Work units').fill('4');
  await expect(owner.getByLabel('Memory price (credits per MB·hour)')).toBeVisible();
  await owner.getByLabel('Memory price (credits per MB·hour)').fill('20');
  await owner.screenshot({ path: 'test-results/memory-job-form.png', fullPage: true });
  await owner.getByRole('button', { name: 'Post job' }).click();
  await expect(owner.getByTestId('job-status')).toHaveText('open');
  await expect(owner.getByTestId('job-memory')).toContainText('16 MB');
  await expect(owner.getByTestId('job-memory')).toContainText('none donates here now');
  const jobId = owner.url().split('/').pop()!;

  const a = await browserDonor(browser, `roomy-a-${id}`, slug, '256 MB per unit');
  const b = await browserDonor(browser, `roomy-b-${id}`, slug, '256 MB per unit');

  await expect(owner.getByTestId('job-status')).toHaveText('completed', { timeout: 150_000 });
  await expect(owner.getByTestId('job-progress')).toHaveText(/^4\/4 units validated/);
  const result = JSON.parse((await owner.getByTestId('job-result').textContent())!) as unknown;
  expect(result).toEqual(reference(4));
  await owner.screenshot({ path: 'test-results/memory-job-complete.png', fullPage: true });

  // both roomy browsers were paid memory besides their work units; the small one did nothing
  const job = await call(owner.request, 'compute.job', { jobId }, 'GET');
  const communityId = (job as { communityId: string }).communityId;
  for (const donor of [a, b]) {
    const balance = (await call(donor.page.request, 'ledger.balance', { communityId }, 'GET')) as { available: number };
    expect(balance.available).toBeGreaterThan(GRANT);
  }
  await expect(small.panel.getByTestId('donate-units-done')).toHaveText('0');
  const smallBalance = (await call(small.page.request, 'ledger.balance', { communityId }, 'GET')) as { available: number; escrow: number };
  expect(smallBalance).toEqual({ available: GRANT, escrow: 0 });
  await a.page.screenshot({ path: 'test-results/memory-donor.png', fullPage: true });

  for (const c of [a.context, b.context, small.context, ownerContext]) await c.close();
});
