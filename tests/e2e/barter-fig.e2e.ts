/**
 * The bartering-system patent's examples 2–4 (FIG 5–7) run end to end in Chromium, on a phone, with every leg
 * delivered by the app and settled from its own proof (example 1, FIG 4, is barter-delivered.e2e.ts):
 * - FIG 5: credits from the community pool for a member's file and an hour of their camera — the file taken by a
 *   transfer from the leg's page (its SHA-256 checked), the camera streamed (Chromium's fake camera) and paid pro rata
 *   from the receiver's signed receipts;
 * - FIG 6: network access plus credits from the pool for the same — the network leg relayed through the coordinator's
 *   device (both ends' receipts), the file transferred, the camera streamed;
 * - FIG 7: two members barter a file and a camera hour for compute and memory, with commission — the compute and
 *   memory legs spent by jobs only the giver's donating page runs, the file transferred, the camera streamed.
 * The pool's side is posted from the coordinator's pool screen and the member's side from the barter screen.
 * Quantities are small (a camera streamed ~15 s of its hour, a 0.4 MB relayed file, jobs of 4 and 2 units).
 */
import { createHash, randomBytes } from 'node:crypto';
import { expect, test, type Page } from '@playwright/test';
import { proRataAmounts } from '@/server/market/contract-state';
import {
  barterLegs, call, confirmUntilComplete, fakeMediaLaunch, fillLegs, fundPoolInBrowser, ledgerSums, measuredMember, memberWithDevice, postPoolOffer,
  publishFile, relayFileForLeg, runJobForLeg, startDonating, streamCameraForLeg, takeBarterOffer, takeFileForLeg, unique, webrtcContext,
} from './support';

test.use({ viewport: { width: 412, height: 915 }, launchOptions: fakeMediaLaunch });

const CREDIT = 1_000_000;
const BPS = 200;
const GRANT = 100 * CREDIT;
const POOL = 10 * CREDIT;
const CAMERA_SECONDS = 15;
const RELAYED_BYTES = 400_000;
/**
 * The community's rates, so that the legs are worth comparable amounts (server/barter/unit-values.ts): a file of
 * 1 MB 0.5 credit, a device hour of peripherals 0.5 credit, an MB relayed 0.1 credit, a work unit 0.125 credit and
 * an MB·hour of memory 0.005 credit.
 */
const FIG_RATES = {
  compute: { perMipsHour: 3_750, perMflopsHour: 3_750 },
  memory: { perMbHour: 5_000 },
  peripheral: { perMegapixelHour: 2_000, perCameraHour: 1_989_000, perMicrophoneHour: 5_000, touchHour: 2_000 },
  file: { perItem: 499_900, perMb: 100 },
  network: { perMbpsHour: 42_915_345 },
};

type Contract = { id: string; state: string; quantity: number; price: number; escrowed: number; buyerCommission: number; sellerCommission: number; barterDealId: string | null; buyer: { id: string; handle: string }; seller: { id: string; handle: string }; events: { action: string; note: string | null }[] };
const contract = async (page: Page, contractId: string): Promise<Contract> => call(page.request, 'contract.get', { contractId }, 'GET');
const balance = (page: Page, communityId: string) => call(page.request, 'ledger.balance', { communityId }, 'GET');
const pool = async (coord: Page, communityId: string) => (await call(coord.request, 'admin.pool', { communityId }, 'GET')).pool as number;
/** The leg settled once, from its proofs (never "I have delivered"), with `note` as the proof's line. */
async function settledFromProof(page: Page, contractId: string, note: RegExp | string) {
  await expect.poll(async () => (await contract(page, contractId)).state, { timeout: 60_000 }).toBe('SETTLED');
  const c = await contract(page, contractId);
  expect(c.events.filter((e) => e.action === 'SETTLE_PROVEN')).toHaveLength(1);
  expect(c.events.map((e) => e.action)).not.toContain('REPORT_DELIVERED');
  expect(c.events.at(-1)!.note).toMatch(note);
  return c;
}
const fileNote = "1 of 1 files verified by the receiver's SHA-256";
const released = (c: Contract, part: number, whole: number) => proRataAmounts(c.escrowed, c.buyerCommission, part, whole);

/** A community with the rates above, its coordinator signed in on a phone, and the pool funded from the pool screen. */
async function figCommunity(coord: Page, coordHandle: string, slug: string) {
  await memberWithDevice(coord, coordHandle, 'Coordinator phone');
  const community = await call(coord.request, 'community.create', { name: `Patent ${slug}`, slug, commissionBps: BPS, startingGrant: GRANT, inviteOnly: false });
  await call(coord.request, 'community.update', { communityId: community.id, valuationRates: FIG_RATES });
  return community as { id: string };
}

