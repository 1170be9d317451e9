import { expect, test, type Page } from '@playwright/test';

const OFFLINE_BANNER = "You're offline — showing the saved app. Changes will need a connection.";

/** Waits until the service worker has installed (precached the shell) and controls this page. */
async function waitForServiceWorkerControl(page: Page) {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await expect
    .poll(() => page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? null))
    .toMatch(/\/sw\.js$/);
}

test.describe('offline app shell', () => {
  test('reloading the home page offline shows the saved app and the offline banner', async ({ page, context }) => {
    await page.goto('/');
    await waitForServiceWorkerControl(page);
    await expect(page.getByTestId('offline-banner')).toHaveCount(0);

    await context.setOffline(true);
    try {
      const response = await page.reload();
      expect(response?.fromServiceWorker()).toBe(true);

      await expect(page).toHaveURL(/\/$/);
      await expect(page.locator('main')).toBeVisible();
      await expect(page.getByRole('heading', { name: "You're offline" })).toHaveCount(0);
      const banner = page.getByRole('status').filter({ hasText: "You're offline" });
      await expect(banner).toBeVisible();
      await expect(banner).toHaveText(OFFLINE_BANNER);
      await page.screenshot({ path: test.info().outputPath('offline-home.png') });

      // A page this device has never loaded falls back to the precached /offline page.
      const unvisited = await page.goto('/never-visited/offline-check');
      expect(unvisited?.fromServiceWorker()).toBe(true);
      await expect(page).toHaveURL(/\/never-visited\/offline-check$/);
      await expect(page.getByRole('heading', { level: 1, name: "You're offline" })).toBeVisible();
      await expect(page.getByText("this page hasn't been saved on it yet")).toBeVisible();
      await page.screenshot({ path: test.info().outputPath('offline-fallback.png') });
    } finally {
      await context.setOffline(false);
    }

    // Back online, the banner goes away by itself.
    await expect(page.getByTestId('offline-banner')).toHaveCount(0);
  });

  test('requests under /api/ bypass the service worker', async ({ page }) => {
    await page.goto('/');
    await waitForServiceWorkerControl(page);

    const [response] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/api/health'),
      page.evaluate(() => fetch('/api/health', { cache: 'no-store' }).then((r) => r.status)),
    ]);
    expect(response.fromServiceWorker()).toBe(false);
    const apiCaches = await page.evaluate(async () => {
      const names = await caches.keys();
      const hits = await Promise.all(names.map(async (name) => ((await caches.open(name)).match('/api/health'))));
      return hits.filter(Boolean).length;
    });
    expect(apiCaches).toBe(0);
  });
});
