import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { PASSWORD, signUpInBrowser, unique } from './support';

/** Collects every Content-Security-Policy violation the pages of this context report (events and console). */
async function watchViolations(context: BrowserContext) {
  const violations: string[] = [];
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline'} in ${event.sourceFile}:${event.lineNumber}`);
    });
  });
  context.on('console', (message) => {
    const text = message.text();
    if (/Content Security Policy|CSP violation|Refused to (load|execute|connect|create|apply|frame)/i.test(text)) violations.push(`${message.location().url}: ${text}`);
  });
  return violations;
}

async function signOut(page: Page) {
  await page.goto('/account');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('link', { name: 'Sign in' }).first()).toBeVisible();
}

/** Submits the sign-in form and waits for the coordinator's answer. */
async function signIn(page: Page, handle: string, password = PASSWORD) {
  await page.getByLabel('Handle').fill(handle);
  await page.getByLabel('Password').fill(password);
  const answered = page.waitForResponse((response) => response.url().includes('/api/trpc/auth.signIn'));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await answered;
}

test('every page is sent with the security headers', async ({ request }) => {
  for (const path of ['/', '/signin', '/market', '/content']) {
    const response = await request.get(path);
    const headers = response.headers();
    expect(headers['content-security-policy'], path).toMatch(/frame-ancestors 'none'/);
    expect(headers['content-security-policy']).toMatch(/object-src 'none'/);
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
    expect(headers['permissions-policy']).toMatch(/camera=\(self\), microphone=\(self\)/);
  }
  // a page's scripts go with nosniff and none of a document's headers (they govern documents and workers only)
  const html = await (await request.get('/market')).text();
  const script = /<script src="(\/_next\/static\/chunks\/[^"]+\.js)"/.exec(html)![1]!;
  const scriptHeaders = (await request.get(script, { headers: { 'accept-encoding': 'br' } })).headers();
  expect(scriptHeaders['x-content-type-options']).toBe('nosniff');
  expect(scriptHeaders['content-security-policy']).toBeUndefined();
  expect(scriptHeaders['x-frame-options']).toBeUndefined();
  // a form posted by another site is refused before it can sign anyone out
  const form = await request.post('/api/trpc/auth.signOut', { multipart: { x: '1' } });
  expect(form.status()).toBe(415);
  const crossSite = await request.post('/api/trpc/auth.signOut', { data: {}, headers: { origin: 'https://evil.example' } });
  expect(crossSite.status()).toBe(403);
});

test('the app works under its Content-Security-Policy: pages, the service worker and a Web Worker', async ({ browser }) => {
  test.setTimeout(120_000);
  const context = await browser.newContext();
  const violations = await watchViolations(context);
  // a worker takes its policies from the script that starts it
  const workerEntries: Promise<Record<string, string>>[] = [];
  context.on('response', (response) => {
    if (/\/turbopack-worker-[^/]+\.js$/.test(new URL(response.url()).pathname)) workerEntries.push(response.allHeaders());
  });
  const page = await context.newPage();
  await signUpInBrowser(page, `csp-${unique()}`);

  for (const path of ['/', '/communities', '/communities/new', '/market', '/trades', '/barter', '/content', '/content/publish', '/content/nearby', '/content/transfers', '/jobs/new', '/account', '/device']) {
    const response = await page.goto(path);
    expect(response?.status(), path).toBe(200);
    await expect(page.locator('main')).toBeVisible();
    // live pages keep a server-sent event stream open, so the network never idles: wait for the load
    await page.waitForLoadState('load');
  }

  // the device benchmark runs in a Web Worker
  await page.getByRole('button', { name: 'Measure and register' }).click();
  await expect(page.getByTestId('valuation')).toBeVisible({ timeout: 45_000 });
  expect(workerEntries.length).toBeGreaterThan(0);
  for (const headers of await Promise.all(workerEntries)) expect(headers['content-security-policy']).toMatch(/connect-src 'self'/);

  // the service worker registers and takes control
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? null)).toMatch(/\/sw\.js$/);

  expect(violations).toEqual([]);
  await context.close();
});

test('after 5 wrong passwords the sign-in form says when to try again', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const handle = `locked-${unique()}`;
  await signUpInBrowser(page, handle);
  await signOut(page);
  await page.goto('/signin');
  for (let i = 0; i < 5; i++) {
    await signIn(page, handle, `wrong password ${i}`);
    await expect(page.getByRole('alert').filter({ hasText: 'Wrong handle or password.' })).toBeVisible();
  }
  await signIn(page, handle);
  await expect(page.getByRole('alert').filter({ hasText: /^Too many attempts: try again in 15 minutes\.$/ })).toBeVisible();
  await expect(page.getByRole('alert').filter({ hasText: 'Wrong handle or password.' })).toHaveCount(0);
  await page.screenshot({ path: 'test-results/signin-throttled.png', fullPage: true });
  await context.close();
});

test('an off-site next parameter lands on the home page; a path of the app is followed', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const handle = `redirect-${unique()}`;
  await signUpInBrowser(page, handle);
  const origin = new URL(page.url()).origin;
  for (const next of ['//evil.example', '/\\evil.example', 'https://evil.example/', '/\t/evil.example']) {
    await signOut(page);
    await page.goto(`/signin?next=${encodeURIComponent(next)}`);
    await signIn(page, handle);
    await expect(page.getByRole('heading', { name: 'Your communities' })).toBeVisible();
    expect(page.url(), next).toBe(`${origin}/`);
  }
  await signOut(page);
  await page.goto(`/signin?next=${encodeURIComponent('/market')}`);
  await signIn(page, handle);
  await expect(page).toHaveURL(`${origin}/market`);
  await context.close();
});
