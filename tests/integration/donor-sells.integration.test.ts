/**
 * A GFLOP (or CPU-second) bid is served by donors' standing compute sells (issue 12): the Donate switch posts the
 * device's standing SELLs by measure as ordinary book orders, bids meet them by the market's rules (window, price-time,
 * escrow with commission), and the buyer spends the contract with a job that only the donor's devices run, settled pro
 * rata from the kernel's counts of the validated units.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerTotals } from '@/server/ledger/repository';
import { settleJob } from '@/server/compute/settle';
import { fillAmounts } from '@/server/market/commission';
import { proRataAmounts } from '@/server/market/contract-state';
import { getKernel, type AnyKernel, type Json } from '@/workers/kernels';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CREDIT = 1_000_000;
const GRANT = 1_000 * CREDIT;
const BPS = 100;
const mandelbrot: AnyKernel = getKernel('mandelbrot');

type Member = { caller: Caller; memberId: string; deviceId: string };

describe.each(databaseKinds)("donors' standing compute sells on %s", (kind) => {
  let t: TestDatabase;
  let seq = 0;

  async function community(slug: string) {
    const owner = await signUp(t.db, `ds-owner-${kind}-${++seq}`);
    const { id } = await owner.caller.community.create({ name: `Donor sells ${slug}`, slug, commissionBps: BPS, startingGrant: GRANT, inviteOnly: false });
    return id;
  }

  async function member(slug: string): Promise<Member> {
    const m = await signUp(t.db, `ds-${kind}-${++seq}`);
    await m.caller.community.join({ slug });
    const { device } = await m.caller.device.register({ name: 'tab', profile: phoneProfile });
    return { caller: m.caller, memberId: m.member.id, deviceId: device.id };
  }

  const bidWindow = () => ({ windowStart: new Date(Date.now() + 1_000).toISOString(), windowEnd: new Date(Date.now() + 3_600_000).toISOString() });
  const balance = (m: Member, communityId: string) => m.caller.ledger.balance({ communityId });
  const asks = async (m: Member, communityId: string, unit: string) => (await m.caller.market.book({ communityId, category: 'COMPUTE', unit })).asks;

  beforeAll(async () => {
    t = await freshDatabase(kind);
  });
  afterAll(() => t?.drop());

  it('the Donate switch posts standing GFLOP and CPU-second sells that 24 concurrent bids fill exactly up to their quantity, at the sell price, with escrow and commission', async () => {
    const communityId = await community('ds-a');
    const donor = await member('ds-a');
    const price = 3 * CREDIT;
    const on = await donor.caller.compute.donate({ communityId, deviceId: donor.deviceId, on: true, floorPrice: 1_000, computeSells: [{ unit: 'GFLOP', quantity: 5, price }, { unit: 'CPU_SECOND', quantity: 100, price: 10_000 }] });
    expect(on.computeOrderIds).toHaveLength(2);
    expect(await asks(donor, communityId, 'GFLOP')).toEqual([{ price, quantity: 5 }]);
    expect(await asks(donor, communityId, 'CPU_SECOND')).toEqual([{ price: 10_000, quantity: 100 }]);
    expect((await donor.caller.compute.donorSells({ communityId, deviceId: donor.deviceId })).map((s) => [s.unit, s.remaining])).toEqual([['CPU_SECOND', 100], ['GFLOP', 5]]);

    const buyers = await Promise.all(Array.from({ length: 24 }, () => member('ds-a')));
    const bids = await Promise.all(buyers.map((b) => b.caller.market.placeOrder({ communityId, side: 'BUY', category: 'COMPUTE', unit: 'GFLOP', kind: 'STANDING', quantity: 1, price: 4 * CREDIT, ...bidWindow() })));
    const filled = bids.filter((b) => b.fills.length > 0);
    expect(filled).toHaveLength(5);
    for (const b of filled) expect(b.fills).toEqual([{ contractId: expect.any(String), quantity: 1, price }]);
    const sell = await t.db.order.findUniqueOrThrow({ where: { id: on.computeOrderIds[0]! }, select: { remaining: true, status: true, deviceId: true, donation: true } });
    expect(sell).toMatchObject({ remaining: 0, status: 'FILLED', deviceId: donor.deviceId, donation: false });
    const contracts = await t.db.contract.findMany({ where: { communityId, unit: 'GFLOP' }, select: { sellerId: true, quantity: true, state: true } });
    expect(contracts).toHaveLength(5);
    for (const c of contracts) expect(c).toEqual({ sellerId: donor.memberId, quantity: 1, state: 'MATCHED' });
    // each filled buyer holds the fill (price plus commission) in escrow; the others hold their whole bid
    const held = fillAmounts(1, price, BPS).buyerPays;
    const restingHold = fillAmounts(1, 4 * CREDIT, BPS).buyerPays;
    for (const [i, b] of bids.entries()) {
      const expected = b.fills.length ? held : restingHold;
      expect(await balance(buyers[i]!, communityId)).toEqual({ available: GRANT - expected, escrow: expected });
    }
    expect(await balance(donor, communityId)).toEqual({ available: GRANT, escrow: 0 });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('a bid already resting is filled when a donor switches on with a crossing sell (at the resting bid price); switching off withdraws the sells; 20 concurrent switch-ons leave one sell per unit', async () => {
    const communityId = await community('ds-b');
    const donor = await member('ds-b');
    const buyer = await member('ds-b');
    const bid = await buyer.caller.market.placeOrder({ communityId, side: 'BUY', category: 'COMPUTE', unit: 'CPU_SECOND', kind: 'STANDING', quantity: 30, price: 20_000, ...bidWindow() });
    expect(bid.fills).toEqual([]);
    await donor.caller.compute.donate({ communityId, deviceId: donor.deviceId, on: true, floorPrice: 1_000, computeSells: [{ unit: 'CPU_SECOND', quantity: 50, price: 15_000 }] });
    const contract = await t.db.contract.findFirstOrThrow({ where: { buyOrderId: bid.order.id }, select: { quantity: true, price: true, sellerId: true } });
    expect(contract).toEqual({ quantity: 30, price: 20_000n, sellerId: donor.memberId });
    expect(await asks(donor, communityId, 'CPU_SECOND')).toEqual([{ price: 15_000, quantity: 20 }]);

    // a switch-on replaces the earlier sells: 20 at once leave exactly one open sell per unit, never two
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => donor.caller.compute.donate({ communityId, deviceId: donor.deviceId, on: true, floorPrice: 1_000, computeSells: [{ unit: 'GFLOP', quantity: 7, price: CREDIT }, { unit: 'CPU_SECOND', quantity: 9, price: 15_000 }] })));
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThan(0);
    expect(await asks(donor, communityId, 'GFLOP')).toEqual([{ price: CREDIT, quantity: 7 }]);
    expect(await asks(donor, communityId, 'CPU_SECOND')).toEqual([{ price: 15_000, quantity: 9 }]);
    expect(await t.db.order.count({ where: { memberId: donor.memberId, category: 'COMPUTE', donation: true, status: 'OPEN' } })).toBe(1);

    // a new floor price leaves the sells as they are; switching off withdraws them
    await donor.caller.compute.donate({ communityId, deviceId: donor.deviceId, on: true, floorPrice: 2_000 });
    expect(await asks(donor, communityId, 'GFLOP')).toEqual([{ price: CREDIT, quantity: 7 }]);
    await donor.caller.compute.donate({ communityId, deviceId: donor.deviceId, on: false, floorPrice: 1_000 });
    expect(await asks(donor, communityId, 'GFLOP')).toEqual([]);
    expect(await asks(donor, communityId, 'CPU_SECOND')).toEqual([]);
    expect(await donor.caller.compute.donorSells({ communityId, deviceId: donor.deviceId })).toEqual([]);
    // the contract already made stays: the buyer can still spend it while the donor donates again
    expect(await t.db.contract.count({ where: { buyOrderId: bid.order.id, state: 'MATCHED' } })).toBe(1);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('refusals change nothing: one sell per unit, bounded cost, a device of someone else, no units other than GFLOP and CPU seconds', async () => {
    const communityId = await community('ds-c');
    const donor = await member('ds-c');
    const other = await member('ds-c');
    const before = await t.db.order.count();
    await rejects(donor.caller.compute.donate({ communityId, deviceId: donor.deviceId, on: true, floorPrice: 1_000, computeSells: [{ unit: 'GFLOP', quantity: 1, price: CREDIT }, { unit: 'GFLOP', quantity: 2, price: CREDIT }] }), 'BAD_REQUEST', /once each/);
    await rejects(donor.caller.compute.donate({ communityId, deviceId: donor.deviceId, on: true, floorPrice: 1_000, computeSells: [{ unit: 'GFLOP', quantity: 1_000_000_000, price: 1_000_000_000_000 }] }), 'BAD_REQUEST', /at most/);
    await rejects(donor.caller.compute.donate({ communityId, deviceId: other.deviceId, on: true, floorPrice: 1_000, computeSells: [{ unit: 'GFLOP', quantity: 1, price: CREDIT }] }), 'NOT_FOUND');
    // @ts-expect-error a work-unit sell is the donation itself, not a sell by measure
    await rejects(donor.caller.compute.donate({ communityId, deviceId: donor.deviceId, on: true, floorPrice: 1_000, computeSells: [{ unit: 'WORK_UNIT', quantity: 1, price: CREDIT }] }), 'BAD_REQUEST');
    expect(await t.db.order.count()).toBe(before);
    expect(await balance(donor, communityId)).toEqual({ available: GRANT, escrow: 0 });
  });

  it("a GFLOP bid filled by a donor's standing sell is spent by a job only the donor's device runs, and settles once, pro rata, from the kernel's FLOP count", async () => {
    const communityId = await community('ds-d');
    const donor = await member('ds-d');
    const stranger = await member('ds-d');
    const buyer = await member('ds-d');
    const price = 10 * CREDIT;
    await donor.caller.compute.donate({ communityId, deviceId: donor.deviceId, on: true, floorPrice: 1_000, computeSells: [{ unit: 'GFLOP', quantity: 3, price }] });
    await stranger.caller.compute.donate({ communityId, deviceId: stranger.deviceId, on: true, floorPrice: 1_000 });
    const bid = await buyer.caller.market.placeOrder({ communityId, side: 'BUY', category: 'COMPUTE', unit: 'GFLOP', kind: 'STANDING', quantity: 1, price: 12 * CREDIT, ...bidWindow() });
    expect(bid.fills).toEqual([{ contractId: expect.any(String), quantity: 1, price }]);
    const contractId = bid.fills[0]!.contractId;
    const held = fillAmounts(1, price, BPS);

    const params = { width: 64, height: 64, maxIterations: 3_000, view: { centerX: -0.5, centerY: 0, scale: 3 } };
    const job = await buyer.caller.compute.submitJob({ communityId, kernel: 'mandelbrot', params, units: 4, replication: 2, quorum: 2, deadline: new Date(Date.now() + 1_800_000).toISOString(), pricePerUnit: 0, fundingContractId: contractId });
    expect(job.terms?.funding).toMatchObject({ contractId, unit: 'GFLOP', quantity: 1 });
    expect(await stranger.caller.compute.lease({ deviceId: stranger.deviceId, max: 16 })).toEqual([]);
    const outputs = new Map<number, Json>();
    for (let round = 0; round < 10 && outputs.size < job.unitCount; round++) {
      for (const l of await donor.caller.compute.lease({ deviceId: donor.deviceId, max: 16 })) {
        const output = mandelbrot.run(l.input);
        outputs.set(l.unitIndex, output);
        await donor.caller.compute.submitResult({ leaseId: l.leaseId, output });
      }
    }
    expect(outputs.size).toBe(job.unitCount);
    for (const [unitIndex, output] of outputs) await buyer.caller.compute.confirm({ jobId: job.id, unitIndex, output });
    expect((await buyer.caller.compute.job({ jobId: job.id })).status).toBe('COMPLETED');

    await Promise.all(Array.from({ length: 20 }, () => settleJob(t.db, job.id)));
    const units = await t.db.workUnit.findMany({ where: { jobId: job.id }, select: { input: true, output: true } });
    const flop = units.reduce((sum, u) => sum + mandelbrot.cost(u.input as Json, u.output as Json).flop, 0);
    const paid = proRataAmounts(held.buyerPays, held.buyerPays - held.sellerGets, Math.floor(flop / 1000), 1_000_000);
    const contract = await buyer.caller.contract.get({ contractId });
    expect(contract.state).toBe('SETTLED');
    expect(contract.events.filter((e) => e.action === 'SETTLE_PROVEN')).toHaveLength(1);
    expect(await balance(donor, communityId)).toEqual({ available: GRANT + paid.sellerGets, escrow: 0 });
    expect(await balance(buyer, communityId)).toEqual({ available: GRANT - paid.paid, escrow: 0 });
    expect(await balance(stranger, communityId)).toEqual({ available: GRANT, escrow: 0 });
    // the donor's sell still offers the rest
    expect(await asks(donor, communityId, 'GFLOP')).toEqual([{ price, quantity: 2 }]);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });
});
