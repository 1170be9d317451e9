/**
 * A peripheral rental end to end, in Chromium with its fake camera: a 2-minute camera rental is streamed from
 * the seller's page to the buyer's, the buyer's page shows the video and the seconds proven, the seller stops
 * after about 60 s, and the seller is paid for the seconds proven (~60 s, within the receipt interval); the
 * community's ledger sums to zero.
 */
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { fillAmounts } from '@/server/market/commission';
import { proRataAmounts } from '@/server/market/contract-state';
import { RECEIPT_INTERVAL_MS } from '@/server/peripheral/receipt-format';
import { phoneProfile } from '../support/fixtures';
import { call, fakeMediaLaunch, ledgerSums, PASSWORD, unique } from './support';

test.use({ launchOptions: fakeMediaLaunch });

const CREDIT = 1_000_000;
const BPS = 200;
const GRANT = 100 * CREDIT;
const PRICE = 6 * CREDIT;
const RENTAL_MS = 120_000;
const STREAM_MS = 60_000;

async function device(browser: Browser, baseURL: string): Promise<BrowserContext> {
  const context = await browser.newContext();
  // camera permission for the seller's capture; on both, it also makes Chromium offer a loopback candidate
  await context.grantPermissions(['microphone', 'camera'], { origin: baseURL });
  return context;
}

async function member(page: Page, handle: string, deviceName: string) {
  await call(page.request, 'auth.signUp', { handle, password: PASSWORD });
  const { device: registered } = await call(page.request, 'device.register', { name: deviceName, profile: phoneProfile });
  await page.goto('/offline');
  await page.evaluate((id) => window.localStorage.setItem('swapmesh.deviceId', id), registered.id);
  return registered.id as string;
}

