import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillAmounts } from '@/server/market/commission';
import { getKernel } from '@/workers/kernels';
import { rejects } from '../support/assertions';
import { callerWith, signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CREDIT = 1_000_000;
const HOUR = 3_600_000;
const BPS = 200;
const GRANT = 100 * CREDIT;
const CHUNK = 64 * 1024;
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const mandelbrot = getKernel('mandelbrot');

const window = (fromHours: number, toHours: number) => ({
  windowStart: new Date(Date.now() + fromHours * HOUR).toISOString(),
  windowEnd: new Date(Date.now() + toHours * HOUR).toISOString(),
});

function header(title: string, size: number) {
  const bytes = Buffer.alloc(size, 3);
  const chunkHashes: string[] = [];
  for (let at = 0; at < size; at += CHUNK) chunkHashes.push(sha(bytes.subarray(at, at + CHUNK)));
  return { title, description: 'Photos', audience: 'friends', purpose: 'memories', environment: 'any viewer', mediaType: 'image/jpeg', sizeBytes: size, sha256: sha(bytes), chunkSize: CHUNK, chunkHashes };
}

/** The start of the (UTC) day before now: the inbox counts earnings from the start of the member's day. */
const startOfDay = () => new Date(Date.now() - 60_000).toISOString();

describe.each(databaseKinds)('home inbox on %s', (kind) => {
  let t: TestDatabase;
  let communityId: string;
  let coordinator: Caller;
  let seq = 0;
  type Member = { id: string; handle: string; caller: Caller; deviceId?: string };

  const member = async (prefix: string, { join = true, device = false } = {}): Promise<Member> => {
    const m = await signUp(t.db, `${prefix}-${++seq}`);
    if (join) await m.caller.community.join({ slug: 'home-town' });
    const out: Member = { id: m.member.id, handle: m.member.handle, caller: m.caller };
    if (device) out.deviceId = (await m.caller.device.register({ name: `${prefix} phone`, profile: phoneProfile })).device.id;
    return out;
  };
  const inbox = (m: Member) => m.caller.home.inbox({ since: startOfDay() });

  beforeAll(async () => {
    t = await freshDatabase(kind);
    coordinator = (await signUp(t.db, 'home-coordinator')).caller;
    ({ id: communityId } = await coordinator.community.create({ name: 'Home town', slug: 'home-town', commissionBps: BPS, startingGrant: GRANT, inviteOnly: false }));
  });
  afterAll(() => t?.drop());

  it('a contract waits on the seller to deliver, then on the buyer to sign off; nobody else sees it; the sale is today’s earnings', async () => {
    const [seller, buyer, stranger] = [await member('seller', { device: true }), await member('buyer'), await member('stranger')];
    await seller.caller.market.placeOrder({ communityId, side: 'SELL', category: 'FILE', unit: 'ITEM', kind: 'STANDING', quantity: 3, price: 2 * CREDIT, deviceId: seller.deviceId, ...window(0.5, 6) } as Parameters<Caller['market']['placeOrder']>[0]);
    const bid = await buyer.caller.market.placeOrder({ communityId, side: 'BUY', category: 'FILE', unit: 'ITEM', kind: 'STANDING', quantity: 3, price: 2 * CREDIT, ...window(1, 3) });
    const contractId = bid.fills[0]!.contractId;

    const sellerView = await inbox(seller);
    expect(sellerView.todo.deliver.items).toEqual([
      expect.objectContaining({ id: contractId, side: 'SELLER', counterparty: buyer.handle, category: 'FILE', unit: 'ITEM', quantity: 3, price: 2 * CREDIT, total: 6 * CREDIT, state: 'MATCHED', communityName: 'Home town' }),
    ]);
    expect(sellerView.todo.signOff.items).toEqual([]);
    const buyerView = await inbox(buyer);
    expect(buyerView.todo.deliver.items).toEqual([]);
    expect(buyerView.todo.signOff.items).toEqual([]);
    expect(buyerView.communities).toEqual([expect.objectContaining({ id: communityId, slug: 'home-town', role: 'MEMBER', escrow: fillAmounts(3, 2 * CREDIT, BPS).buyerPays })]);

    await seller.caller.contract.reportDelivered({ contractId });
    expect((await inbox(seller)).todo.deliver.items).toEqual([]);
    const toSign = (await inbox(buyer)).todo;
    expect(toSign.signOff.items).toEqual([expect.objectContaining({ id: contractId, side: 'BUYER', counterparty: seller.handle, state: 'DELIVERED', reviewEndsAt: expect.any(String) })]);
    expect(toSign.total).toBe(1);
    const strangerView = await inbox(stranger);
    expect(strangerView.todo).toMatchObject({ total: 0, deliver: { items: [] }, signOff: { items: [] }, negotiations: { items: [] }, gifts: { items: [] } });
    expect(strangerView.earned).toMatchObject({ paid: 0, units: 0 });

    await buyer.caller.contract.signOff({ contractId });
    const after = await inbox(seller);
    const { sellerGets } = fillAmounts(3, 2 * CREDIT, BPS);
    expect(after.earned.paid).toBe(sellerGets);
    // the ask named the seller's phone: the earning is that device's
    expect(after.earned.devices).toEqual([expect.objectContaining({ id: seller.deviceId, name: 'seller phone', paid: sellerGets, computePerHour: expect.any(Number) })]);
    expect(after.earned.devices[0]!.computePerHour).toBeGreaterThan(0);
    expect(after.communities[0]).toMatchObject({ available: GRANT + sellerGets, escrow: 0 });
    expect((await inbox(buyer)).earned.paid).toBe(0);
    expect((await inbox(buyer)).todo.total).toBe(0);
    // earnings count from the start of the member's day: a day that starts after the sale has none yet
    expect((await seller.caller.home.inbox({ since: new Date(Date.now() + 30_000).toISOString() })).earned.paid).toBe(0);
  });

  it('a negotiation waits on whoever has not answered the last counter-offer', async () => {
    const [seller, buyer] = [await member('nseller'), await member('nbuyer')];
    await seller.caller.market.placeOrder({ communityId, side: 'SELL', category: 'NETWORK', unit: 'MB', kind: 'STANDING', quantity: 10, price: 10 * CREDIT, negotiation: { mode: 'MANUAL', limit: null }, ...window(0.5, 5) });
    const bid = await buyer.caller.market.placeOrder({ communityId, side: 'BUY', category: 'NETWORK', unit: 'MB', kind: 'STANDING', quantity: 4, price: 6 * CREDIT, negotiation: { mode: 'MANUAL', limit: null }, ...window(1, 2) });
    const negotiationId = bid.negotiationId!;
    // just opened: both sides may move
    expect((await inbox(seller)).todo.negotiations.items).toEqual([
      expect.objectContaining({ id: negotiationId, side: 'SELLER', myPrice: 10 * CREDIT, theirPrice: 6 * CREDIT, counterparty: buyer.handle, countered: false, quantity: 4, unit: 'MB' }),
    ]);
    expect((await inbox(buyer)).todo.negotiations.items).toEqual([expect.objectContaining({ id: negotiationId, side: 'BUYER', myPrice: 6 * CREDIT, theirPrice: 10 * CREDIT })]);

    await buyer.caller.negotiation.counter({ negotiationId, price: 7 * CREDIT });
    expect((await inbox(buyer)).todo.negotiations.items).toEqual([]);
    expect((await inbox(seller)).todo.negotiations.items).toEqual([expect.objectContaining({ id: negotiationId, theirPrice: 7 * CREDIT, countered: true })]);

    await seller.caller.negotiation.counter({ negotiationId, price: 9 * CREDIT });
    expect((await inbox(seller)).todo.negotiations.items).toEqual([]);
    expect((await inbox(buyer)).todo.negotiations.items).toEqual([expect.objectContaining({ id: negotiationId, theirPrice: 9 * CREDIT })]);

    await buyer.caller.negotiation.reject({ negotiationId });
    expect((await inbox(buyer)).todo.negotiations.items).toEqual([]);
    expect((await inbox(seller)).todo.negotiations.items).toEqual([]);
  });

  it('a gift offered to one of my devices is in my inbox until I take or decline it, raises a live event for me alone, and is nobody else’s', async () => {
    const [giver, receiver, stranger] = [await member('giver', { device: true }), await member('receiver', { device: true }), await member('nosy', { device: true })];
    const gift = await giver.caller.content.give({ deviceId: giver.deviceId!, toDeviceId: receiver.deviceId!, header: header('Holiday photos', 150_000) });

    expect((await inbox(receiver)).todo.gifts.items).toEqual([
      expect.objectContaining({ id: gift.id, title: 'Holiday photos', sizeBytes: 150_000, from: giver.handle, deviceId: receiver.deviceId, deviceName: 'receiver phone' }),
    ]);
    expect((await inbox(giver)).todo.gifts.items).toEqual([]);
    expect((await inbox(stranger)).todo.gifts.items).toEqual([]);

    const events = await t.db.liveEvent.findMany({ where: { type: 'gift' }, select: { memberId: true, payload: true } });
    expect(events).toEqual([{ memberId: receiver.id, payload: { type: 'gift', itemId: gift.id, title: 'Holiday photos', fromHandle: giver.handle, toDeviceId: receiver.deviceId } }]);

    // taking it (a transfer requested) removes it from the inbox
    await receiver.caller.content.request({ itemId: gift.id, deviceId: receiver.deviceId! });
    expect((await inbox(receiver)).todo.gifts.items).toEqual([]);

    const second = await giver.caller.content.give({ deviceId: giver.deviceId!, toDeviceId: receiver.deviceId!, header: header('Recipes', 70_000) });
    expect((await inbox(receiver)).todo.gifts.items.map((g) => g.id)).toEqual([second.id]);
    await receiver.caller.content.declineGift({ itemId: second.id });
    expect((await inbox(receiver)).todo.gifts.items).toEqual([]);
  });

  it('a barter deal waits on the members who have not accepted it yet', async () => {
    const [a, b] = [await member('ba'), await member('bb')];
    const leg = (category: 'FILE' | 'NETWORK', unit: string, quantity: number) => ({ category, unit, quantity });
    await a.caller.barter.offer({ communityId, give: [leg('FILE', 'MB', 10)], want: [leg('NETWORK', 'MB', 500)], toleranceBps: 1_000, auto: false } as Parameters<Caller['barter']['offer']>[0]);
    const { deals } = await b.caller.barter.offer({ communityId, give: [leg('NETWORK', 'MB', 500)], want: [leg('FILE', 'MB', 10)], toleranceBps: 1_000 } as Parameters<Caller['barter']['offer']>[0]);
    expect(deals).toEqual([{ dealId: expect.any(String), status: 'PROPOSED' }]);
    const dealId = deals[0]!.dealId;
    // b's own offer closes without asking, so b has accepted; a was asked to be consulted
    const forA = (await inbox(a)).todo.barter.items;
    expect(forA).toEqual([expect.objectContaining({ dealId, communityName: 'Home town' })]);
    expect((await inbox(b)).todo.barter.items).toEqual([]);
    await a.caller.barter.accept({ dealId });
    expect((await inbox(a)).todo.barter.items).toEqual([]);
  });

  it('counts the work units my devices computed today and what they will pay', async () => {
    const owner = await member('researcher');
    const donor = await member('donor', { device: true });
    await donor.caller.compute.donate({ communityId, deviceId: donor.deviceId!, on: true, floorPrice: 1_000 });
    await owner.caller.compute.submitJob({
      communityId, kernel: 'mandelbrot', params: { width: 64, height: 64, maxIterations: 50, view: { centerX: -0.5, centerY: 0, scale: 3 } },
      units: 4, replication: 2, quorum: 2, deadline: new Date(Date.now() + HOUR).toISOString(), pricePerUnit: 10_000,
    });
    const leases = await donor.caller.compute.lease({ deviceId: donor.deviceId!, max: 3 });
    expect(leases.length).toBeGreaterThan(0);
    for (const lease of leases) await donor.caller.compute.submitResult({ leaseId: lease.leaseId, output: mandelbrot.run(lease.input as Parameters<typeof mandelbrot.run>[0]) });

    const view = await inbox(donor);
    expect(view.earned).toMatchObject({ units: leases.length, pending: leases.length * 10_000, paid: 0 });
    expect(view.earned.devices).toEqual([expect.objectContaining({ id: donor.deviceId, units: leases.length, pending: leases.length * 10_000 })]);
    // the donor's contract is delivered by its work units, not by hand: it is no to-do
    expect(view.todo.deliver.items).toEqual([]);
    expect((await inbox(owner)).earned.units).toBe(0);
  });

  it('says which first steps are done: measure, join, then trade', async () => {
    const m = await member('newcomer', { join: false });
    expect((await inbox(m)).steps).toEqual({ measured: false, joined: false, started: false });
    await m.caller.device.register({ name: 'first phone', profile: phoneProfile });
    expect((await inbox(m)).steps).toEqual({ measured: true, joined: false, started: false });
    await m.caller.community.join({ slug: 'home-town' });
    expect((await inbox(m)).steps).toEqual({ measured: true, joined: true, started: false });
    await m.caller.market.placeOrder({ communityId, side: 'BUY', category: 'STORAGE', unit: 'MB_HOUR', kind: 'STANDING', quantity: 1, price: CREDIT, ...window(1, 2) });
    expect((await inbox(m)).steps).toEqual({ measured: true, joined: true, started: true });
  });

  it('refuses the signed-out and a day that does not start within the last 36 hours', async () => {
    const anonymous = (await callerWith(t.db, null)).caller;
    await rejects(anonymous.home.inbox({}), 'UNAUTHORIZED');
    const m = await member('clock');
    await rejects(m.caller.home.inbox({ since: new Date(Date.now() - 48 * HOUR).toISOString() }), 'BAD_REQUEST', /36 hours/);
    await rejects(m.caller.home.inbox({ since: new Date(Date.now() + 2 * HOUR).toISOString() }), 'BAD_REQUEST');
    await rejects(m.caller.home.inbox({ since: 'yesterday' } as { since: string }), 'BAD_REQUEST');
    expect((await m.caller.home.inbox()).todo.total).toBe(0);
  });
});

describe.each(databaseKinds)('invitations on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await freshDatabase(kind);
  });
  afterAll(() => t?.drop());

  it('an address that is one of the app’s own pages cannot name a community', async () => {
    const { caller } = await signUp(t.db, 'founder');
    for (const slug of ['join', 'new']) {
      await rejects(caller.community.create({ name: 'Joiners', slug, commissionBps: 0, startingGrant: 0, inviteOnly: false }), 'BAD_REQUEST', /app’s own pages/);
    }
    expect(await caller.community.create({ name: 'Joiners', slug: 'joiners', commissionBps: 0, startingGrant: 0, inviteOnly: false })).toMatchObject({ slug: 'joiners' });
  });
});
