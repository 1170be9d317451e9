import { expect, test, type Browser } from '@playwright/test';
import { PRESETS } from '../../app/jobs/new/job-presets';
import { call, PASSWORD, unique } from './support';

const PHONE = { width: 412, height: 915 };
const DEFAULT = PRESETS.mandelbrot!;

const postDefaultJob = (owner: { request: Parameters<typeof call>[0] }, communityId: string) =>
  call(owner.request, 'compute.submitJob', {
    communityId, kernel: 'mandelbrot', params: DEFAULT.params, units: DEFAULT.units, replication: 2, quorum: 2,
    deadline: new Date(Date.now() + 3_600_000).toISOString(), pricePerUnit: 10_000,
  }) as Promise<{ id: string; unitCount: number }>;

async function phone(browser: Browser) {
  const context = await browser.newContext({ viewport: PHONE });
  return { context, page: await context.newPage() };
}

test('a two-member community: the screens explain the wait, the owner confirms on their phone, the donor becomes trusted and the next default job completes', async ({ browser }) => {
  test.setTimeout(300_000);
  const id = unique();
  const slug = `pair-${id}`;
  const owner = await phone(browser);
  await call(owner.page.request, 'auth.signUp', { handle: `buyer-${id}`, password: PASSWORD });
  const { id: communityId } = await call(owner.page.request, 'community.create', { name: `Pair ${id}`, slug, commissionBps: 100, startingGrant: 100_000_000, inviteOnly: false });
  const first = await postDefaultJob(owner.page, communityId);

  // the only other member's phone donates and computes every tile
  const donor = await phone(browser);
  await call(donor.page.request, 'auth.signUp', { handle: `donor-${id}`, password: PASSWORD });
  await call(donor.page.request, 'community.join', { slug });
  await donor.page.goto('/device');
  await donor.page.getByRole('button', { name: 'Measure and register' }).click();
  const panel = donor.page.getByTestId('donate-panel');
  await expect(panel).toBeVisible({ timeout: 45_000 });
  await panel.getByRole('switch', { name: 'Donate' }).click();
  await expect(panel.getByTestId('donate-awaiting')).toHaveText(/^64 results done, awaiting confirmation by a second device/, { timeout: 120_000 });
  await expect(panel.getByTestId('donate-last-verdict')).toHaveText('done, awaiting confirmation');
  await expect(panel.getByTestId('donate-trust')).toHaveText(/Not trusted yet: 0 of 10 results confirmed in a row/);
  await panel.screenshot({ path: 'test-results/small-community-donor-waiting.png' });

  // the owner's job page says why the image stays grey, per unit, and how many devices are missing
  await owner.page.goto(`/jobs/${first.id}`);
  await expect(owner.page.getByTestId('job-progress')).toHaveText(/^0\/64 units validated/);
  await expect(owner.page.getByTestId('job-awaiting')).toHaveText('64 computed, waiting for a second device to confirm');
  const wait = owner.page.getByTestId('job-wait');
  await expect(wait).toContainText('1 device donates to this job in this community: 1 more device is needed.');
  await expect(owner.page.getByTestId('unit-legend')).toHaveText('64 computed, waiting for a second device to confirm');
  await owner.page.screenshot({ path: 'test-results/small-community-job-waiting.png', fullPage: true });

  // the owner's phone confirms them; agreement makes the donor trusted
  await wait.getByRole('button', { name: 'Confirm results on this device' }).click();
  await expect(owner.page.getByTestId('fractal')).toHaveAttribute('data-complete', 'true', { timeout: 150_000 });
  await expect(owner.page.getByTestId('job-progress')).toHaveText(/^64\/64 units validated/);
  await expect(panel.getByTestId('donate-trust')).toHaveText(/^Trusted: most units count without a second device; about 10% are still checked\./, { timeout: 15_000 });
  await expect(panel.getByTestId('donate-awaiting')).toHaveCount(0);
  await panel.screenshot({ path: 'test-results/small-community-donor-trusted.png' });

  // the next default job: the trusted donor's tiles count alone, except the spot checks, which wait for the owner
  const second = await postDefaultJob(owner.page, communityId);
  await owner.page.goto(`/jobs/${second.id}`);
  const legend = owner.page.getByTestId('unit-legend');
  await expect
    .poll(async () => {
      const job = await call(owner.page.request, 'compute.job', { jobId: second.id }, 'GET');
      return job.progress.validated + job.progress.awaitingConfirmation;
    }, { timeout: 120_000 })
    .toBe(64);
  const job = await call(owner.page.request, 'compute.job', { jobId: second.id }, 'GET');
  expect(job.progress.validated).toBeGreaterThan(40);
  if (job.status === 'OPEN') {
    await expect(legend).toContainText(`${job.progress.awaitingConfirmation} computed, waiting for a second device to confirm`);
    await owner.page.screenshot({ path: 'test-results/small-community-job-spot-checks.png', fullPage: true });
    await owner.page.getByRole('button', { name: 'Confirm results on this device' }).click();
  }
  await expect(owner.page.getByTestId('fractal')).toHaveAttribute('data-complete', 'true', { timeout: 120_000 });
  await expect(owner.page.getByTestId('job-status')).toHaveText('completed');
  await expect(legend).toHaveCount(0);
  await owner.page.screenshot({ path: 'test-results/small-community-job-complete.png', fullPage: true });
  await donor.context.close();
  await owner.context.close();
});