test('a 2-minute camera rental: streamed, shown, stopped after 60 s, paid for the seconds proven', async ({ browser, baseURL }) => {
  test.setTimeout(240_000);
  const id = unique();
  const sellerContext = await device(browser, baseURL!);
  const buyerContext = await device(browser, baseURL!);
  // counts the seller's page's requests for a camera or microphone: none may happen before the seller starts
  await sellerContext.addInitScript(() => {
    const media = navigator.mediaDevices;
    const original = media.getUserMedia.bind(media);
    (window as unknown as { mediaAsks: number }).mediaAsks = 0;
    media.getUserMedia = (constraints) => {
      (window as unknown as { mediaAsks: number }).mediaAsks++;
      return original(constraints);
    };
  });
  const mediaAsks = (page: Page) => page.evaluate(() => (window as unknown as { mediaAsks: number }).mediaAsks);
  const seller = await sellerContext.newPage();
  const buyer = await buyerContext.newPage();
  const [sellerHandle, buyerHandle] = [`cam-${id}`, `viewer-${id}`];
  await member(seller, sellerHandle, 'Seller phone');
  await member(buyer, buyerHandle, 'Buyer phone');
  const slug = `stream-${id}`;
  const community = await call(seller.request, 'community.create', { name: `Stream ${id}`, slug, commissionBps: BPS, startingGrant: GRANT, inviteOnly: false });
  await call(buyer.request, 'community.join', { slug });

  // 1 device hour over a 2-minute window: the rental sells 120 s of live camera
  const now = Date.now();
  const window = { windowStart: new Date(now).toISOString(), windowEnd: new Date(now + RENTAL_MS).toISOString() };
  await call(seller.request, 'market.placeOrder', { communityId: community.id, side: 'SELL', category: 'PERIPHERAL', unit: 'DEVICE_HOUR', kind: 'STANDING', quantity: 1, price: PRICE, ...window });
  const bid = await call(buyer.request, 'market.placeOrder', { communityId: community.id, side: 'BUY', category: 'PERIPHERAL', unit: 'DEVICE_HOUR', kind: 'STANDING', quantity: 1, price: PRICE, ...window });
  const contractId: string = bid.fills[0].contractId;

  // the buyer waits on the rental's page; nothing has asked for a device yet
  await buyer.goto(`/peripherals/${contractId}`);
  await expect(buyer.getByRole('heading', { name: `Waiting for @${sellerHandle}` })).toBeVisible();

  // the seller picks the camera and starts: only now does the page capture it
  await seller.goto('/peripherals');
  await seller.getByRole('link', { name: new RegExp(`@${buyerHandle}`) }).click();
  await expect(seller.getByRole('radio', { name: 'Camera' })).toBeChecked();
  expect(await seller.evaluate(() => document.querySelectorAll('video').length)).toBe(0);
  expect(await mediaAsks(seller)).toBe(0);
  await seller.screenshot({ path: 'test-results/peripheral-seller-start.png', fullPage: true });
  await seller.getByRole('button', { name: 'Rent out my camera' }).click();
  const indicator = seller.getByTestId('sharing-indicator');
  await expect(indicator).toContainText(`Your camera is being shared with @${buyerHandle} until`);
  expect(await mediaAsks(seller)).toBe(1);

  // the buyer's page joins, connects and shows the seller's camera
  const video = buyer.getByTestId('rental-video');
  await expect(buyer.getByTestId('buyer-link')).toHaveText('Receiving live.', { timeout: 45_000 });
  await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.videoWidth), { timeout: 20_000 }).toBeGreaterThan(0);
  const streamingSince = Date.now();
  await expect(seller.getByTestId('seller-link')).toHaveText(`@${buyerHandle}'s device is receiving it.`);
  await expect(indicator).not.toContainText('waiting');
  const playedAt = await video.evaluate((v: HTMLVideoElement) => v.currentTime);
  await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 10_000 }).toBeGreaterThan(playedAt);

  // receipts arrive: the seconds proven rise on the buyer's page, live
  await expect.poll(async () => parseInt((await buyer.getByTestId('seconds-proven').textContent()) ?? '0', 10), { timeout: 20_000 }).toBeGreaterThan(0);
  await buyer.waitForTimeout(Math.max(0, streamingSince + 25_000 - Date.now()));
  await buyer.screenshot({ path: 'test-results/peripheral-buyer-viewing.png', fullPage: true });
  await seller.screenshot({ path: 'test-results/peripheral-seller-sharing.png', fullPage: true });
  // the indicator follows the seller around the app
  await seller.getByRole('link', { name: 'Trades', exact: true }).click();
  await expect(indicator).toContainText(`Your camera is being shared with @${buyerHandle}`);
  await seller.screenshot({ path: 'test-results/peripheral-seller-indicator-elsewhere.png', fullPage: true });

  // after 60 s of stream the seller stops from the indicator: the camera goes off and the contract settles
  await seller.waitForTimeout(Math.max(0, streamingSince + STREAM_MS - Date.now()));
  await indicator.getByRole('button', { name: 'Stop' }).click();
  await expect(indicator).toHaveCount(0);
  await expect(buyer.getByTestId('rental-ended')).toBeVisible({ timeout: 20_000 });
  await expect(buyer.getByTestId('rental-ended')).toContainText('the seller stopped');
  await buyer.screenshot({ path: 'test-results/peripheral-buyer-ended.png', fullPage: true });

  const rental = (await call(seller.request, 'peripheral.get', { contractId }, 'GET')).rental;
  expect(rental).toMatchObject({ state: 'ENDED', endedBy: 'SELLER', wholeMs: RENTAL_MS });
  console.info(`proven ${rental.provenMs} ms of ${STREAM_MS} ms streamed (receipt interval ${RECEIPT_INTERVAL_MS} ms)`);
  // ~60 s, within the receipt interval (the buyer's device reports its last seconds when the stream drops)
  expect(rental.provenMs).toBeGreaterThanOrEqual(STREAM_MS - RECEIPT_INTERVAL_MS);
  expect(rental.provenMs).toBeLessThanOrEqual(STREAM_MS + RECEIPT_INTERVAL_MS);

  const contract = await call(seller.request, 'contract.get', { contractId }, 'GET');
  expect(contract.state).toBe('SETTLED');
  const amounts = fillAmounts(1, PRICE, BPS);
  const paid = proRataAmounts(amounts.buyerPays, amounts.buyerPays - amounts.sellerGets, rental.provenMs, RENTAL_MS);
  expect(await call(seller.request, 'ledger.balance', { communityId: community.id }, 'GET')).toEqual({ available: GRANT + paid.sellerGets, escrow: 0 });
  expect(await call(buyer.request, 'ledger.balance', { communityId: community.id }, 'GET')).toEqual({ available: GRANT - paid.paid, escrow: 0 });
  expect(await ledgerSums(community.id)).toEqual({ balances: 0, postings: 0 });

  await seller.goto(`/peripherals/${contractId}`);
  await expect(seller.getByTestId('rental-ended')).toContainText('You are paid for');
  await seller.screenshot({ path: 'test-results/peripheral-seller-ended.png', fullPage: true });
  await sellerContext.close();
  await buyerContext.close();
});

