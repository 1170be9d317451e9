/**
 * Home on a phone: the to-do inbox, notifications that reach the member on any screen, the first steps, a
 * community created from Home and its invitation (a link and a QR code that a second browser opens to join),
 * and the last known Home offline.
 */
import { createHash } from 'node:crypto';
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import QRCode from 'qrcode';
import { phoneProfile } from '../support/fixtures';
import { call, PASSWORD, signUpInBrowser, unique } from './support';

const CHUNK = 64 * 1024;
const HOUR = 3_600_000;
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function header(title: string, size: number) {
  const bytes = Buffer.alloc(size, 9);
  const chunkHashes: string[] = [];
  for (let at = 0; at < size; at += CHUNK) chunkHashes.push(sha(bytes.subarray(at, at + CHUNK)));
  return { title, description: 'Photos from the trip', audience: 'friends', purpose: 'memories', environment: 'any viewer', mediaType: 'image/jpeg', sizeBytes: size, sha256: sha(bytes), chunkSize: CHUNK, chunkHashes };
}

/** One time window for every order of the file: an ask covers a bid's window when they are the same. */
const WINDOW = { windowStart: new Date(Date.now() - 60_000).toISOString(), windowEnd: new Date(Date.now() + 2 * HOUR).toISOString() };

/** Waits until the service worker controls the page (the app's pages are then saved for offline use). */
async function waitForServiceWorker(page: Page) {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? null)).toMatch(/\/sw\.js$/);
}

declare global {
  interface Window {
    /** the member events this page's hub delivered, by order id (orders) or type (the rest) */
    __seen?: string[];
  }
}

/**
 * Opens a screen and waits until its live stream delivers what happens from now on: an order placed and cancelled
 * meanwhile reaches the page's hub (app/_lib/live-hub.ts; the page is in debug mode, which exposes it).
 */
async function visit(page: Page, path: string, communityId: string) {
  await page.goto(path);
  await expect.poll(() => page.evaluate(() => Boolean(window.__swapmeshLive))).toBe(true);
  await page.evaluate(() => {
    const seen: string[] = (window.__seen = []);
    window.__swapmeshLive!.watchEvents((event) => seen.push(event.type === 'order' ? event.orderId : event.type));
  });
  await expect(async () => {
    const order = await call(page.request, 'market.placeOrder', { communityId, side: 'BUY', category: 'MEMORY', unit: 'MB_HOUR', quantity: 1, price: 1_000, kind: 'STANDING', ...WINDOW });
    await call(page.request, 'market.cancelOrder', { orderId: order.order.id });
    await expect.poll(() => page.evaluate((id) => window.__seen?.includes(id) ?? false, order.order.id as string), { timeout: 3_000 }).toBe(true);
  }).toPass({ timeout: 30_000 });
}

async function member(api: APIRequestContext, handle: string) {
  return (await call(api, 'auth.signUp', { handle, password: PASSWORD })).member as { id: string; handle: string };
}