/** The giver's file arrived verified on the receiver's device: the transfer names the leg and the file's SHA-256. */
async function fileArrived(receiver: Page, contractId: string, sha256: string) {
  const deviceId = await receiver.evaluate(() => localStorage.getItem('swapmesh.deviceId'));
  const transfers = await call(receiver.request, 'content.transfers', { deviceId }, 'GET');
  expect(transfers.find((t: { contractId: string | null }) => t.contractId === contractId)).toMatchObject({ status: 'COMPLETED', item: expect.objectContaining({ sha256 }) });
}

test('patent example 2 (FIG 5) delivered: credits from the pool for a member’s file, taken by a transfer, and a camera hour, streamed; each leg paid from its own proof', async ({ browser, baseURL }) => {
  test.setTimeout(300_000);
  const id = unique();
  const [coordContext, makerContext] = [await webrtcContext(browser, baseURL!), await webrtcContext(browser, baseURL!)];
  const [coord, maker] = [await coordContext.newPage(), await makerContext.newPage()];
  const [coordHandle, makerHandle] = [`pool-${id}`, `maker-${id}`];
  const slug = `fig5-${id}`;
  const community = await figCommunity(coord, coordHandle, slug);
  await memberWithDevice(maker, makerHandle, 'Maker phone');
  await call(maker.request, 'community.join', { slug });
  await fundPoolInBrowser(coord, slug, POOL / CREDIT);

  // the coordinator offers a credit from the pool for one file and one device hour of peripherals
  await postPoolOffer(coord, slug, {
    preset: 'credits-files',
    give: [{ category: 'MONEY', unit: 'CREDIT', quantity: 1 }],
    want: [{ category: 'FILE', unit: 'ITEM', quantity: 1 }, { category: 'PERIPHERAL', unit: 'DEVICE_HOUR', quantity: 1 }],
    confirms: ['1 credit', '1 item of files + 1 device hour of peripherals'],
  });
  await coord.screenshot({ path: 'test-results/fig5-pool-offer.png', fullPage: true });

  // the member offers a file from their phone and takes the pool's offer on the barter screen
  const bytes = randomBytes(200_000);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const title = `Harbour plan ${id}`;
  await publishFile(maker, title, bytes);
  await takeBarterOffer(maker, '(community pool)');
  const legs = await barterLegs(coord.request, community.id);
  const [files, camera] = [await contract(coord, legs.FILE!.id), await contract(coord, legs.PERIPHERAL!.id)];
  // the pool's credit waits in escrow against the two legs it pays for; the pool pays no commission
  expect(files.escrowed + camera.escrowed).toBe(CREDIT);
  expect(files.buyerCommission + camera.buyerCommission).toBe(0);
  expect([files.seller.handle, camera.seller.handle, files.buyer.handle, camera.buyer.handle]).toEqual([makerHandle, makerHandle, coordHandle, coordHandle]);
  expect(await pool(coord, community.id)).toBe(POOL - CREDIT);

  // the file leg: the coordinator takes the member's file from the leg's page; its fingerprint checks out
  await maker.goto(`/contracts/${files.id}`);
  await expect(maker.getByTestId('file-leg')).toContainText('each copy whose fingerprint checks out');
  await expect(maker.getByRole('button', { name: 'I have delivered' })).toHaveCount(0);
  await takeFileForLeg(coord, files.id, makerHandle, title);
  await settledFromProof(coord, files.id, fileNote);
  await fileArrived(coord, files.id, sha256);
  await coord.goto(`/contracts/${files.id}`);
  await expect(coord.getByTestId('contract-state')).toHaveText('settled');
  await coord.screenshot({ path: 'test-results/fig5-file-leg.png', fullPage: true });

  // the camera leg: the member streams the camera to the coordinator's phone and stops after ~15 s of its hour
  const rental = await streamCameraForLeg({ seller: maker, buyer: coord, buyerHandle: coordHandle, contractId: camera.id, seconds: CAMERA_SECONDS, screenshot: 'test-results/fig5-camera-viewing.png' });
  expect(rental.wholeMs).toBe(3_600_000);
  expect(rental.provenMs).toBeGreaterThanOrEqual(CAMERA_SECONDS * 1000);
  await settledFromProof(maker, camera.id, / s of 3600 s received, paid pro rata$/);
  await maker.goto(`/contracts/${camera.id}`);
  await expect(maker.getByTestId('contract-state')).toHaveText('settled');
  await maker.screenshot({ path: 'test-results/fig5-camera-leg.png', fullPage: true });

  // the member is paid the file's share in full and the camera's pro rata; the rest goes back to the pool
  const cameraPaid = released(camera, rental.provenMs, rental.wholeMs);
  expect(await balance(maker, community.id)).toEqual({ available: GRANT + files.escrowed + cameraPaid.sellerGets, escrow: 0 });
  expect(await balance(coord, community.id)).toEqual({ available: GRANT, escrow: 0 });
  expect(await pool(coord, community.id)).toBe(POOL - files.escrowed - cameraPaid.paid);
  expect(await ledgerSums(community.id)).toEqual({ balances: 0, postings: 0 });
  for (const c of [coordContext, makerContext]) await c.close();
});

