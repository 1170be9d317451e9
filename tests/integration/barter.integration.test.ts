import { generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { receiptBytes, type Receipt } from '@/server/barter/receipts';
import { settleFromProof } from '@/server/delivery/proof';
import { contractSettlesFromProof } from '@/server/delivery/rule';
import { ledgerTotals } from '@/server/ledger/repository';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CREDIT = 1_000_000;
type Leg = { category: 'COMPUTE' | 'MEMORY' | 'STORAGE' | 'PERIPHERAL' | 'FILE' | 'NETWORK' | 'MONEY'; unit: string; quantity: number };
const leg = (category: Leg['category'], unit: string, quantity: number): Leg => ({ category, unit, quantity });


describe.each(databaseKinds)('barter on %s', (kind) => {
  let t: TestDatabase;
  let coordinator: Caller;
  let communityId: string;
  let seq = 0;
  const member = async (slug = 'barter-town') => {
    const m = await signUp(t.db, `bt-${++seq}`);
    await m.caller.community.join({ slug });
    return m;
  };
  const offer = (c: Caller, give: Leg[], want: Leg[], extra: Record<string, unknown> = {}, cid = communityId) =>
    c.barter.offer({ communityId: cid, give, want, toleranceBps: 1_000, ...extra } as Parameters<Caller['barter']['offer']>[0]);
  const contractsOf = (dealId: string) => t.db.contract.findMany({ where: { barterDealId: dealId }, orderBy: { category: 'asc' } });
  const available = async (c: Caller, cid = communityId) => (await c.ledger.balance({ communityId: cid })).available;
  /**
   * Delivers a leg: on the seller's word and the buyer's sign-off, or, for what the system delivers and
   * measures itself (a rental streamed, compute and memory spent by a job, storage proven by challenges, a file leg by verified copies:
   * each tested on its own), from proof of all of it; the seller's word is refused for those.
   */
  const deliver = async (c: { id: string; category: string; unit: string; barterDealId: string | null }, seller: Caller, buyer: Caller) => {
    if (contractSettlesFromProof(c)) {
      await rejects(seller.contract.reportDelivered({ contractId: c.id }), 'PRECONDITION_FAILED', /measured delivery/);
      await settleFromProof(t.db, c.id, { part: 1, whole: 1 }, 'Proven in full');
      return;
    }
    await seller.contract.reportDelivered({ contractId: c.id });
    await buyer.contract.signOff({ contractId: c.id });
  };

  beforeAll(async () => {
    t = await freshDatabase(kind);
    coordinator = (await signUp(t.db, 'bt-coordinator')).caller;
    ({ id: communityId } = await coordinator.community.create({ name: 'Barter town', slug: 'barter-town', commissionBps: 200, startingGrant: 10 * CREDIT, inviteOnly: false }));
    await coordinator.admin.fundPool({ communityId, amount: 50 * CREDIT });
  });
  afterAll(() => t?.drop());

  it('patent example 1: the coordinator gives network access for a member’s compute power and memory', async () => {
    const m = await member();
    const first = await offer(coordinator, [leg('NETWORK', 'MB', 109_240)], [leg('COMPUTE', 'CPU_SECOND', 3_600), leg('MEMORY', 'MB_HOUR', 1_024)], { fromPool: true });
    expect(first.deals).toEqual([]);
    const second = await offer(m.caller, [leg('COMPUTE', 'CPU_SECOND', 3_600), leg('MEMORY', 'MB_HOUR', 1_024)], [leg('NETWORK', 'MB', 109_240)]);
    expect(second.deals).toEqual([{ dealId: expect.any(String), status: 'CLOSED' }]);
    const contracts = await contractsOf(second.deals[0]!.dealId);
    expect(contracts.map((c) => [c.category, c.quantity])).toEqual([['COMPUTE', 3_600], ['MEMORY', 1_024], ['NETWORK', 109_240]]);
    // one contract per leg, delivered like any other (the relay's bytes prove the network leg); the member pays commission on what they receive
    const network = contracts.find((c) => c.category === 'NETWORK')!;
    expect(network.buyerId).toBe(m.member.id);
    await deliver(network, coordinator, m.caller);
    expect((await m.caller.contract.get({ contractId: network.id })).state).toBe('SETTLED');
    expect(await available(m.caller)).toBe(10 * CREDIT - Math.floor((network.quantity * Number(network.price) * 200) / 10_000));
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('patent example 2: money from the community pool for a member’s files and peripherals', async () => {
    const m = await member();
    await offer(coordinator, [leg('MONEY', 'CREDIT', 1)], [leg('FILE', 'ITEM', 200), leg('PERIPHERAL', 'DEVICE_HOUR', 100)], { fromPool: true });
    const pool = async () => (await t.db.account.findFirstOrThrow({ where: { communityId, kind: 'COMMISSION' } })).balance;
    const before = await pool();
    const { deals } = await offer(m.caller, [leg('FILE', 'ITEM', 200), leg('PERIPHERAL', 'DEVICE_HOUR', 100)], [leg('MONEY', 'CREDIT', 1)]);
    expect(deals).toHaveLength(1);
    // the pool's credit waits in escrow against the two legs it pays for, until they are delivered
    const contracts = await contractsOf(deals[0]!.dealId);
    expect(contracts.map((c) => c.sellerId)).toEqual([m.member.id, m.member.id]);
    expect(contracts.reduce((sum, c) => sum + Number(c.escrowed), 0)).toBe(CREDIT);
    expect(await available(m.caller)).toBe(10 * CREDIT);
    expect(await pool()).toBe(before - BigInt(CREDIT));
    for (const c of contracts) await deliver(c, m.caller, coordinator);
    expect(await available(m.caller)).toBe(11 * CREDIT);
    expect(await pool()).toBe(before - BigInt(CREDIT));
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('patent example 3: network access plus money for files and peripherals', async () => {
    const m = await member();
    await offer(coordinator, [leg('MONEY', 'CREDIT', 1), leg('NETWORK', 'MB', 495_000)], [leg('FILE', 'ITEM', 400), leg('PERIPHERAL', 'DEVICE_HOUR', 200)], { fromPool: true });
    const { deals } = await offer(m.caller, [leg('FILE', 'ITEM', 400), leg('PERIPHERAL', 'DEVICE_HOUR', 200)], [leg('MONEY', 'CREDIT', 1), leg('NETWORK', 'MB', 495_000)]);
    expect(deals).toHaveLength(1);
    const contracts = await contractsOf(deals[0]!.dealId);
    expect(contracts.map((c) => c.category)).toEqual(['FILE', 'NETWORK', 'PERIPHERAL']);
    const commission = Math.floor((495_000 * 2 * 200) / 10_000);
    // the member's commission on the network leg and the pool's credit wait in escrow
    expect(await available(m.caller)).toBe(10 * CREDIT - commission);
    expect(await m.caller.ledger.balance({ communityId })).toEqual({ available: 10 * CREDIT - commission, escrow: commission });
    for (const c of contracts) {
      const [seller, buyer] = c.sellerId === m.member.id ? [m.caller, coordinator] : [coordinator, m.caller];
      await deliver(c, seller, buyer);
    }
    expect(await m.caller.ledger.balance({ communityId })).toEqual({ available: 11 * CREDIT - commission, escrow: 0 });
  });

  it('patent example 4: members barter files and peripherals for compute and memory, coordinated with commission', async () => {
    const [a, b] = [await member(), await member()];
    const filesAndPeripherals = [leg('FILE', 'ITEM', 100), leg('PERIPHERAL', 'DEVICE_HOUR', 10)];
    const computeAndMemory = [leg('COMPUTE', 'CPU_SECOND', 3_000), leg('MEMORY', 'MB_HOUR', 1_125)];
    const commissionBefore = (await t.db.account.findFirstOrThrow({ where: { communityId, kind: 'COMMISSION' } })).balance;
    await offer(a.caller, filesAndPeripherals, computeAndMemory);
    const { deals } = await offer(b.caller, computeAndMemory, filesAndPeripherals);
    const contracts = await contractsOf(deals[0]!.dealId);
    expect(contracts).toHaveLength(4);
    expect(contracts.filter((c) => c.sellerId === a.member.id).map((c) => c.category).sort()).toEqual(['FILE', 'PERIPHERAL']);
    const paid = (10 * CREDIT - (await available(a.caller))) + (10 * CREDIT - (await available(b.caller)));
    expect(paid).toBeGreaterThan(0);
    // commission waits in escrow with each leg and is charged when the leg settles
    const commission = async () => (await t.db.account.findFirstOrThrow({ where: { communityId, kind: 'COMMISSION' } })).balance - commissionBefore;
    expect(await commission()).toBe(0n);
    for (const c of contracts) {
      const [seller, buyer] = c.sellerId === a.member.id ? [a.caller, b.caller] : [b.caller, a.caller];
      await deliver(c, seller, buyer);
    }
    expect(await commission()).toBe(BigInt(paid));
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('closes a three-party cycle where no pair exists, and evens a difference with credits where both allow it', async () => {
    const [a, b, c] = [await member(), await member(), await member()];
    await offer(a.caller, [leg('STORAGE', 'MB_HOUR', 10_000)], [leg('NETWORK', 'MB', 5_000)]);
    await offer(b.caller, [leg('NETWORK', 'MB', 5_000)], [leg('COMPUTE', 'CPU_SECOND', 182)]);
    const { deals } = await offer(c.caller, [leg('COMPUTE', 'CPU_SECOND', 182)], [leg('STORAGE', 'MB_HOUR', 10_000)]);
    expect(deals).toHaveLength(1);
    const contracts = await contractsOf(deals[0]!.dealId);
    expect(new Set(contracts.map((x) => `${x.sellerId}->${x.buyerId}`))).toEqual(new Set([`${a.member.id}->${c.member.id}`, `${c.member.id}->${b.member.id}`, `${b.member.id}->${a.member.id}`]));

    const [d, e] = [await member(), await member()];
    await offer(d.caller, [leg('MEMORY', 'MB_HOUR', 1_000)], [leg('STORAGE', 'MB_HOUR', 10_000)], { toleranceBps: 0, topUp: { allowed: true, max: 0 } });
    const topped = await offer(e.caller, [leg('STORAGE', 'MB_HOUR', 10_000)], [leg('MEMORY', 'MB_HOUR', 1_000)], { toleranceBps: 0, topUp: { allowed: true, max: 20_000 } });
    expect(topped.deals).toHaveLength(1);
    // e's top-up pays for the memory d gives e: it waits in escrow on that leg until e signs it off
    const memory = (await contractsOf(topped.deals[0]!.dealId)).find((x) => x.category === 'MEMORY')!;
    expect([memory.sellerId, memory.buyerId]).toEqual([d.member.id, e.member.id]);
    expect(Number(memory.escrowed) - Number(memory.buyerCommission)).toBe(10_000);
    await deliver(memory, d.caller, e.caller);
    const history = await d.caller.ledger.history({ communityId });
    // memory pays from proof of delivery (a job that used it): proven in full, the top-up reaches d
    expect(history.items.find((i) => i.kind === 'PROVEN_SETTLEMENT')).toMatchObject({ amount: 10_000 });
  });

  it('proposes instead of closing when an offer asks to be consulted, and closes once everyone accepts', async () => {
    const [a, b] = [await member(), await member()];
    await offer(a.caller, [leg('FILE', 'MB', 10)], [leg('NETWORK', 'MB', 500)], { auto: false });
    const { deals } = await offer(b.caller, [leg('NETWORK', 'MB', 500)], [leg('FILE', 'MB', 10)]);
    expect(deals).toEqual([{ dealId: expect.any(String), status: 'PROPOSED' }]);
    await rejects(coordinator.barter.accept({ dealId: deals[0]!.dealId }), 'NOT_FOUND');
    expect(await a.caller.barter.accept({ dealId: deals[0]!.dealId })).toMatchObject({ status: 'CLOSED' });
    await rejects(a.caller.barter.accept({ dealId: deals[0]!.dealId }), 'CONFLICT');
  });

  it('refuses bad offers: unknown units, a non-coordinator offering from the pool', async () => {
    const m = await member();
    await rejects(offer(m.caller, [leg('NETWORK', 'GFLOP', 1)], [leg('FILE', 'ITEM', 1)]), 'BAD_REQUEST');
    await rejects(offer(m.caller, [leg('NETWORK', 'MB', 0)], [leg('FILE', 'ITEM', 1)]), 'BAD_REQUEST');
    await rejects(offer(m.caller, [leg('NETWORK', 'MB', 5)], [leg('FILE', 'ITEM', 1)], { fromPool: true }), 'FORBIDDEN');
  });

  it('members of linked communities barter across them, settling through clearing accounts', async () => {
    const other = await signUp(t.db, `bt-other-${++seq}`);
    const { id: otherId } = await other.caller.community.create({ name: 'Far town', slug: 'far-town', commissionBps: 0, startingGrant: 5 * CREDIT, inviteOnly: false });
    const link = await coordinator.admin.proposeLink({ communityId, toSlug: 'far-town', cap: 1_000 * CREDIT });
    await other.caller.admin.acceptLink({ communityId: otherId, linkId: link.id });
    const here = await member();
    const there = await member('far-town');
    await offer(here.caller, [leg('MEMORY', 'MB_HOUR', 1_000)], [leg('STORAGE', 'MB_HOUR', 10_000)], { toleranceBps: 0, topUp: { allowed: true, max: 0 } });
    expect((await there.caller.barter.list({ communityId: otherId })).map((o) => o.handle)).toContain(`bt-${seq - 1}`);
    const { deals } = await offer(there.caller, [leg('STORAGE', 'MB_HOUR', 10_000)], [leg('MEMORY', 'MB_HOUR', 1_000)], { toleranceBps: 0, topUp: { allowed: true, max: 20_000 } }, otherId);
    expect(deals).toHaveLength(1);
    // the top-up waits in escrow (in the payer's community) on the memory leg it pays for
    expect(await there.caller.ledger.balance({ communityId: otherId })).toEqual({ available: 5 * CREDIT - 10_000, escrow: 10_000 });
    const memory = (await contractsOf(deals[0]!.dealId)).find((c) => c.category === 'MEMORY')!;
    expect(memory).toMatchObject({ communityId: otherId, sellerCommunityId: communityId, escrowed: 10_000n });
    await deliver(memory, here.caller, there.caller);
    const storage = (await contractsOf(deals[0]!.dealId)).find((c) => c.category === 'STORAGE')!;
    expect(await here.caller.ledger.balance({ communityId })).toEqual({ available: 10 * CREDIT + 10_000 - Number(storage.escrowed), escrow: Number(storage.escrowed) });
    const clearingHere = await t.db.account.findFirstOrThrow({ where: { communityId, kind: 'FEDERATION_CLEARING', peerCommunityId: otherId } });
    const clearingThere = await t.db.account.findFirstOrThrow({ where: { communityId: otherId, kind: 'FEDERATION_CLEARING', peerCommunityId: communityId } });
    expect(clearingThere.balance).toBe(10_000n);
    expect(clearingHere.balance).toBe(-10_000n);
    expect(await ledgerTotals(t.db, communityId)).toEqual({ balances: 0, postings: 0 });
    expect(await ledgerTotals(t.db, otherId)).toEqual({ balances: 0, postings: 0 });
  });

  it('posts a receipt both devices signed offline, once; forged and replayed receipts change nothing', async () => {
    const [a, b] = [await member(), await member()];
    const keys = [generateKeyPairSync('ec', { namedCurve: 'P-256' }), generateKeyPairSync('ed25519')];
    const devices = [];
    for (const [i, m] of [a, b].entries()) {
      const { device } = await m.caller.device.register({ name: 'phone', profile: phoneProfile });
      await m.caller.device.setKey({ deviceId: device.id, publicKey: keys[i]!.publicKey.export({ format: 'der', type: 'spki' }).toString('base64url'), algorithm: i === 0 ? 'ECDSA-P256' : 'Ed25519' });
      devices.push(device.id);
    }
    const receipt: Receipt = {
      version: 1, communityId, nonce: 'f1e2d3c4b5a69788', createdAt: new Date().toISOString(),
      parties: [{ deviceId: devices[0]!, gives: [leg('FILE', 'ITEM', 3)] }, { deviceId: devices[1]!, gives: [leg('PERIPHERAL', 'DEVICE_HOUR', 1)] }],
    };
    const signWith = (r: Receipt, i: number) =>
      (i === 0 ? sign('sha256', receiptBytes(r), { key: keys[0]!.privateKey, dsaEncoding: 'ieee-p1363' }) : sign(null, receiptBytes(r), keys[1]!.privateKey)).toString('base64url');
    const signatures = [{ deviceId: devices[0]!, signature: signWith(receipt, 0) }, { deviceId: devices[1]!, signature: signWith(receipt, 1) }];
    const before = await t.db.contract.count();

    const forged = { ...receipt, parties: [{ ...receipt.parties[0]!, gives: [leg('FILE', 'ITEM', 1)] }, receipt.parties[1]!] };
    await rejects(a.caller.barter.submitReceipt({ receipt: forged, signatures }), 'BAD_REQUEST', /does not verify/);
    await rejects(a.caller.barter.submitReceipt({ receipt, signatures: [signatures[0]!, { deviceId: devices[1]!, signature: signWith(receipt, 0) }] }), 'BAD_REQUEST', /does not verify/);
    const stranger = await signUp(t.db, `bt-stranger-${++seq}`);
    await rejects(stranger.caller.barter.submitReceipt({ receipt, signatures }), 'FORBIDDEN');
    expect(await t.db.contract.count()).toBe(before);

    const posted = await b.caller.barter.submitReceipt({ receipt, signatures });
    expect(posted.contractIds).toHaveLength(2);
    for (const contractId of posted.contractIds) expect((await a.caller.contract.get({ contractId })).state).toBe('SETTLED');
    await rejects(a.caller.barter.submitReceipt({ receipt, signatures }), 'CONFLICT', /already settled/);
    expect(await t.db.contract.count()).toBe(before + 2);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });
});
