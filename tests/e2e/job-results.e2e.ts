/**
 * A job whose code and data are content items in the mesh, end to end in Chromium: the owner publishes a module
 * and a JSON array of inputs from their device, posts a job naming both and a results URL on loopback; a donor
 * browser fetches the items from the owner's device over WebRTC, checks their SHA-256 and runs the units in the
 * sandbox, and the owner's device confirms them from its own copy of the items (the community has one donor);
 * the receiver (a node:http server here) gets the results file and verifies its HMAC signature; the owner
 * downloads the same file from the job page.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { verifyResultsSignature } from '../../server/compute/results-rules';
import { call, PASSWORD, unique, webrtcContext } from './support';

const CODE = 'export function run(n) {\n  let sum = 0;\n  for (let i = 1; i <= n; i++) sum += i * i;\n  return sum;\n}\n';
const INPUTS = [10, 20, 30, 40];
const sumOfSquares = (n: number) => (n * (n + 1) * (2 * n + 1)) / 6;
const sha = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

type Received = { body: string; timestamp?: string; signature?: string; job?: string };

/** Publishes a file from the page's device (the Files screen) and returns the item's id. */
async function publish(page: Page, file: string, title: string, bytes: Buffer) {
  await page.goto('/content/publish');
  await page.getByLabel('Choose a file').setInputFiles(file);
  await expect(page.getByLabel('Title')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('published-sha')).toHaveText(`${sha(bytes).slice(0, 12)}…`);
  await page.getByLabel('Title').fill(title);
  await page.getByRole('button', { name: /^Offer in/ }).click();
  await expect(page.getByRole('heading', { name: title })).toBeVisible();
  return page.url().match(/\/content\/items\/([^/?#]+)/)![1]!;
}

async function donor(browser: Browser, baseURL: string, handle: string, slug: string) {
  const ctx = await webrtcContext(browser, baseURL);
  const page = await ctx.newPage();
  await call(page.request, 'auth.signUp', { handle, password: PASSWORD });
  await call(page.request, 'community.join', { slug });
  await page.goto('/device');
  await page.getByRole('button', { name: 'Measure and register' }).click();
  const panel = page.getByTestId('donate-panel');
  await expect(panel).toBeVisible({ timeout: 45_000 });
  await panel.getByRole('switch', { name: 'Donate' }).click();
  await expect(panel.getByRole('switch', { name: 'Donate' })).toHaveAttribute('aria-checked', 'true');
  return { ctx, page, panel };
}

test('a job whose code and data come from content items runs on a donor, is confirmed by the owner’s device, posts signed results to a loopback receiver, and the owner downloads the file', async ({ browser, baseURL }) => {
  test.setTimeout(240_000);
  const id = unique();
  const received: Received[] = [];
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), timestamp: req.headers['x-swapmesh-timestamp'] as string, signature: req.headers['x-swapmesh-signature'] as string, job: req.headers['x-swapmesh-job'] as string });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const resultsUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/swapmesh/results`;

  const dir = mkdtempSync(path.join(tmpdir(), 'job-source-'));
  const codeFile = path.join(dir, 'squares.js');
  const dataFile = path.join(dir, 'inputs.json');
  const codeBytes = Buffer.from(CODE);
  const dataBytes = Buffer.from(JSON.stringify(INPUTS));
  writeFileSync(codeFile, codeBytes);
  writeFileSync(dataFile, dataBytes);

  // --- the owner: a community, this browser as a device, the two items published from it
  const ownerCtx = await webrtcContext(browser, baseURL!);
  const owner = await ownerCtx.newPage();
  await call(owner.request, 'auth.signUp', { handle: `owner-${id}`, password: PASSWORD });
  const slug = `mesh-${id}`;
  await call(owner.request, 'community.create', { name: `Mesh ${id}`, slug, commissionBps: 200, startingGrant: 100_000_000, inviteOnly: false });
  await owner.goto('/device');
  await owner.getByRole('button', { name: 'Measure and register' }).click();
  await expect(owner.getByTestId('donate-panel')).toBeVisible({ timeout: 45_000 });
  const codeItemId = await publish(owner, codeFile, `Squares ${id}`, codeBytes);
  const dataItemId = await publish(owner, dataFile, `Inputs ${id}`, dataBytes);

  // --- the job, through the form: code and data from the mesh, results kept and posted
  await owner.goto('/jobs/new');
  await owner.getByLabel('Kernel').selectOption('custom');
  await owner.getByLabel('Code item id').fill(codeItemId);
  await owner.getByLabel('Data item id').fill(dataItemId);
  await owner.getByLabel('Inputs in it').fill(String(INPUTS.length));
  await owner.getByLabel('Work units').fill(String(INPUTS.length));
  await owner.getByLabel('Results URL (optional)').fill(resultsUrl);
  await owner.screenshot({ path: 'test-results/job-results-form.png', fullPage: true });
  await owner.getByRole('button', { name: 'Post job' }).click();
  await expect(owner.getByTestId('job-status')).toHaveText('open');
  const jobId = owner.url().match(/\/jobs\/([^/?#]+)/)![1]!;
  await expect(owner.getByTestId('job-source-code')).toContainText(sha(codeBytes).slice(0, 12));
  await expect(owner.getByTestId('job-source-data')).toContainText(sha(dataBytes).slice(0, 12));
  const placement = (await (await owner.request.get(`/api/trpc/compute.placement?input=${encodeURIComponent(JSON.stringify({ jobId }))}`)).json()).result.data as { secret: string };
  // nothing to download before the job completes
  expect((await owner.request.get(`/api/compute/results/${jobId}`)).status()).toBe(404);

  // --- the donor fetches the items from the owner's device over WebRTC and runs the units; nobody else can
  // confirm them, so the owner's device does, with the code and data it holds itself
  const a = await donor(browser, baseURL!, `donor-a-${id}`, slug);
  await expect(a.panel.getByTestId('donate-units-done')).toHaveText(String(INPUTS.length), { timeout: 150_000 });
  await expect(owner.getByTestId('job-awaiting')).toHaveText(`${INPUTS.length} computed, waiting for a second device to confirm`, { timeout: 30_000 });
  await owner.getByRole('button', { name: 'Confirm results on this device' }).click();
  await expect(owner.getByTestId('job-status')).toHaveText('completed', { timeout: 150_000 });
  await expect(owner.getByTestId('job-result')).toContainText(String(sumOfSquares(40)));

  // --- the receiver got the results file once, signed with the job's key
  await expect.poll(() => received.length, { timeout: 30_000 }).toBe(1);
  const got = received[0]!;
  expect(got.job).toBe(jobId);
  expect(verifyResultsSignature(placement.secret, { timestamp: got.timestamp, signature: got.signature }, got.body, new Date())).toBe(true);
  expect(verifyResultsSignature('0'.repeat(64), { timestamp: got.timestamp, signature: got.signature }, got.body, new Date())).toBe(false);
  expect(JSON.parse(got.body)).toMatchObject({ format: 'swapmesh.results/1', job: { id: jobId, units: INPUTS.length }, result: INPUTS.map(sumOfSquares) });
  await expect(owner.getByTestId('results-delivery-status')).toHaveText('Delivered', { timeout: 15_000 });
  await expect(owner.getByTestId('results-attempt')).toHaveCount(1);
  await expect(owner.getByTestId('results-attempt')).toContainText('accepted (204)');

  // --- the owner downloads the same file from the job page
  await owner.evaluate(() => window.scrollTo(0, 0));
  await owner.screenshot({ path: 'test-results/job-results-page.png', fullPage: true });
  await owner.getByTestId('job-results').scrollIntoViewIfNeeded();
  await owner.screenshot({ path: 'test-results/job-results-card.png' });
  const [download] = await Promise.all([owner.waitForEvent('download'), owner.getByTestId('results-download').click()]);
  expect(download.suggestedFilename()).toBe(`swapmesh-job-${jobId}-results.json`);
  const saved = readFileSync(await download.path());
  expect(sha(saved)).toBe(sha(got.body));

  // the owner only: another member gets no file
  expect((await a.page.request.get(`/api/compute/results/${jobId}`)).status()).toBe(404);

  await Promise.all([a.ctx.close(), ownerCtx.close()]);
  await new Promise((resolve) => receiver.close(resolve));
});