test('patent example 3 (FIG 6) delivered: network access plus credits from the pool for a file and camera hours; the network leg relayed, the file transferred, the camera streamed', async ({ browser, baseURL }) => {
  test.setTimeout(360_000);
  const id = unique();
  const [coordContext, makerContext, friendContext] = [await webrtcContext(browser, baseURL!), await webrtcContext(browser, baseURL!), await webrtcContext(browser, baseURL!)];
  const [coord, maker, friend] = [await coordContext.newPage(), await makerContext.newPage(), await friendContext.newPage()];
  const [coordHandle, makerHandle, friendHandle] = [`pool-${id}`, `maker-${id}`, `friend-${id}`];
  const slug = `fig6-${id}`;
  const community = await figCommunity(coord, coordHandle, slug);
  for (const [page, handle] of [[maker, makerHandle], [friend, friendHandle]] as const) {
    await memberWithDevice(page, handle, 'Phone');
    await call(page.request, 'community.join', { slug });
  }
  await fundPoolInBrowser(coord, slug, POOL / CREDIT);

  // the pool gives 5 MB of network access and a credit for one file and two device hours of peripherals
  await postPoolOffer(coord, slug, {
    preset: 'network-files',
    give: [{ category: 'NETWORK', unit: 'MB', quantity: 5 }, { category: 'MONEY', unit: 'CREDIT', quantity: 1 }],
    want: [{ category: 'FILE', unit: 'ITEM', quantity: 1 }, { category: 'PERIPHERAL', unit: 'DEVICE_HOUR', quantity: 2 }],
    confirms: ['5 MB of network + 1 credit', '1 item of files + 2 device hours of peripherals'],
  });
  const bytes = randomBytes(150_000);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const title = `Tide table ${id}`;
  await publishFile(maker, title, bytes);
  await takeBarterOffer(maker, '(community pool)');
  await maker.screenshot({ path: 'test-results/fig6-closed.png', fullPage: true });
  const legs = await barterLegs(maker.request, community.id);
  const [network, files, camera] = [await contract(maker, legs.NETWORK!.id), await contract(maker, legs.FILE!.id), await contract(maker, legs.PERIPHERAL!.id)];
  // the pool's credit waits against the member's two legs; the member's commission on the network leg waits too
  expect(files.escrowed + camera.escrowed).toBe(CREDIT);
  expect(network.buyerCommission).toBeGreaterThan(0);
  expect(network.escrowed).toBe(network.buyerCommission);
  expect(await balance(maker, community.id)).toEqual({ available: GRANT - network.escrowed, escrow: network.escrowed });

  // the network leg: the member sends a file through the coordinator's device to a friend
  await maker.goto(`/contracts/${network.id}`);
  await maker.screenshot({ path: 'test-results/fig6-network-leg.png', fullPage: true });
  const file = randomBytes(RELAYED_BYTES);
  await relayFileForLeg({ sender: maker, relay: coord, receiver: friend, senderHandle: makerHandle, relayHandle: coordHandle, receiverHandle: friendHandle, contractId: network.id, file, name: 'tide-notes.bin' });
  await settledFromProof(maker, network.id, /./);

  // the file leg, taken by the coordinator's phone
  await takeFileForLeg(coord, files.id, makerHandle, title);
  await settledFromProof(coord, files.id, fileNote);
  await fileArrived(coord, files.id, sha256);

  // the camera leg, streamed to the coordinator's phone for ~15 s of its two hours
  const rental = await streamCameraForLeg({ seller: maker, buyer: coord, buyerHandle: coordHandle, contractId: camera.id, seconds: CAMERA_SECONDS });
  expect(rental.wholeMs).toBe(2 * 3_600_000);
  await settledFromProof(maker, camera.id, / s of 7200 s received, paid pro rata$/);
  for (const leg of [network, files, camera]) {
    await maker.goto(`/contracts/${leg.id}`);
    await expect(maker.getByTestId('contract-state')).toHaveText('settled');
  }
  await maker.screenshot({ path: 'test-results/fig6-camera-leg.png', fullPage: true });

  // the member paid the relayed share of the network leg's commission, and was paid the file in full and the camera pro rata
  const networkPaid = released(network, RELAYED_BYTES, 5 * 1_000_000);
  const cameraPaid = released(camera, rental.provenMs, rental.wholeMs);
  expect(await balance(maker, community.id)).toEqual({ available: GRANT - networkPaid.paid + files.escrowed + cameraPaid.sellerGets, escrow: 0 });
  for (const page of [coord, friend]) expect(await balance(page, community.id)).toEqual({ available: GRANT, escrow: 0 });
  // the pool: what it paid for the file and the camera's proven share out, the network leg's commission in
  expect(await pool(coord, community.id)).toBe(POOL - files.escrowed - cameraPaid.paid + networkPaid.commission + networkPaid.sellerGets);
  expect(await ledgerSums(community.id)).toEqual({ balances: 0, postings: 0 });
  for (const c of [coordContext, makerContext, friendContext]) await c.close();
});

