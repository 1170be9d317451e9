import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { phoneProfile } from '../support/fixtures';
import { call, PASSWORD, unique } from './support';

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

/**
 * Barter and Files offline (issue 14, "Offline like a banking app"): after a visit online, a member who opens them
 * without a connection sees their offers, the catalog and their transfers as last known, marked with the time,
 * and a file received whole opens from this device's own storage.
 */
test.describe('Barter and Files offline, as last known', () => {
  const asOfText = (page: Page, iso: string) => page.evaluate((at) => new Intl.DateTimeFormat(undefined, { timeStyle: 'short' }).format(new Date(at)), iso);
  const savedAt = (page: Page, name: string) =>
    page.evaluate((key) => {
      const last = localStorage.getItem('swapmesh.home.last');
      const raw = localStorage.getItem(`swapmesh.${key}.v1.${last}`);
      return raw ? (JSON.parse(raw) as { savedAt: string }).savedAt : null;
    }, name);

  test('Barter shows my offers as last known, without the buttons that need the coordinator', async ({ page, context }) => {
    const id = unique();
    await call(page.request, 'auth.signUp', { handle: `trader-${id}`, password: PASSWORD });
    const community = await call(page.request, 'community.create', { name: `Off grid ${id}`, slug: `off-grid-${id}`, commissionBps: 100, startingGrant: 10_000_000, inviteOnly: false });
    const offer = {
      communityId: community.id,
      give: [{ category: 'FILE', unit: 'ITEM', quantity: 12 }],
      want: [{ category: 'COMPUTE', unit: 'CPU_SECOND', quantity: 900 }],
      toleranceBps: 1_000,
      topUp: { allowed: false, max: 0 },
      auto: true,
      fromPool: false,
    };
    await call(page.request, 'barter.offer', offer);

    await page.goto('/barter');
    const offers = page.getByTestId('barter-offers');
    await expect(offers).toContainText(`@trader-${id}`);
    await expect(offers).toContainText('Gives 12 items of files');
    await expect(offers.getByRole('button', { name: 'Withdraw' })).toBeVisible();
    await waitForServiceWorkerControl(page);
    await expect.poll(() => savedAt(page, `barter.offers.${community.id}`)).not.toBeNull();
    const saved = (await savedAt(page, `barter.offers.${community.id}`))!;

    await context.setOffline(true);
    try {
      const response = await page.reload();
      expect(response?.fromServiceWorker()).toBe(true);
      await expect(page.getByTestId('last-known')).toHaveText(`Offline — as of ${await asOfText(page, saved)}`);
      await expect(offers).toContainText(`@trader-${id}`);
      await expect(offers).toContainText('Gives 12 items of files');
      await expect(offers).toContainText('Wants 900 CPU seconds of compute');
      // what needs the coordinator is not offered while it cannot be reached
      await expect(offers.getByRole('button', { name: 'Withdraw' })).toHaveCount(0);
      await expect(page.getByRole('button', { name: 'Post offer' })).toBeDisabled();
      await expect(page.getByText(/^Loading…$/)).toHaveCount(0);
      await page.screenshot({ path: test.info().outputPath('barter-offline.png'), fullPage: true });
    } finally {
      await context.setOffline(false);
    }
    // back online the mark goes once the offers are read again
    await page.reload();
    await expect(offers.getByRole('button', { name: 'Withdraw' })).toBeVisible();
    await expect(page.getByTestId('last-known')).toHaveCount(0);
  });
  test('Files: the catalog and transfers as last known, and a file received whole opens from this device', async ({ browser, baseURL }) => {
    test.setTimeout(180_000);
    const id = unique();
    const bytes = Buffer.alloc(300 * 1024 + 17);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 131 + (i >> 9)) & 0xff;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const filePath = path.join(mkdtempSync(path.join(tmpdir(), 'swapmesh-offline-')), `trail-map-${id}.pdf`);
    writeFileSync(filePath, bytes);
    const title = `Trail map ${id}`;

    const contexts = [await browser.newContext(), await browser.newContext()];
    // with this permission Chromium offers a 127.0.0.1 host candidate (see RECIPES.md)
    for (const c of contexts) await c.grantPermissions(['microphone', 'camera'], { origin: baseURL! });
    const [giver, taker] = [await contexts[0]!.newPage(), await contexts[1]!.newPage()];
    const slug = `maps-${id}`;
    await call(giver.request, 'auth.signUp', { handle: `giver-${id}`, password: PASSWORD });
    await call(giver.request, 'community.create', { name: `Maps ${id}`, slug, commissionBps: 0, startingGrant: 0, inviteOnly: false });
    await call(taker.request, 'auth.signUp', { handle: `taker-${id}`, password: PASSWORD });
    await call(taker.request, 'community.join', { slug });
    for (const [page, name] of [[giver, 'Giver phone'], [taker, 'Taker phone']] as const) {
      const { device } = await call(page.request, 'device.register', { name, profile: phoneProfile });
      await page.goto('/');
      await page.evaluate((deviceId) => localStorage.setItem('swapmesh.deviceId', deviceId), device.id);
    }

    // the giver offers a file for free; the taker asks for a copy, which travels device to device
    await giver.goto('/content/publish');
    await giver.getByLabel('Choose a file').setInputFiles(filePath);
    await expect(giver.getByLabel('Title')).toBeVisible({ timeout: 60_000 });
    await giver.getByLabel('Title').fill(title);
    await giver.getByRole('button', { name: /^Offer in/ }).click();
    await expect(giver.getByRole('heading', { name: title })).toBeVisible();

    await taker.goto('/content');
    const row = taker.getByTestId('catalog-item').filter({ hasText: title });
    await expect(row).toContainText('Free');
    await row.click();
    await taker.getByRole('button', { name: 'Request a copy' }).click();
    await expect(taker).toHaveURL(/\/content\/transfers$/);
    await expect(taker.locator('[data-role="receive"]').first()).toHaveAttribute('data-phase', 'completed', { timeout: 90_000 });

    // a visit to each screen online keeps it on this device
    await taker.goto('/content');
    await expect(row).toBeVisible();
    await waitForServiceWorkerControl(taker);
    await taker.goto('/content/transfers');
    await expect(taker.locator('[data-role="receive"]').first()).toHaveAttribute('data-phase', 'completed');
    await expect.poll(() => savedAt(taker, 'content.devices')).not.toBeNull();
    const deviceId = await taker.evaluate(() => localStorage.getItem('swapmesh.deviceId'));
    await expect.poll(() => savedAt(taker, `content.transferHistory.${deviceId}`)).not.toBeNull();

    await contexts[1]!.setOffline(true);
    try {
      const catalog = await taker.goto('/content');
      expect(catalog?.fromServiceWorker()).toBe(true);
      await expect(taker.getByTestId('last-known')).toContainText('Offline — as of');
      await expect(row).toBeVisible();
      await expect(row).toContainText(`@giver-${id}`);
      await taker.screenshot({ path: test.info().outputPath('files-offline-catalog.png'), fullPage: true });

      await taker.goto('/content/transfers');
      await expect(taker.getByTestId('last-known')).toContainText('Offline — as of');
      await expect(taker.getByTestId('earlier-transfers')).toContainText(title);
      await expect(taker.getByTestId('earlier-transfers')).toContainText('received · completed');
      const kept = taker.getByTestId('received-on-device').locator('li').filter({ hasText: title });
      await expect(kept).toContainText('SHA-256 verified');
      // nothing can copy offline, so the screen does not invite a request that cannot go out
      await expect(taker.getByTestId('incoming')).toHaveCount(0);
      await taker.screenshot({ path: test.info().outputPath('files-offline-transfers.png'), fullPage: true });
      // the file opens from this device's storage, byte for byte what was offered
      const [download] = await Promise.all([taker.waitForEvent('download'), kept.getByRole('button', { name: 'Save to device' }).click()]);
      expect(download.suggestedFilename()).toBe(title.endsWith('.pdf') ? title : `${title}.pdf`);
      const saved = readFileSync((await download.path())!);
      expect(createHash('sha256').update(saved).digest('hex')).toBe(sha256);
    } finally {
      await contexts[1]!.setOffline(false);
    }
    await Promise.all(contexts.map((c) => c.close()));
  });
});
