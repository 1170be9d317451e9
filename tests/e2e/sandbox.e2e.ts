import { createHash } from 'node:crypto';
import { expect, request as playwrightRequest, test, type APIRequestContext, type Page } from '@playwright/test';
import { call, PASSWORD, runAgent, unique } from './support';

const deadline = () => new Date(Date.now() + 3_600_000).toISOString();

async function communityWithOwner(api: APIRequestContext, id: string, handle = `owner-${id}`) {
  await call(api, 'auth.signUp', { handle, password: PASSWORD });
  return (await call(api, 'community.create', { name: `Lab ${id}`, slug: `lab-${id}`, commissionBps: 200, startingGrant: 100_000_000, inviteOnly: false })) as { id: string; slug: string };
}

async function submitCustomJob(api: APIRequestContext, communityId: string, code: string, inputs: unknown[]) {
  const job = await call(api, 'compute.submitJob', {
    communityId,
    kernel: 'custom',
    params: { code, inputs },
    units: inputs.length,
    replication: 2,
    quorum: 2,
    deadline: deadline(),
    pricePerUnit: 10_000,
  });
  return job as { id: string; unitCount: number };
}

/** Runs one unit in the real sandbox worker of `jobId`, from a page of the app, and returns the reply. */
function runInSandbox(page: Page, jobId: string, codeSha256: string, input: unknown) {
  return page.evaluate(
    ({ jobId, codeSha256, input }) =>
      new Promise((resolve, reject) => {
        const worker = new Worker(`/api/compute/sandbox/${jobId}`, { type: 'module' });
        const timer = setTimeout(() => reject(new Error('the sandbox did not answer')), 20_000);
        worker.onmessage = (event) => {
          clearTimeout(timer);
          worker.terminate();
          resolve(event.data);
        };
        worker.onerror = (event) => {
          clearTimeout(timer);
          reject(new Error(`sandbox error: ${event.message || 'failed to load'}`));
        };
        worker.postMessage({ type: 'run', id: 1, codeSha256, input });
      }),
    { jobId, codeSha256, input },
  );
}

// The member's code tries every way out it can think of, and still computes.
const PROBING_CODE = `
const violations = [];
addEventListener('securitypolicyviolation', (event) => violations.push(event.effectiveDirective));

export async function run({ a, b, tag }) {
  const out = { sum: a + b };
  const url = '/api/health?probe=' + tag;
  try { const r = await fetch(url); out.fetch = 'answered ' + r.status; } catch (err) { out.fetch = String(err); }
  try { const x = new XMLHttpRequest(); x.open('GET', url, false); x.send(); out.xhr = 'answered ' + x.status; } catch (err) { out.xhr = String(err); }
  out.webSocket = await new Promise((resolve) => {
    try {
      const ws = new WebSocket('ws://' + location.host + url);
      ws.onopen = () => resolve('open');
      ws.onerror = () => resolve('error');
    } catch (err) { resolve(String(err)); }
  });
  try { importScripts(url); out.importScripts = 'loaded'; } catch (err) { out.importScripts = String(err); }
  try { await import(url); out.import = 'loaded'; } catch (err) { out.import = String(err); }
  try { out.eval = new Function('return "evaluated"')(); } catch (err) { out.eval = String(err); }
  out.storage = {
    indexedDB: typeof indexedDB, caches: typeof caches, storage: typeof navigator.storage,
    BroadcastChannel: typeof BroadcastChannel, locks: typeof navigator.locks, Worker: typeof Worker,
  };
  await new Promise((resolve) => setTimeout(resolve, 50));
  out.violations = violations;
  return out;
}
`;