test('patent example 4 (FIG 7) delivered: two members barter a file and a camera hour for compute and memory, with commission; jobs spend the compute and memory legs', async ({ browser, baseURL }) => {
  test.setTimeout(420_000);
  const id = unique();
  const [coordContext, artistContext, labContext] = [await browser.newContext(), await webrtcContext(browser, baseURL!), await webrtcContext(browser, baseURL!)];
  const [coord, artist, lab] = [await coordContext.newPage(), await artistContext.newPage(), await labContext.newPage()];
  const [artistHandle, labHandle] = [`artist-${id}`, `lab-${id}`];
  const slug = `fig7-${id}`;
  const community = await figCommunity(coord, `coord-${id}`, slug);
  await memberWithDevice(artist, artistHandle, 'Artist phone');
  await call(artist.request, 'community.join', { slug });
  // the lab's phone is measured on the device screen: it will donate
  await measuredMember(lab, labHandle, slug);

  // the artist offers a file and a camera hour for 4 work units of compute and 100 MB·hours of memory
  const bytes = randomBytes(200_000);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const title = `Studio still ${id}`;
  await publishFile(artist, title, bytes);
  await artist.goto('/barter');
  await fillLegs(artist, 'I give', [{ category: 'FILE', unit: 'ITEM', quantity: 1 }, { category: 'PERIPHERAL', unit: 'DEVICE_HOUR', quantity: 1 }]);
  await fillLegs(artist, 'I want', [{ category: 'COMPUTE', unit: 'WORK_UNIT', quantity: 4 }, { category: 'MEMORY', unit: 'MB_HOUR', quantity: 100 }]);
  await expect(artist.getByTestId('barter-balance')).toHaveText(/Even|within your/);
  await artist.getByRole('button', { name: 'Post offer' }).click();
  await expect(artist.getByTestId('barter-result')).toContainText('Your offer waits for a match.');
  await artist.screenshot({ path: 'test-results/fig7-offer.png', fullPage: true });
  // the lab takes it
  await takeBarterOffer(lab, `@${artistHandle}`);
  const legs = await barterLegs(artist.request, community.id);
  const [files, camera, compute, memory] = await Promise.all(['FILE', 'PERIPHERAL', 'COMPUTE', 'MEMORY'].map((c) => contract(artist, legs[c]!.id)));
  // no credits change hands: each receiver's commission waits in escrow with the leg
  for (const leg of [files!, camera!, compute!, memory!]) expect(leg.escrowed).toBe(leg.buyerCommission);
  expect(await balance(artist, community.id)).toEqual({ available: GRANT - compute!.escrowed - memory!.escrowed, escrow: compute!.escrowed + memory!.escrowed });
  expect(await balance(lab, community.id)).toEqual({ available: GRANT - files!.escrowed - camera!.escrowed, escrow: files!.escrowed + camera!.escrowed });

  // the file leg: the lab takes the artist's file; the camera leg: the artist streams to the lab's phone
  await takeFileForLeg(lab, files!.id, artistHandle, title);
  await settledFromProof(lab, files!.id, fileNote);
  await fileArrived(lab, files!.id, sha256);
  const rental = await streamCameraForLeg({ seller: artist, buyer: lab, buyerHandle: labHandle, contractId: camera!.id, seconds: CAMERA_SECONDS, screenshot: 'test-results/fig7-camera-viewing.png' });
  await settledFromProof(artist, camera!.id, / s of 3600 s received, paid pro rata$/);

  // the compute and memory legs: the lab donates (offering memory), the artist spends each leg with a job from its page
  await startDonating(lab, '256 MB per unit');
  const computeJob = await runJobForLeg(artist, compute!.id, labHandle, { units: 4 });
  await confirmUntilComplete(artist);
  await artist.screenshot({ path: 'test-results/fig7-compute-job.png', fullPage: true });
  await settledFromProof(artist, compute!.id, /^4 of 4 work units spent/);
  const memoryJob = await runJobForLeg(artist, memory!.id, labHandle, { units: 2, hashJoin: { workingSetMb: 4 } });
  await confirmUntilComplete(artist);
  const memorySettled = await settledFromProof(artist, memory!.id, /MB·hours of 100 spent: 4 MB × the run time/);
  for (const leg of [files!, camera!, compute!, memory!]) {
    await artist.goto(`/contracts/${leg.id}`);
    await expect(artist.getByTestId('contract-state')).toHaveText('settled');
    await artist.screenshot({ path: `test-results/fig7-leg-${leg.id === memory!.id ? 'memory' : leg.id === compute!.id ? 'compute' : leg.id === files!.id ? 'file' : 'camera'}.png`, fullPage: true });
  }

  // what each leg's proof released: the file and the compute in full, the camera and the memory pro rata
  const mbHours = Number(/^([\d.]+) MB·hours/.exec(memorySettled.events.at(-1)!.note!)![1]);
  const memoryWhole = 100 * 3_600_000_000;
  const [low, high] = [Math.max(0, Math.floor((mbHours - 5e-7) * 3.6e9)), Math.ceil((mbHours + 5e-7) * 3.6e9)];
  expect(released(memory!, low, memoryWhole)).toEqual(released(memory!, high, memoryWhole));
  const paid = {
    files: released(files!, 1, 1),
    camera: released(camera!, rental.provenMs, rental.wholeMs),
    compute: released(compute!, 4, 4),
    memory: released(memory!, low, memoryWhole),
  };
  // the jobs' own work units (the memory job pays its units at its price; the compute job's are paid by the leg)
  const { items } = await call(artist.request, 'contract.list', { communityId: community.id }, 'GET');
  const jobContracts = (items as Contract[]).filter((c) => c.barterDealId === null);
  for (const c of jobContracts) expect(c.state).toMatch(/^(SETTLED|REFUNDED)$/);
  // a job's contract is paid in full for its validated units when it settles: price × quantity, each side's commission
  const units = jobContracts
    .filter((c) => c.state === 'SETTLED')
    .reduce((sum, c) => ({ paid: sum.paid + c.quantity * c.price + c.buyerCommission, earned: sum.earned + c.quantity * c.price - c.sellerCommission, commission: sum.commission + c.buyerCommission + c.sellerCommission }), { paid: 0, earned: 0, commission: 0 });
  expect(units.paid).toBeGreaterThan(0);
  const commission = paid.files.commission + paid.camera.commission + paid.compute.commission + paid.memory.commission + units.commission;
  console.info(`FIG 7: camera ${rental.provenMs} ms proven; memory ${mbHours} MB·h; work units paid ${units.paid} µ; commission ${commission} µ; jobs ${computeJob}, ${memoryJob}`);
  expect(await balance(artist, community.id)).toEqual({ available: GRANT - paid.compute.paid - paid.memory.paid - units.paid, escrow: 0 });
  expect(await balance(lab, community.id)).toEqual({ available: GRANT - paid.files.paid - paid.camera.paid + units.earned, escrow: 0 });
  // commission collected into the community's pool: all of the file's and the compute's, the proven shares of the rest
  expect(await pool(coord, community.id)).toBe(commission);
  expect(paid.files.commission).toBe(files!.buyerCommission);
  expect(paid.compute.commission).toBe(compute!.buyerCommission);
  expect(await ledgerSums(community.id)).toEqual({ balances: 0, postings: 0 });
  for (const c of [coordContext, artistContext, labContext]) await c.close();
});