test('onboarding, a community created from Home, and an invitation link and QR code that a second phone opens to join', async ({ browser }) => {
  const id = unique();
  const founderContext = await browser.newContext();
  const founder = await founderContext.newPage();
  await signUpInBrowser(founder, `host-${id}`);

  // the first steps, none done yet, and what a credit buys
  const steps = founder.getByTestId('onboarding');
  await expect(steps.getByRole('heading', { name: 'Get started' })).toBeVisible();
  await expect(steps.locator('li[data-done="false"]')).toHaveCount(3);
  await expect(steps).toContainText('Measure this device');
  await expect(steps).toContainText('Join or create a community');
  await expect(steps).toContainText('Donate, trade or swap');
  await expect(founder.getByTestId('credit-worth')).toContainText('What a credit buys');
  await expect(founder.getByTestId('inbox-empty')).toBeVisible();
  await founder.screenshot({ path: test.info().outputPath('home-onboarding.png'), fullPage: true });

  // create a community right from Home
  await steps.getByRole('button', { name: 'Create one' }).click();
  await founder.getByLabel('Community name').fill(`Garden ${id}`);
  await expect(founder.getByLabel('Only people I invite (by link or QR code)')).toBeChecked();
  await founder.screenshot({ path: test.info().outputPath('home-create.png'), fullPage: true });
  await founder.getByRole('button', { name: 'Create and invite people' }).click();
  const slug = `garden-${id}`.toLowerCase();
  await expect(founder).toHaveURL(new RegExp(`/communities/${slug}$`));
  await expect(founder.getByRole('heading', { name: `Garden ${id}` })).toBeVisible();

  // the invitation: a link carrying the code, and a QR code of exactly that link
  const invite = founder.getByTestId('invite');
  const link = await invite.getByTestId('invite-link').inputValue();
  const code = (await invite.getByTestId('invite-code').textContent())!.trim();
  expect(link).toBe(`${new URL(founder.url()).origin}/communities/join?c=${slug}&code=${code}`);
  await expect(invite.getByTestId('invite-qr').locator('svg')).toBeVisible();
  // the modules drawn are those of a QR code of the link
  const expected = /stroke="#000000" d="([^"]+)"/.exec(await QRCode.toString(link, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' }))![1];
  expect(await invite.getByTestId('invite-qr').locator('path[stroke]').getAttribute('d')).toBe(expected);
  await invite.scrollIntoViewIfNeeded();
  await founder.screenshot({ path: test.info().outputPath('community-invite.png'), fullPage: true });

  // a second phone, signed out, opens the link: it says what the community is, signs up and comes back to join
  const guestContext = await browser.newContext();
  const guest = await guestContext.newPage();
  await guest.goto(link);
  const invitation = guest.getByTestId('invitation');
  await expect(invitation.getByRole('heading', { name: `Garden ${id}` })).toBeVisible();
  await expect(invitation).toContainText('100.00 credits for you when you join');
  await guest.screenshot({ path: test.info().outputPath('join-signed-out.png'), fullPage: true });
  await invitation.getByRole('link', { name: 'Create an account to join' }).click();
  await guest.getByLabel('Handle').fill(`guest-${id}`);
  await guest.getByLabel('Password').fill(PASSWORD);
  await guest.getByRole('button', { name: 'Create your account' }).click();
  await expect(guest).toHaveURL(/\/communities\/join\?c=/);
  await guest.screenshot({ path: test.info().outputPath('join-signed-in.png'), fullPage: true });
  await guest.getByRole('button', { name: `Join Garden ${id} as @guest-${id}` }).click();
  await expect(guest).toHaveURL(new RegExp(`/communities/${slug}$`));
  await expect(guest.getByTestId('balance-available')).toHaveText('100.00 credits');

  // the same link again: already a member
  await guest.goto(link);
  await expect(guest.getByText('You are already a member.')).toBeVisible();

  // a link with a wrong code is refused with a reason
  const stranger = await browser.newContext();
  const strangerPage = await stranger.newPage();
  await call(strangerPage.request, 'auth.signUp', { handle: `stranger-${id}`, password: PASSWORD });
  await strangerPage.goto(`/communities/join?c=${slug}&code=WRONG000`);
  await strangerPage.getByRole('button', { name: /^Join Garden/ }).click();
  await expect(strangerPage.getByRole('alert').filter({ hasText: 'invite code is not right' })).toBeVisible();

  // back on the founder's Home, step two is done
  await founder.getByRole('link', { name: 'Home', exact: true }).click();
  await expect(founder.getByTestId('onboarding').locator('li[data-done="true"]')).toHaveCount(1);
  await expect(founder.getByTestId('balance-available')).toHaveText('100.00 credits');
  await Promise.all([founderContext.close(), guestContext.close(), stranger.close()]);
});