test("a member's own code runs in the sandbox: computation works, the network and the app's storage do not", async ({ page, context, baseURL }) => {
  const id = unique();
  const community = await communityWithOwner(page.request, id);
  const tag = `sandbox-${id}`;
  const job = await submitCustomJob(page.request, community.id, PROBING_CODE, [{ a: 2, b: 3, tag }]);
  const codeSha256 = createHash('sha256').update(PROBING_CODE).digest('hex');

  // Chromium reports the blocked attempts as failed requests; none may get an answer
  const answered: string[] = [];
  const blocked: string[] = [];
  context.on('response', (r) => {
    if (r.url().includes(tag)) answered.push(r.url());
  });
  context.on('requestfailed', (r) => {
    if (r.url().includes(tag)) blocked.push(r.failure()?.errorText ?? 'failed');
  });

  await page.goto('/offline');
  const reply = (await runInSandbox(page, job.id, codeSha256, { a: 2, b: 3, tag })) as {
    type: string;
    id: number;
    ok: boolean;
    output: Record<string, unknown>;
  };
  expect(reply).toMatchObject({ type: 'result', id: 1, ok: true });
  const out = reply.output;
  expect(out.sum).toBe(5);
  expect(out.fetch).toMatch(/TypeError: Failed to fetch/);
  expect(out.xhr).toMatch(/NetworkError/);
  expect(out.webSocket).toBe('error');
  expect(out.importScripts).toMatch(/importScripts|TypeError|NetworkError/); // module workers have none; either way nothing loads
  expect(out.import).toMatch(/Failed to fetch dynamically imported module/);
  expect(out.eval).toMatch(/EvalError/);
  expect(out.storage).toEqual({ indexedDB: 'undefined', caches: 'undefined', storage: 'undefined', BroadcastChannel: 'undefined', locks: 'undefined', Worker: 'undefined' });
  expect(answered).toEqual([]);
  expect(blocked.every((reason) => /^csp$|BLOCKED_BY_CSP/.test(reason)), blocked.join(', ')).toBe(true);

  // the same code with the wrong hash is refused, and an error in run() comes back as an error
  const wrongHash = (await runInSandbox(page, job.id, '0'.repeat(64), { a: 1, b: 1, tag })) as { ok: boolean; error: string };
  expect(wrongHash).toMatchObject({ ok: false, error: expect.stringMatching(/other code/) });

  const throwing = await submitCustomJob(page.request, community.id, 'export function run(x) { throw new RangeError("no " + x.n); }', [{ n: 7 }]);
  const failed = (await runInSandbox(page, throwing.id, createHash('sha256').update('export function run(x) { throw new RangeError("no " + x.n); }').digest('hex'), { n: 7 })) as { ok: boolean; error: string };
  expect(failed).toEqual({ type: 'result', id: 1, ok: false, error: 'RangeError: no 7' });

  // the route: headers, and who may load the code
  const served = await page.request.get(`/api/compute/sandbox/${job.id}`);
  expect(served.status()).toBe(200);
  expect(served.headers()['content-type']).toMatch(/^text\/javascript/);
  expect(served.headers()['content-security-policy']).toMatch(/^default-src 'none'; script-src [^ ;]+\/api\/compute\/sandbox\/[A-Za-z0-9_-]+$/);
  expect(served.headers()['cache-control']).toBe('no-store');
  const code = await page.request.get(`/api/compute/sandbox/${job.id}?part=code`);
  expect(await code.text()).toBe(PROBING_CODE);
  expect((await page.request.get(`/api/compute/sandbox/nope${id}`)).status()).toBe(404);
  expect((await page.request.get('/api/compute/sandbox/..%2Fetc')).status()).toBe(404);
  expect((await page.request.get(`/api/compute/sandbox/${job.id}?part=other`)).status()).toBe(404);
  const mandelbrot = await call(page.request, 'compute.submitJob', {
    communityId: community.id,
    kernel: 'mandelbrot',
    params: { width: 64, height: 64, maxIterations: 64, view: { centerX: -0.5, centerY: 0, scale: 3 } },
    units: 1,
    replication: 2,
    quorum: 2,
    deadline: deadline(),
    pricePerUnit: 1_000,
  });
  expect((await page.request.get(`/api/compute/sandbox/${mandelbrot.id}`)).status()).toBe(404);

  const anonymous = await playwrightRequest.newContext({ baseURL });
  expect((await anonymous.get(`/api/compute/sandbox/${job.id}`)).status()).toBe(401);
  await call(anonymous, 'auth.signUp', { handle: `stranger-${id}`, password: PASSWORD });
  expect((await anonymous.get(`/api/compute/sandbox/${job.id}`)).status()).toBe(403);
  await anonymous.dispose();
});

