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
import {
  call, confirmUntilComplete, ledgerSums, measuredMember, memberWithDevice, postPoolOffer, publishFile, relayFileForLeg, runJobForLeg, startDonating, takeBarterOffer, takeFileForLeg, unique, webrtcContext,
} from './support';

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
  await measuredMember(m, memberHandle, slug);

  // the coordinator posts the pool's own offer from the pool screen: network access for compute
  await postPoolOffer(coord, slug, { preset: 'network-compute', confirms: ['10 work units of compute'] });

  // the member takes it on the barter screen: it closes into two legs
  await takeBarterOffer(m, '(community pool)');
  await m.screenshot({ path: 'test-results/barter-delivered-closed.png', fullPage: true });
  const { items } = await call(m.request, 'contract.list', { communityId: community.id }, 'GET');
  const network = items.find((c: { category: string }) => c.category === 'NETWORK');
  const compute = items.find((c: { category: string }) => c.category === 'COMPUTE');
  // open (matched, or active once the sweep saw its window open)
  expect(network).toMatchObject({ unit: 'MB', state: expect.stringMatching(/^(MATCHED|ACTIVE)$/) });
  expect(compute).toMatchObject({ unit: 'WORK_UNIT', quantity: 10, state: expect.stringMatching(/^(MATCHED|ACTIVE)$/) });

  // the network leg: its page says how it is delivered; the member sends a file through the coordinator's device
  await m.goto(`/contracts/${network.id}`);
  await m.screenshot({ path: 'test-results/barter-delivered-network-leg.png', fullPage: true });
  await relayFileForLeg({ sender: m, relay: coord, receiver: friend, senderHandle: memberHandle, relayHandle: coordHandle, receiverHandle: friendHandle, contractId: network.id, file: randomBytes(FILE_BYTES), name: 'patent-notes.bin' });
  const networkSettled = await call(m.request, 'contract.get', { contractId: network.id }, 'GET');
  expect(networkSettled.state).toBe('SETTLED');
  expect(networkSettled.events.at(-1)).toMatchObject({ action: 'SETTLE_PROVEN' });

  // the compute leg: the coordinator spends it by a job started from its page; only the member's page computes it
  await runJobForLeg(coord, compute.id, memberHandle, { units: 4 });
  // the member switches donating on from the device screen; with one donor the coordinator's device confirms what it returns
  await startDonating(m);
  await confirmUntilComplete(coord);
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
  await publishFile(giver, `Harbour sketch ${id}`, bytes);

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
  await expect(giver.getByRole('button', { name: 'I have delivered' })).toHaveCount(0);
  await coord.goto(`/contracts/${fileLeg.id}`);
  await expect(coord.getByTestId('file-leg')).toContainText(`Take one file of @${giverHandle}'s for this trade`);
  await coord.screenshot({ path: 'test-results/barter-delivered-file-leg.png', fullPage: true });
  await takeFileForLeg(coord, fileLeg.id, giverHandle, `Harbour sketch ${id}`);
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