test('the inbox lists what waits on me, and fills, gifts and counter-offers raise a toast with a link on any screen', async ({ browser }) => {
  test.setTimeout(120_000);
  const id = unique();
  const slug = `inbox-${id}`;
  const sellerContext = await browser.newContext();
  const buyerContext = await browser.newContext();
  const seller = await sellerContext.newPage();
  const buyer = await buyerContext.newPage();
  const sellerMember = await member(seller.request, `seller-${id}`);
  await member(buyer.request, `buyer-${id}`);
  const community = await call(seller.request, 'community.create', { name: `Inbox ${id}`, slug, commissionBps: 200, startingGrant: 100_000_000, inviteOnly: false });
  await call(buyer.request, 'community.join', { slug });
  const { device: sellerDevice } = await call(seller.request, 'device.register', { name: 'seller phone', profile: phoneProfile });
  const { device: buyerDevice } = await call(buyer.request, 'device.register', { name: 'Pixel', profile: phoneProfile });
  await buyer.goto('/');
  await buyer.evaluate((deviceId) => {
    localStorage.setItem('swapmesh.deviceId', deviceId);
    localStorage.setItem('swapmesh.debug', '1');
  }, buyerDevice.id);

  // the buyer is on another screen (Device) when a resting bid of theirs fills
  await call(buyer.request, 'market.placeOrder', { communityId: community.id, side: 'BUY', category: 'FILE', unit: 'ITEM', quantity: 3, price: 2_000_000, kind: 'STANDING', ...WINDOW });
  await visit(buyer, '/device', community.id);
  const sold = await call(seller.request, 'market.placeOrder', { communityId: community.id, side: 'SELL', category: 'FILE', unit: 'ITEM', quantity: 3, price: 2_000_000, kind: 'STANDING', deviceId: sellerDevice.id, ...WINDOW });
  const contractId = sold.fills[0].contractId as string;
  const fillToast = buyer.getByTestId('toast').filter({ hasText: 'Bought 3 units of files at 2.00 credits each' });
  await expect(fillToast).toBeVisible();
  await buyer.screenshot({ path: test.info().outputPath('toast-fill.png') });
  await fillToast.getByRole('link', { name: 'Open' }).click();
  await expect(buyer).toHaveURL(new RegExp(`/contracts/${contractId}$`));

  // a gift arrives while the buyer is on Barter
  await visit(buyer, '/barter', community.id);
  await call(seller.request, 'content.give', { deviceId: sellerDevice.id, toDeviceId: buyerDevice.id, header: header('Holiday photos', 150_000) });
  const giftToast = buyer.getByTestId('toast').filter({ hasText: `@seller-${id} sent you “Holiday photos”` });
  await expect(giftToast).toBeVisible();
  // the badge on Home counts it, without a reload
  await expect(buyer.getByTestId('badge-home')).toHaveText('1');
  await expect(buyer.getByTestId('badge-files')).toHaveText('1');
  await buyer.screenshot({ path: test.info().outputPath('toast-gift.png') });
  await giftToast.getByRole('link', { name: 'Take it' }).click();
  await expect(buyer).toHaveURL(/\/content\/nearby$/);
  await expect(buyer.getByText('Holiday photos').first()).toBeVisible();

  // a hand negotiation: the seller's counter-offer reaches the buyer on the Market screen
  await call(seller.request, 'market.placeOrder', { communityId: community.id, side: 'SELL', category: 'NETWORK', unit: 'MB', quantity: 10, price: 10_000_000, kind: 'STANDING', negotiation: { mode: 'MANUAL', limit: null }, ...WINDOW });
  const bid = await call(buyer.request, 'market.placeOrder', { communityId: community.id, side: 'BUY', category: 'NETWORK', unit: 'MB', quantity: 4, price: 6_000_000, kind: 'STANDING', negotiation: { mode: 'MANUAL', limit: null }, ...WINDOW });
  await call(buyer.request, 'negotiation.counter', { negotiationId: bid.negotiationId, price: 7_000_000 });
  await visit(buyer, '/market/jobs', community.id);
  await call(seller.request, 'negotiation.counter', { negotiationId: bid.negotiationId, price: 9_000_000 });
  const counterToast = buyer.getByTestId('toast').filter({ hasText: 'New counter-offer on one of your negotiations' });
  await expect(counterToast).toBeVisible();
  await counterToast.getByRole('link', { name: 'Answer' }).click();
  await expect(buyer).toHaveURL(/\/trades$/);

  // the seller delivers: the buyer's Home lists the sign-off, the gift and the counter-offer
  await call(seller.request, 'contract.reportDelivered', { contractId });
  await buyer.getByRole('link', { name: 'Home', exact: true }).click();
  const inbox = buyer.getByTestId('inbox');
  await expect(inbox.getByTestId('todo-signoff')).toContainText('Sign off 3 items of files');
  await expect(inbox.getByTestId('todo-signoff')).toContainText(`Delivered by @seller-${id} · 6.00 credits`);
  await expect(inbox.getByTestId('todo-gift')).toContainText(`@seller-${id} sent you “Holiday photos”`);
  await expect(inbox.getByTestId('todo-gift')).toContainText('150 kB · a gift to Pixel');
  await expect(inbox.getByTestId('todo-negotiation')).toContainText(`@seller-${id} offers 9.00 per MB`);
  await expect(buyer.getByTestId('badge-home')).toHaveText('3');
  await buyer.screenshot({ path: test.info().outputPath('home-inbox-buyer.png'), fullPage: true });
  await inbox.getByTestId('todo-signoff').getByRole('link').click();
  await expect(buyer).toHaveURL(new RegExp(`/contracts/${contractId}$`));

  // the seller's Home: nothing of the buyer's; after the sign-off, what the seller's phone earned today
  await seller.goto('/');
  await expect(seller.getByRole('heading', { name: `Hi @${sellerMember.handle}` })).toBeVisible();
  await expect(seller.getByTestId('todo-gift')).toHaveCount(0);
  await expect(seller.getByTestId('todo-signoff')).toHaveCount(0);
  await call(buyer.request, 'contract.signOff', { contractId });
  await seller.reload();
  await expect(seller.getByTestId('earned-today')).toContainText('5.94 credits paid');
  await expect(seller.getByTestId('earned-today')).toContainText('seller phone');
  await seller.screenshot({ path: test.info().outputPath('home-inbox-seller.png'), fullPage: true });
  await Promise.all([sellerContext.close(), buyerContext.close()]);
});

