/**
 * The patent's first barter example run end to end in Chromium with its legs delivered: the coordinator posts the
 * community pool's offer of network access for compute from the pool screen, a member takes it on the barter
 * screen, and then
 * - the network leg (pool → member) is delivered by a relayed transfer: the member sends a file through the
 *   coordinator's device to a third member, encrypted end to end, and the leg settles from both ends' receipts;
 * - the compute leg (member → pool) is spent by a job the coordinator starts from the contract's page, which only
 *   the member's donating page computes, and the leg settles from the validated units.
 * Each leg settles once from its own proofs, and the community's ledger sums to zero.
 */
import { createHash, randomBytes } from 'node:crypto';
import { expect, test } from '@playwright/test';
import { call, ledgerSums, memberWithDevice, PASSWORD, unique, webrtcContext } from './support';

const GRANT = 100_000_000;
const FILE_BYTES = 600_000;

test('patent example 1 delivered: network access from the pool for a member’s compute, the network leg relayed, the compute leg spent by a job the member’s page computes', async ({ browser, baseURL }) => {
  test.setTimeout(300_000);
  const id = unique();
  const [coordContext, memberContext, friendContext] = [await webrtcContext(browser, baseURL!), await webrtcContext(browser, baseURL!), await webrtcContext(browser, baseURL!)];
  const [coord, m, friend] = [await coordContext.newPage(), await memberContext.newPage(), await friendContext.newPage()];
  const [coordHandle, memberHandle, friendHandle] = [`pool-${id}`, `donor-${id}`, `friend-${id}`];
  await memberWithDevice(coord, coordHandle, 'Coordinator phone');
  await memberWithDevice(friend, friendHandle, 'Friend phone');
  const slug = `patent-${id}`;
  const community = await call(coord.request, 'community.create', { name: `Patent ${id}`, slug, commissionBps: 200, startingGrant: GRANT, inviteOnly: false });
  await call(friend.request, 'community.join', { slug });
  // the member registers this browser by measuring it, as a donor does
  await call(m.request, 'auth.signUp', { handle: memberHandle, password: PASSWORD });
  await call(m.request, 'community.join', { slug });
  await m.goto('/device');
  await m.getByRole('button', { name: 'Measure and register' }).click();
  const panel = m.getByTestId('donate-panel');
  await expect(panel).toBeVisible({ timeout: 60_000 });

  // the coordinator posts the pool's own offer from the pool screen: network access for compute
  await coord.goto(`/communities/${slug}/coordinator/pool`);
  const offers = coord.getByTestId('pool-offers');
  await offers.getByTestId('offer-preset').selectOption('network-compute');
  await offers.getByRole('button', { name: 'Post from the pool…' }).click();
  await expect(coord.getByTestId('offer-confirm')).toContainText('10 work units of compute');
  await coord.getByTestId('offer-confirm').getByRole('button', { name: 'Confirm' }).click();
  await expect(coord.getByTestId('offer-outcome')).toContainText('Posted from the pool');

  // the member takes it on the barter screen: it closes into two legs
  await m.goto('/barter');
  await m.getByTestId('barter-offers').locator('li', { hasText: '(community pool)' }).getByRole('button', { name: 'Take this offer' }).click();
  await m.getByRole('button', { name: 'Post offer' }).click();
  await expect(m.getByTestId('barter-result')).toHaveText('Matched and closed: the legs are now contracts in Trades.');
  await m.screenshot({ path: 'test-results/barter-delivered-closed.png', fullPage: true });
  const { items } = await call(m.request, 'contract.list', { communityId: community.id }, 'GET');
  const network = items.find((c: { category: string }) => c.category === 'NETWORK');
  const compute = items.find((c: { category: string }) => c.category === 'COMPUTE');
  // open (matched, or active once the sweep saw its window open)
  expect(network).toMatchObject({ unit: 'MB', state: expect.stringMatching(/^(MATCHED|ACTIVE)$/) });
  expect(compute).toMatchObject({ unit: 'WORK_UNIT', quantity: 10, state: expect.stringMatching(/^(MATCHED|ACTIVE)$/) });

  // the network leg: its page says how it is delivered; the member sends a file through the coordinator's device
  await m.goto(`/contracts/${network.id}`);
  await expect(m.getByTestId('delivered-by-app')).toContainText('encrypted end to end');
  await expect(m.getByRole('button', { name: 'I have delivered' })).toHaveCount(0);
  await m.screenshot({ path: 'test-results/barter-delivered-network-leg.png', fullPage: true });
  await friend.goto('/relay');
  await expect(friend.getByRole('heading', { name: 'Relays' })).toBeVisible();
  await m.getByRole('link', { name: `Send a file through @${coordHandle} to…` }).click();
  await m.getByRole('radio', { name: new RegExp(`@${friendHandle}`) }).check();
  await m.getByRole('button', { name: 'Open the relay' }).click();
  await expect(m.getByRole('heading', { name: 'Sending through a relay' })).toBeVisible();
  const sessionId = m.url().split('/').pop()!;
  await coord.goto('/relay');
  await coord.getByRole('link', { name: new RegExp(`Relaying @${memberHandle} → @${friendHandle}`) }).click();
  await friend.goto('/relay');
  await friend.getByRole('link', { name: new RegExp(`Receiving from @${memberHandle}`) }).click();
  await expect(friend.getByTestId('relay-link')).toHaveText('Connected, end to end encrypted.', { timeout: 60_000 });
  await expect(m.getByTestId('relay-link')).toHaveText('Connected, end to end encrypted.', { timeout: 30_000 });
  const file = randomBytes(FILE_BYTES);
  const sha256 = createHash('sha256').update(file).digest('hex');
  await m.getByLabel('File to send').setInputFiles({ name: 'patent-notes.bin', mimeType: 'application/octet-stream', buffer: file });
  await m.getByRole('button', { name: 'Send through the relay' }).click();
  await expect(friend.getByTestId('relay-verified')).toBeVisible({ timeout: 60_000 });
  await expect(friend.getByTestId('relay-sha256')).toHaveText(sha256);
  await expect.poll(async () => (await call(m.request, 'relay.get', { sessionId }, 'GET')).provenBytes, { timeout: 20_000 }).toBe(FILE_BYTES);
  // the relay carried ciphertext only
  const relayed = Buffer.from(
    await coord.evaluate(() => {
      let binary = '';
      for (const frame of window.__swapmeshRelayed ?? []) for (let i = 0; i < frame.length; i += 8192) binary += String.fromCharCode(...frame.subarray(i, i + 8192));
      return btoa(binary);
    }),
    'base64',
  );
  expect(relayed.length).toBeGreaterThan(FILE_BYTES);
  for (let at = 0; at + 32 <= file.length; at += 50_000) expect(relayed.indexOf(file.subarray(at, at + 32))).toBe(-1);
  await m.getByRole('button', { name: 'End the relay' }).click();
  await expect(m.getByTestId('relay-ended')).toBeVisible({ timeout: 20_000 });
  const networkSettled = await call(m.request, 'contract.get', { contractId: network.id }, 'GET');
  expect(networkSettled.state).toBe('SETTLED');
  expect(networkSettled.events.at(-1)).toMatchObject({ action: 'SETTLE_PROVEN' });

  // the compute leg: the coordinator spends it by a job started from its page; only the member's page computes it
  await coord.goto(`/contracts/${compute.id}`);
  await expect(coord.getByTestId('delivered-by-app')).toContainText('You spend this by running a compute job against it');
  await coord.getByRole('link', { name: 'Run a job with it' }).click();
  await expect(coord.getByTestId('job-funding')).toHaveValue(compute.id);
  await coord.getByRole('textbox', { name: 'Work units' }).fill('4');
  await coord.getByRole('button', { name: 'Post job' }).click();
  await expect(coord.getByTestId('job-terms')).toContainText(`Only @${memberHandle}'s devices run this job`);
  // the member switches donating on from the device screen
  await m.goto('/device');
  await expect(panel).toBeVisible({ timeout: 60_000 });
  await panel.getByRole('switch', { name: 'Donate' }).click();
  await expect(panel.getByRole('switch', { name: 'Donate' })).toHaveAttribute('aria-checked', 'true');
  // one donor: the coordinator's device confirms what it returns
  await expect(coord.getByTestId('confirm-here')).toBeVisible({ timeout: 90_000 });
  await coord.getByTestId('confirm-here').click();
  await expect(coord.getByTestId('job-status')).toHaveText('completed', { timeout: 150_000 });
  await coord.screenshot({ path: 'test-results/barter-delivered-compute-job.png', fullPage: true });
  await expect.poll(async () => (await call(coord.request, 'contract.get', { contractId: compute.id }, 'GET')).state, { timeout: 30_000 }).toBe('SETTLED');
  const computeSettled = await call(coord.request, 'contract.get', { contractId: compute.id }, 'GET');
  expect(computeSettled.events.filter((e: { action: string }) => e.action === 'SETTLE_PROVEN')).toHaveLength(1);
  expect(computeSettled.events.at(-1).note).toMatch(/of 10 work units spent/);
  await coord.goto(`/contracts/${compute.id}`);
  await expect(coord.getByTestId('contract-state')).toHaveText('settled');
  await coord.screenshot({ path: 'test-results/barter-delivered-compute-leg.png', fullPage: true });

  // nothing waits in escrow, and the community's ledger sums to zero
  for (const page of [m, friend]) expect((await call(page.request, 'ledger.balance', { communityId: community.id }, 'GET')).escrow).toBe(0);
  expect(await ledgerSums(community.id)).toEqual({ balances: 0, postings: 0 });
  for (const c of [coordContext, memberContext, friendContext]) await c.close();
});

