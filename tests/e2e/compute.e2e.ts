import { createHash } from 'node:crypto';
import { expect, test, type Browser } from '@playwright/test';
import { getKernel } from '../../workers/kernels';
import { decodeBase64 } from '../../workers/kernels/shared';
import { call, PASSWORD, runAgent, unique } from './support';

const params = { width: 512, height: 512, maxIterations: 800, view: { centerX: -0.5, centerY: 0, scale: 3 } };

/** The SHA-256 of the reference image's counts, computed here directly with the kernel. */
function referenceHash(units: number) {
  const kernel = getKernel('mandelbrot');
  const result = kernel.assemble(params, kernel.split(params, units).map((unit) => kernel.run(unit)));
  return createHash('sha256').update(decodeBase64(result.counts)).digest('hex');
}

/** A member in their own browser context who registers this browser (real benchmark) and switches donating on. */
async function browserDonor(browser: Browser, handle: string, slug: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await call(page.request, 'auth.signUp', { handle, password: PASSWORD });
  await call(page.request, 'community.join', { slug });
  await page.goto('/device');
  await page.getByRole('button', { name: 'Measure and register' }).click();
  const panel = page.getByTestId('donate-panel');
  await expect(panel).toBeVisible({ timeout: 45_000 });
  await panel.getByRole('switch', { name: 'Donate' }).click();
  await expect(panel.getByRole('switch', { name: 'Donate' })).toHaveAttribute('aria-checked', 'true');
  return { context, page, panel };
}

test('two browsers donate, a third member renders a Mandelbrot job; one donor closes mid-job and the image still completes exactly', async ({ browser, baseURL }) => {
  test.setTimeout(240_000);
  const id = unique();
  const ownerContext = await browser.newContext();
  const owner = await ownerContext.newPage();
  await call(owner.request, 'auth.signUp', { handle: `researcher-${id}`, password: PASSWORD });
  const slug = `lab-${id}`;
  await call(owner.request, 'community.create', { name: `Lab ${id}`, slug, commissionBps: 200, startingGrant: 100_000_000, inviteOnly: false });

  // the job, posted through the form
  await owner.goto('/jobs/new');
  await owner.getByLabel('Width (px)').fill(String(params.width));
  await owner.getByLabel('Height (px)').fill(String(params.height));
  await owner.getByLabel('Iterations').fill(String(params.maxIterations));
  await owner.getByLabel('Work units').fill('64');
  await owner.getByRole('button', { name: 'Post job' }).click();
  await expect(owner.getByTestId('job-status')).toHaveText('open');
  const unitCount = Number((await owner.getByTestId('job-progress').textContent())!.match(/\/(\d+) units/)![1]);

  const first = await browserDonor(browser, `donor-a-${id}`, slug);
  const second = await browserDonor(browser, `donor-b-${id}`, slug);
  // the first donor leaves once it has done some work; its unanswered leases expire and go back
  await expect(first.panel.getByTestId('donate-units-done')).not.toHaveText('0', { timeout: 60_000 });
  await first.context.close();

  // a third donor (the headless agent) keeps a quorum possible without the first
  const agent = runAgent(baseURL!, ['--handle', `agent-${id}`, '--password', PASSWORD, '--sign-up', '--community', slug, '--threads', '1', '--idle-exit', '20']);

  await expect(owner.getByTestId('fractal')).toHaveAttribute('data-complete', 'true', { timeout: 150_000 });
  await expect(owner.getByTestId('job-progress')).toHaveText(new RegExp(`^${unitCount}/${unitCount} units validated`));
  await expect(owner.getByTestId('pixels-hash')).toHaveText(referenceHash(unitCount));
  await owner.screenshot({ path: 'test-results/job-complete.png', fullPage: true });
  await expect(second.panel.getByTestId('donate-validated')).not.toHaveText('0', { timeout: 15_000 });
  // the browser ran its tiles with the app's WebAssembly build (the SIMD one in Chromium), not the JS fallback
  await expect(second.panel).toContainText(/ms in WebAssembly/);

  const finished = await agent;
  expect(finished.code, finished.output).toBe(0);
  await second.context.close();
  await ownerContext.close();
});
