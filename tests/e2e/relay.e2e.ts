/**
 * A relayed transfer end to end, in three Chromium contexts: the buyer of a network contract (MB) sends a file
 * through the seller's device to a third member's device. The two ends agree a key the relay cannot swap and
 * move AES-GCM frames through it; the receiver checks the file's SHA-256; both ends' receipts settle the
 * contract for the bytes both confirm, and the relay is paid for them. The bytes the relay's page carried are
 * checked to hold none of the file's plaintext.
 */
import { createHash, randomBytes } from 'node:crypto';
import { expect, test } from '@playwright/test';
import { fillAmounts } from '@/server/market/commission';
import { proRataAmounts } from '@/server/market/contract-state';
import { call, expectCiphertextOnly, ledgerSums, memberWithDevice, unique, webrtcContext } from './support';

test.use({
  viewport: { width: 412, height: 915 },
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
    ],
  },
});

const CREDIT = 1_000_000;
const BPS = 200;
const GRANT = 100 * CREDIT;
const PRICE = CREDIT; // per MB
const QUANTITY = 5; // MB
const FILE_BYTES = 1_500_000;

test('a file relayed between two members through a third: encrypted on the way, verified on arrival, the relay paid for the bytes both ends confirm', async ({ browser, baseURL }) => {
  test.setTimeout(240_000);
  const id = unique();
  const [relayContext, senderContext, receiverContext] = [await webrtcContext(browser, baseURL!), await webrtcContext(browser, baseURL!), await webrtcContext(browser, baseURL!)];
  const [relay, sender, receiver] = [await relayContext.newPage(), await senderContext.newPage(), await receiverContext.newPage()];
  const [relayHandle, senderHandle, receiverHandle] = [`relay-${id}`, `send-${id}`, `recv-${id}`];
  await memberWithDevice(relay, relayHandle, 'Relay phone');
  await memberWithDevice(sender, senderHandle, 'Sender phone');
  const receiverDevice = await memberWithDevice(receiver, receiverHandle, 'Receiver phone');
  const slug = `relay-${id}`;
  const community = await call(relay.request, 'community.create', { name: `Relay ${id}`, slug, commissionBps: BPS, startingGrant: GRANT, inviteOnly: false });
  await call(sender.request, 'community.join', { slug });
  await call(receiver.request, 'community.join', { slug });
  // the receiving device has been seen (it is offered first in the list)
  await receiver.goto('/relay');
  await expect(receiver.getByRole('heading', { name: 'Relays' })).toBeVisible();

  const now = Date.now();
  const span = { windowStart: new Date(now).toISOString(), windowEnd: new Date(now + 30 * 60_000).toISOString() };
  await call(relay.request, 'market.placeOrder', { communityId: community.id, side: 'SELL', category: 'NETWORK', unit: 'MB', kind: 'STANDING', quantity: QUANTITY, price: PRICE, ...span });
  const bid = await call(sender.request, 'market.placeOrder', { communityId: community.id, side: 'BUY', category: 'NETWORK', unit: 'MB', kind: 'STANDING', quantity: QUANTITY, price: PRICE, ...span });
  const contractId: string = bid.fills[0].contractId;

  // the buyer starts from the contract
  await sender.goto(`/contracts/${contractId}`);
  await sender.getByRole('link', { name: `Send a file through @${relayHandle} to…` }).click();
  await expect(sender.getByRole('heading', { name: `Send a file through @${relayHandle} to…` })).toBeVisible();
  await sender.getByRole('radio', { name: new RegExp(`@${receiverHandle}`) }).check();
  await sender.screenshot({ path: 'test-results/relay-sender-choose.png', fullPage: true });
  await sender.getByRole('button', { name: 'Open the relay' }).click();
  await expect(sender.getByRole('heading', { name: 'Sending through a relay' })).toBeVisible();
  const sessionId = sender.url().split('/').pop()!;

  // the relay's device is told and serves; the receiver opens it from their relays
  await relay.goto('/relay');
  await relay.getByRole('link', { name: new RegExp(`Relaying @${senderHandle} → @${receiverHandle}`) }).click();
  await expect(relay.getByTestId('relay-indicator')).toContainText(`Relaying for @${senderHandle} → @${receiverHandle}`);
  await receiver.goto('/relay');
  await receiver.getByRole('link', { name: new RegExp(`Receiving from @${senderHandle}`) }).click();
  await expect(receiver.getByTestId('relay-link')).toHaveText('Connected, end to end encrypted.', { timeout: 60_000 });
  await expect(sender.getByTestId('relay-link')).toHaveText('Connected, end to end encrypted.', { timeout: 30_000 });

  // the seller moves on to another screen: the device keeps relaying, and a bar on every screen says for whom
  await relay.getByRole('link', { name: 'Trades', exact: true }).click();
  const bar = relay.getByTestId('relay-indicator-bar');
  await expect(bar).toContainText(`Relaying for @${senderHandle} → @${receiverHandle}`);

  // the sender picks a file and sends it
  const file = randomBytes(FILE_BYTES);
  const sha256 = createHash('sha256').update(file).digest('hex');
  await sender.getByLabel('File to send').setInputFiles({ name: 'field-notes.bin', mimeType: 'application/octet-stream', buffer: file });
  const sentAt = Date.now();
  await sender.getByRole('button', { name: 'Send through the relay' }).click();
  await expect(receiver.getByTestId('relay-verified')).toBeVisible({ timeout: 60_000 });
  const seconds = (Date.now() - sentAt) / 1000;
  console.info(`relayed ${FILE_BYTES} bytes, encrypted, in ${seconds.toFixed(2)} s (${(FILE_BYTES / 1e6 / seconds).toFixed(2)} MB/s, click to verified hash, polled)`);
  await expect(receiver.getByTestId('relay-sha256')).toHaveText(sha256);
  await expect(sender.getByTestId('relay-delivered')).toBeVisible({ timeout: 20_000 });
  // the receiver saves exactly the file
  const [download] = await Promise.all([receiver.waitForEvent('download'), receiver.getByRole('link', { name: 'Save field-notes.bin' }).click()]);
  const saved = await download.createReadStream().then(async (stream) => {
    const parts: Buffer[] = [];
    for await (const part of stream) parts.push(part as Buffer);
    return Buffer.concat(parts);
  });
  expect(createHash('sha256').update(saved).digest('hex')).toBe(sha256);

  await expect(bar).toContainText('1.5 MB');
  await relay.screenshot({ path: 'test-results/relay-relay-elsewhere.png', fullPage: true });
  await bar.click();
  await expect(relay.getByTestId('relay-indicator')).toBeVisible();
  await expect(relay.getByTestId('relay-forwarded')).toContainText('1.5 MB');

  // both ends' receipts reach the coordinator: the relay's page shows what both confirm
  await expect.poll(async () => (await call(relay.request, 'relay.get', { sessionId }, 'GET')).provenBytes, { timeout: 20_000 }).toBe(FILE_BYTES);
  await expect(relay.getByTestId('relay-proven')).toContainText('1.5 MB');
  await relay.screenshot({ path: 'test-results/relay-relay-page.png', fullPage: true });
  await receiver.screenshot({ path: 'test-results/relay-receiver-verified.png', fullPage: true });
  await sender.screenshot({ path: 'test-results/relay-sender-delivered.png', fullPage: true });

  // the relay's page carried ciphertext only: every frame differs from the file, and no 32-byte run of the file is in it
  const relayed = await expectCiphertextOnly(relay, file);
  expect(relayed.indexOf(Buffer.from('field-notes.bin'))).toBe(-1);

  // the buyer ends the relay: the contract settles for the 1.5 MB both ends confirmed, of 5 MB
  await sender.getByRole('button', { name: 'End the relay' }).click();
  await expect(sender.getByTestId('relay-ended')).toBeVisible({ timeout: 20_000 });
  await expect(relay.getByTestId('relay-ended')).toContainText('you are paid', { timeout: 20_000 });
  await expect(bar).toHaveCount(0);
  await relay.screenshot({ path: 'test-results/relay-relay-ended.png', fullPage: true });
  const contract = await call(sender.request, 'contract.get', { contractId }, 'GET');
  expect(contract.state).toBe('SETTLED');
  const amounts = fillAmounts(QUANTITY, PRICE, BPS);
  const paid = proRataAmounts(amounts.buyerPays, amounts.buyerPays - amounts.sellerGets, FILE_BYTES, QUANTITY * 1_000_000);
  expect(await call(relay.request, 'ledger.balance', { communityId: community.id }, 'GET')).toEqual({ available: GRANT + paid.sellerGets, escrow: 0 });
  expect(await call(sender.request, 'ledger.balance', { communityId: community.id }, 'GET')).toEqual({ available: GRANT - paid.paid, escrow: 0 });
  expect(await call(receiver.request, 'ledger.balance', { communityId: community.id }, 'GET')).toEqual({ available: GRANT, escrow: 0 });
  expect(await ledgerSums(community.id)).toEqual({ balances: 0, postings: 0 });
  expect(receiverDevice).toBeTruthy();
  for (const c of [relayContext, senderContext, receiverContext]) await c.close();
});