test('a barter’s file leg is delivered by a transfer: the receiver takes the giver’s file from the contract’s page, its fingerprint checks out, and the leg pays from that proof', async ({ browser, baseURL }) => {
  test.setTimeout(240_000);
  const id = unique();
  const [coordContext, giverContext] = [await webrtcContext(browser, baseURL!), await webrtcContext(browser, baseURL!)];
  const [coord, giver] = [await coordContext.newPage(), await giverContext.newPage()];
  const [coordHandle, giverHandle] = [`pool-${id}`, `artist-${id}`];
  await memberWithDevice(coord, coordHandle, 'Coordinator phone');
  await memberWithDevice(giver, giverHandle, 'Artist phone');
  const slug = `files-${id}`;
  const community = await call(coord.request, 'community.create', { name: `Files ${id}`, slug, commissionBps: 200, startingGrant: GRANT, inviteOnly: false });
  await call(giver.request, 'community.join', { slug });
  await call(coord.request, 'admin.fundPool', { communityId: community.id, amount: 10_000_000 });

  // the artist offers a file from this device
  const bytes = randomBytes(300_000);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  await giver.goto('/content/publish');
  await giver.getByLabel('Choose a file').setInputFiles({ name: `sketch-${id}.png`, mimeType: 'image/png', buffer: bytes });
  await expect(giver.getByLabel('Title')).toBeVisible({ timeout: 60_000 });
  await giver.getByLabel('Title').fill(`Harbour sketch ${id}`);
  await giver.getByRole('button', { name: /^Offer in/ }).click();
  await expect(giver.getByRole('heading', { name: `Harbour sketch ${id}` })).toBeVisible();

  // the community pool gives a credit for one of the artist's files
  const legs = { file: [{ category: 'FILE', unit: 'ITEM', quantity: 1 }], credit: [{ category: 'MONEY', unit: 'CREDIT', quantity: 1 }] };
  await call(coord.request, 'barter.offer', { communityId: community.id, give: legs.credit, want: legs.file, toleranceBps: 10_000, fromPool: true });
  const { deals } = await call(giver.request, 'barter.offer', { communityId: community.id, give: legs.file, want: legs.credit, toleranceBps: 10_000 });
  expect(deals).toEqual([{ dealId: expect.any(String), status: 'CLOSED' }]);
  const { items } = await call(coord.request, 'contract.list', { communityId: community.id }, 'GET');
  const fileLeg = items.find((c: { category: string }) => c.category === 'FILE');

  // the giver's page says what proves it; the receiver takes the file from the contract's page
  await giver.goto(`/contracts/${fileLeg.id}`);
  await expect(giver.getByTestId('file-leg')).toContainText('each copy whose fingerprint checks out');
  await coord.goto(`/contracts/${fileLeg.id}`);
  await expect(coord.getByTestId('file-leg')).toContainText(`Take one file of @${giverHandle}'s for this trade`);
  await coord.screenshot({ path: 'test-results/barter-delivered-file-leg.png', fullPage: true });
  await coord.getByTestId('file-leg').getByRole('link', { name: `Harbour sketch ${id}` }).click();
  await expect(coord.getByTestId('item-for-leg')).toContainText('nothing is charged');
  await coord.getByRole('button', { name: 'Take it for the barter' }).click();
  await expect(coord).toHaveURL(/\/content\/transfers$/);
  await expect.poll(async () => (await call(coord.request, 'contract.get', { contractId: fileLeg.id }, 'GET')).state, { timeout: 90_000 }).toBe('SETTLED');
  const settled = await call(coord.request, 'contract.get', { contractId: fileLeg.id }, 'GET');
  expect(settled.events.at(-1)).toMatchObject({ action: 'SETTLE_PROVEN', note: "1 of 1 files verified by the receiver's SHA-256" });
  const [transfer] = await call(coord.request, 'content.transfers', { deviceId: await coord.evaluate(() => localStorage.getItem('swapmesh.deviceId')) }, 'GET');
  expect(transfer).toMatchObject({ status: 'COMPLETED', contractId: fileLeg.id, item: expect.objectContaining({ sha256 }) });
  // the artist is paid the pool's credit; nothing waits in escrow; the ledger sums to zero
  expect(await call(giver.request, 'ledger.balance', { communityId: community.id }, 'GET')).toEqual({ available: GRANT + 1_000_000, escrow: 0 });
  expect(await ledgerSums(community.id)).toEqual({ balances: 0, postings: 0 });
  for (const c of [coordContext, giverContext]) await c.close();
});
