/**
 * A SCREEN rental end to end (tests/e2e/peripheral.e2e.ts covers the camera and the microphone): the seller's page
 * shares its screen with getDisplayMedia — Chromium's fake display capture (`--use-fake-device-for-media-stream`
 * with `--use-fake-ui-for-media-stream` gives a 1280×720 "screen" without a picker) — the buyer's page shows it at
 * the screen's quality floor or better, the buyer ends the rental, and the seller is paid for the seconds proven.
 */
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { fillAmounts } from '@/server/market/commission';
import { proRataAmounts } from '@/server/market/contract-state';
import { DEFAULT_QUALITY } from '@/server/peripheral/receipt-format';
import { phoneProfile } from '../support/fixtures';
import { call, fakeMediaLaunch, ledgerSums, PASSWORD, unique } from './support';

test.use({ launchOptions: fakeMediaLaunch });

const CREDIT = 1_000_000;
const BPS = 200;
const GRANT = 100 * CREDIT;
const PRICE = 6 * CREDIT;
const RENTAL_MS = 120_000;

/**
 * Chromium's fake display capture takes an emulated window's size, so the seller is a desktop-sized window (screen
 * sharing is a desktop browser's feature; a 412 px phone window would fall below the screen's 640×360 floor), the
 * buyer a phone.
 */
async function device(browser: Browser, baseURL: string, desktop = false): Promise<BrowserContext> {
  const context = await browser.newContext(
    desktop ? { viewport: { width: 1280, height: 800 }, screen: { width: 1280, height: 800 }, deviceScaleFactor: 1 } : { viewport: { width: 412, height: 915 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true },
  );
  await context.grantPermissions(['microphone', 'camera'], { origin: baseURL });
  return context;
}

async function member(page: Page, handle: string, deviceName: string) {
  await call(page.request, 'auth.signUp', { handle, password: PASSWORD });
  const { device: registered } = await call(page.request, 'device.register', { name: deviceName, profile: phoneProfile });
  await page.goto('/offline');
  await page.evaluate((id) => window.localStorage.setItem('swapmesh.deviceId', id), registered.id);
}

test('a screen rental: the seller shares its screen, the buyer sees it and ends it; paid for the seconds proven', async ({ browser, baseURL }) => {
  test.setTimeout(180_000);
  const id = unique();
  // the seller's desktop context made after the phone's (with the phone's last, the fake screen came out 412 px wide)
  const buyerContext = await device(browser, baseURL!);
  const sellerContext = await device(browser, baseURL!, true);
  // counts the seller's page's screen captures: none before the seller starts
  await sellerContext.addInitScript(() => {
    const media = navigator.mediaDevices;
    const original = media.getDisplayMedia.bind(media);
    (window as unknown as { screenAsks: number }).screenAsks = 0;
    media.getDisplayMedia = (constraints) => {
      (window as unknown as { screenAsks: number }).screenAsks++;
      return original(constraints);
    };
  });
  const seller = await sellerContext.newPage();
  const buyer = await buyerContext.newPage();
  const [sellerHandle, buyerHandle] = [`screen-${id}`, `watcher-${id}`];
  await member(seller, sellerHandle, 'Seller tablet');
  await member(buyer, buyerHandle, 'Buyer phone');
  const slug = `screens-${id}`;
  const community = await call(seller.request, 'community.create', { name: `Screens ${id}`, slug, commissionBps: BPS, startingGrant: GRANT, inviteOnly: false });
  await call(buyer.request, 'community.join', { slug });
  const now = Date.now();
  const window = { windowStart: new Date(now).toISOString(), windowEnd: new Date(now + RENTAL_MS).toISOString() };
  await call(seller.request, 'market.placeOrder', { communityId: community.id, side: 'SELL', category: 'PERIPHERAL', unit: 'DEVICE_HOUR', kind: 'STANDING', quantity: 1, price: PRICE, ...window });
  const bid = await call(buyer.request, 'market.placeOrder', { communityId: community.id, side: 'BUY', category: 'PERIPHERAL', unit: 'DEVICE_HOUR', kind: 'STANDING', quantity: 1, price: PRICE, ...window });
  const contractId: string = bid.fills[0].contractId;

  await seller.goto(`/peripherals/${contractId}`);
  await seller.getByRole('radio', { name: 'Screen' }).check();
  expect(await seller.evaluate(() => (window as unknown as { screenAsks: number }).screenAsks)).toBe(0);
  await seller.getByRole('button', { name: 'Rent out my screen' }).click();
  await expect(seller.getByTestId('sharing-indicator')).toContainText(`Your screen is being shared with @${buyerHandle}`);
  expect(await seller.evaluate(() => (window as unknown as { screenAsks: number }).screenAsks)).toBe(1);

  await buyer.goto(`/peripherals/${contractId}`);
  await expect(buyer.getByTestId('buyer-link')).toHaveText('Receiving live.', { timeout: 45_000 });
  const video = buyer.getByTestId('rental-video');
  await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.videoWidth), { timeout: 20_000 }).toBeGreaterThanOrEqual(DEFAULT_QUALITY.SCREEN.minWidth);
  expect(await video.evaluate((v: HTMLVideoElement) => v.videoHeight)).toBeGreaterThanOrEqual(DEFAULT_QUALITY.SCREEN.minHeight);
  const t0 = await video.evaluate((v: HTMLVideoElement) => v.currentTime);
  await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 10_000 }).toBeGreaterThan(t0);
  await expect.poll(async () => parseInt((await buyer.getByTestId('seconds-proven').textContent()) ?? '0', 10), { timeout: 40_000 }).toBeGreaterThanOrEqual(10);
  await buyer.screenshot({ path: 'test-results/peripheral-screen-buyer.png', fullPage: true });
  await seller.screenshot({ path: 'test-results/peripheral-screen-seller.png', fullPage: true });
  await buyer.getByRole('button', { name: 'End the rental' }).click();
  await expect(buyer.getByTestId('rental-ended')).toContainText('the buyer ended it');
  await expect(seller.getByTestId('sharing-indicator')).toHaveCount(0, { timeout: 20_000 });

  const rental = (await call(buyer.request, 'peripheral.get', { contractId }, 'GET')).rental;
  expect(rental).toMatchObject({ state: 'ENDED', endedBy: 'BUYER', kind: 'SCREEN' });
  expect(rental.provenMs).toBeGreaterThanOrEqual(10_000);
  console.info(`screen rental: ${rental.provenMs} ms proven`);
  const amounts = fillAmounts(1, PRICE, BPS);
  const paid = proRataAmounts(amounts.buyerPays, amounts.buyerPays - amounts.sellerGets, rental.provenMs, RENTAL_MS);
  expect(await call(seller.request, 'ledger.balance', { communityId: community.id }, 'GET')).toEqual({ available: GRANT + paid.sellerGets, escrow: 0 });
  expect(await call(buyer.request, 'ledger.balance', { communityId: community.id }, 'GET')).toEqual({ available: GRANT - paid.paid, escrow: 0 });
  expect(await ledgerSums(community.id)).toEqual({ balances: 0, postings: 0 });
  await sellerContext.close();
  await buyerContext.close();
});