test('a microphone rental: the buyer hears it and ends it; paid for the seconds of sound proven', async ({ browser, baseURL }) => {
  test.setTimeout(180_000);
  const id = unique();
  const sellerContext = await device(browser, baseURL!);
  const buyerContext = await device(browser, baseURL!);
  const seller = await sellerContext.newPage();
  const buyer = await buyerContext.newPage();
  const [sellerHandle, buyerHandle] = [`mic-${id}`, `ear-${id}`];
  await member(seller, sellerHandle, 'Seller phone');
  await member(buyer, buyerHandle, 'Buyer phone');
  const slug = `sound-${id}`;
  const community = await call(seller.request, 'community.create', { name: `Sound ${id}`, slug, commissionBps: BPS, startingGrant: GRANT, inviteOnly: false });
  await call(buyer.request, 'community.join', { slug });
  const now = Date.now();
  const window = { windowStart: new Date(now).toISOString(), windowEnd: new Date(now + RENTAL_MS).toISOString() };
  await call(seller.request, 'market.placeOrder', { communityId: community.id, side: 'SELL', category: 'PERIPHERAL', unit: 'DEVICE_HOUR', kind: 'STANDING', quantity: 1, price: PRICE, ...window });
  const bid = await call(buyer.request, 'market.placeOrder', { communityId: community.id, side: 'BUY', category: 'PERIPHERAL', unit: 'DEVICE_HOUR', kind: 'STANDING', quantity: 1, price: PRICE, ...window });
  const contractId: string = bid.fills[0].contractId;

  await seller.goto(`/peripherals/${contractId}`);
  await seller.getByRole('radio', { name: 'Microphone' }).check();
  await seller.getByRole('button', { name: 'Rent out my microphone' }).click();
  await expect(seller.getByTestId('sharing-indicator')).toContainText(`Your microphone is being shared with @${buyerHandle}`);

  await buyer.goto(`/peripherals/${contractId}`);
  await expect(buyer.getByTestId('buyer-link')).toHaveText('Receiving live.', { timeout: 45_000 });
  // the seller moves on to another screen while sharing
  await seller.getByRole('link', { name: 'Market', exact: true }).click();
  await expect(seller.getByTestId('sharing-indicator')).toContainText('Your microphone is being shared');
  await expect.poll(async () => parseInt((await buyer.getByTestId('seconds-proven').textContent()) ?? '0', 10), { timeout: 30_000 }).toBeGreaterThanOrEqual(10);
  await buyer.screenshot({ path: 'test-results/peripheral-buyer-listening.png', fullPage: true });
  await buyer.getByRole('button', { name: 'End the rental' }).click();
  await expect(buyer.getByTestId('rental-ended')).toContainText('the buyer ended it');
  // the seller's device stops sharing by itself, on whatever screen it is
  await expect(seller.getByTestId('sharing-indicator')).toHaveCount(0, { timeout: 20_000 });
  expect(await seller.evaluate(() => location.pathname)).toBe('/market');

  const rental = (await call(buyer.request, 'peripheral.get', { contractId }, 'GET')).rental;
  expect(rental).toMatchObject({ state: 'ENDED', endedBy: 'BUYER', kind: 'MICROPHONE' });
  expect(rental.provenMs).toBeGreaterThanOrEqual(10_000);
  const amounts = fillAmounts(1, PRICE, BPS);
  const paid = proRataAmounts(amounts.buyerPays, amounts.buyerPays - amounts.sellerGets, rental.provenMs, RENTAL_MS);
  expect(await call(seller.request, 'ledger.balance', { communityId: community.id }, 'GET')).toEqual({ available: GRANT + paid.sellerGets, escrow: 0 });
  expect(await call(buyer.request, 'ledger.balance', { communityId: community.id }, 'GET')).toEqual({ available: GRANT - paid.paid, escrow: 0 });
  expect(await ledgerSums(community.id)).toEqual({ balances: 0, postings: 0 });
  await sellerContext.close();
  await buyerContext.close();
});