test('offline, a signed-in member sees their last known Home, marked with when it was', async ({ browser }) => {
  const id = unique();
  const context = await browser.newContext();
  const page = await context.newPage();
  await member(page.request, `away-${id}`);
  const other = await browser.newContext();
  await member(other.request, `peer-${id}`);
  const community = await call(page.request, 'community.create', { name: `Harbour ${id}`, slug: `harbour-${id}`, commissionBps: 200, startingGrant: 50_000_000, inviteOnly: false });
  await call(other.request, 'community.join', { slug: `harbour-${id}` });
  await call(other.request, 'market.placeOrder', { communityId: community.id, side: 'SELL', category: 'FILE', unit: 'ITEM', quantity: 2, price: 1_000_000, kind: 'STANDING', ...WINDOW });
  await call(page.request, 'market.placeOrder', { communityId: community.id, side: 'BUY', category: 'FILE', unit: 'ITEM', quantity: 2, price: 1_000_000, kind: 'STANDING', ...WINDOW });
  const [contract] = (await call(other.request, 'contract.list', { limit: 1 }, 'GET')).items;
  await call(other.request, 'contract.reportDelivered', { contractId: contract.id });

  await page.goto('/');
  await expect(page.getByTestId('todo-signoff')).toContainText('Sign off 2 items of files');
  await expect(page.getByTestId('balance-available')).toHaveText('47.98 credits');
  await waitForServiceWorker(page);
  const savedAt = await page.evaluate(() => JSON.parse(localStorage.getItem(`swapmesh.home.v1.${localStorage.getItem('swapmesh.home.last')}`)!).savedAt as string);

  await context.setOffline(true);
  try {
    const response = await page.reload();
    expect(response?.fromServiceWorker()).toBe(true);
    const marker = page.getByTestId('last-known');
    const asOf = await page.evaluate((iso) => new Intl.DateTimeFormat(undefined, { timeStyle: 'short' }).format(new Date(iso)), savedAt);
    await expect(marker).toHaveText(`Offline — as of ${asOf}`);
    await expect(page.getByRole('heading', { name: `Hi @away-${id}` })).toBeVisible();
    await expect(page.getByTestId('todo-signoff')).toContainText('Sign off 2 items of files');
    await expect(page.getByTestId('balance-available')).toHaveText('47.98 credits');
    await expect(page.getByText('held in escrow')).toContainText('2.02 held in escrow');
    // the signed-out landing page is not what a member sees offline
    await expect(page.getByRole('link', { name: 'Create an account' })).toHaveCount(0);
    await page.screenshot({ path: test.info().outputPath('home-offline.png'), fullPage: true });
  } finally {
    await context.setOffline(false);
  }
  // back online, the marker goes once Home is read again
  await page.reload();
  await expect(page.getByTestId('todo-signoff')).toBeVisible();
  await expect(page.getByTestId('last-known')).toHaveCount(0);

  // signing out forgets the saved Home on this device
  await page.getByRole('link', { name: 'Account', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('link', { name: 'Create an account' })).toBeVisible();
  expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('swapmesh.home')))).toEqual([]);
  await Promise.all([context.close(), other.close()]);
});