/** Runs the headless agent to the end (it exits after `--idle-exit` seconds with no work). */
test('the Donate panel computes built-in and custom units in the browser; a second donor validates them and the panel shows the credits', async ({ page, baseURL }) => {
  test.setTimeout(180_000);
  const id = unique();
  // one member posts the jobs (nobody computes their own), the page's member donates
  const owner = await playwrightRequest.newContext({ baseURL });
  const community = await communityWithOwner(owner, id);
  const code = 'export async function run({ n }) { let s = 0; for (let i = 0; i <= n * 100000; i++) s = (s + i * i) % 1000003; return { n, s }; }';
  const custom = await submitCustomJob(owner, community.id, code, [1, 2, 3].map((n) => ({ n })));
  const mandelbrot = await call(owner, 'compute.submitJob', {
    communityId: community.id,
    kernel: 'mandelbrot',
    params: { width: 128, height: 128, maxIterations: 300, view: { centerX: -0.5, centerY: 0, scale: 3 } },
    units: 4,
    replication: 2,
    quorum: 2,
    deadline: deadline(),
    pricePerUnit: 10_000,
  });
  const total = custom.unitCount + mandelbrot.unitCount;
  await call(page.request, 'auth.signUp', { handle: `donor-${id}`, password: PASSWORD });
  await call(page.request, 'community.join', { slug: community.slug });

  // register this browser as a device; the panel appears under the valuation
  await page.goto('/device');
  await page.getByRole('button', { name: 'Measure and register' }).click();
  const panel = page.getByTestId('donate-panel');
  await expect(panel).toBeVisible({ timeout: 45_000 });
  await panel.getByText('Preferences').click();
  await panel.getByRole('button', { name: '100%' }).click();
  await panel.getByRole('slider').fill('100');

  await panel.getByRole('switch', { name: 'Donate' }).click();
  await expect(panel.getByRole('switch', { name: 'Donate' })).toHaveAttribute('aria-checked', 'true');
  await expect(panel.getByTestId('donate-units-done')).toHaveText(String(total), { timeout: 60_000 });
  await expect(panel.getByTestId('donate-status')).toContainText('Waiting for work');
  await page.setViewportSize({ width: 412, height: 915 });
  await panel.scrollIntoViewIfNeeded();
  await page.screenshot({ path: 'test-results/donate-panel.png', fullPage: true });

  // a second member's agent computes the second replica of every unit (running the custom code too)
  const agent = await runAgent(baseURL!, ['--handle', `agent-${id}`, '--password', PASSWORD, '--sign-up', '--community', community.slug, '--threads', '2', '--idle-exit', '3', '--allow-custom']);
  expect(agent.code, agent.output).toBe(0);
  const summary = JSON.parse(/AGENT_SUMMARY (.*)/.exec(agent.output)![1]!);
  expect(summary).toMatchObject({ submitted: total, validated: total, failed: 0 });

  // both jobs completed: the browser's results agreed with the agent's, and it was paid
  await expect(panel.getByTestId('donate-validated')).toHaveText(String(total), { timeout: 15_000 });
  await expect(panel.getByTestId('donate-earned')).not.toHaveText('0', { timeout: 15_000 });
  for (const { id: jobId } of [custom, mandelbrot]) {
    expect((await call(owner, 'compute.job', { jobId }, 'GET')).status).toBe('COMPLETED');
  }
  await owner.dispose();

  // pause, resume, switch off
  await panel.getByRole('button', { name: 'Pause' }).click();
  await expect(panel.getByTestId('donate-status')).toContainText('until you resume');
  await panel.getByRole('button', { name: 'Resume' }).click();
  await expect(panel.getByTestId('donate-status')).toContainText('Waiting for work');
  await panel.getByRole('switch', { name: 'Donate' }).click();
  await expect(panel.getByRole('switch', { name: 'Donate' })).toHaveAttribute('aria-checked', 'false');
  await page.screenshot({ path: 'test-results/donate-panel-off.png', fullPage: true });
});
