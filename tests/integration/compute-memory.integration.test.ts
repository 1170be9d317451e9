import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerTotals } from '@/server/ledger/repository';
import { settleJob } from '@/server/compute/settle';
import { MB_US_PER_MB_HOUR } from '@/server/compute/terms';
import { fillAmounts } from '@/server/market/commission';
import { proRataAmounts } from '@/server/market/contract-state';
import { getKernel, type AnyKernel, type Json } from '@/workers/kernels';
import { buildRow, partitionShape, probeRow } from '@/workers/kernels/hash-join';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CREDIT = 1_000_000;
const GRANT = 1_000 * CREDIT;
const BPS = 100;
const hashJoin: AnyKernel = getKernel('hash-join');
const pi: AnyKernel = getKernel('montecarlo-pi');
const mandelbrot: AnyKernel = getKernel('mandelbrot');

type Member = { caller: Caller; memberId: string; deviceId: string };

/** The join of the whole generated tables with a plain Map: the reference result the job must give. */
function referenceJoin(seed: number, workingSetMb: number, probePerBuild: number, partitions: number) {
  const { buildRows, probeRows, keySpace } = partitionShape(workingSetMb, probePerBuild);
  const build = new Map<number, number>();
  for (let p = 0; p < partitions; p++) for (let j = 0; j < buildRows; j++) {
    const row = buildRow({ seed, partition: p }, keySpace, j);
    build.set(row.r * partitions + p, row.payload);
  }
  let matches = 0;
  let checksum = 0;
  for (let p = 0; p < partitions; p++) for (let i = 0; i < probeRows; i++) {
    const row = probeRow({ seed, partition: p }, keySpace, i);
    const payload = build.get(row.r * partitions + p);
    if (payload === undefined) continue;
    matches++;
    checksum = (checksum + ((payload ^ row.payload) >>> 0)) >>> 0;
  }
  return { matches, checksum, buildRows: buildRows * partitions, probeRows: probeRows * partitions, partitions };
}

describe.each(databaseKinds)('memory and counted compute on %s', (kind) => {
  let t: TestDatabase;
  let seq = 0;

  async function community(slug: string) {
    const owner = await signUp(t.db, `mem-owner-${kind}-${++seq}`);
    const { id } = await owner.caller.community.create({ name: `Memory ${slug}`, slug, commissionBps: BPS, startingGrant: GRANT, inviteOnly: false });
    return { id, owner: owner.caller, ownerId: owner.member.id };
  }

  async function member(slug: string, communityId: string, donate?: { memoryMb: number }): Promise<Member> {
    const m = await signUp(t.db, `mem-${kind}-${++seq}`);
    await m.caller.community.join({ slug });
    const { device } = await m.caller.device.register({ name: 'tab', profile: phoneProfile });
    if (donate) await m.caller.compute.donate({ communityId, deviceId: device.id, on: true, floorPrice: 1_000, memoryMb: donate.memoryMb });
    return { caller: m.caller, memberId: m.member.id, deviceId: device.id };
  }

  const deadline = () => new Date(Date.now() + 3_600_000).toISOString();
  const balance = (c: Caller, communityId: string) => c.ledger.balance({ communityId });

  beforeAll(async () => {
    t = await freshDatabase(kind);
  });
  afterAll(() => t?.drop());

  it('a memory-bound job goes only to devices selling its working set (24 concurrent leases), completes with the reference join and pays MEMORY and COMPUTE to the donors that ran it, once', async () => {
    const { id: communityId, owner } = await community('mem-a');
    const big = await Promise.all([1, 2, 3].map(() => member('mem-a', communityId, { memoryMb: 64 })));
    const small = await Promise.all([1, 2, 3, 4].map((i) => member('mem-a', communityId, i % 2 ? { memoryMb: 1 } : { memoryMb: 0 })));
    // offering more memory than the device measured (4 GB) is refused
    await expect(big[0]!.caller.compute.donate({ communityId, deviceId: big[0]!.deviceId, on: true, floorPrice: 1_000, memoryMb: 8_192 })).rejects.toThrow(/measured 4,096 MB/);

    const memoryPrice = 5 * CREDIT;
    const params = { seed: 1234, workingSetMb: 2, probePerBuild: 2 };
    const job = await owner.compute.submitJob({ communityId, kernel: 'hash-join', params, units: 4, replication: 2, quorum: 2, deadline: deadline(), pricePerUnit: 2_000, memoryPrice });
    expect(job.terms).toMatchObject({ workingSetMb: 2, memoryPrice, memoryDevices: 3 });
    // a job with a working set must price its memory
    await expect(owner.compute.submitJob({ communityId, kernel: 'hash-join', params, units: 2, replication: 2, quorum: 2, deadline: deadline(), pricePerUnit: 2_000 })).rejects.toThrow(/price you pay per MB·hour/);
    const other = await owner.compute.submitJob({ communityId, kernel: 'montecarlo-pi', params: { samples: 64 * 4, seed: 3 }, units: 4, replication: 2, quorum: 2, deadline: deadline(), pricePerUnit: 2_000 });

    // 24 lease calls at once: six from each small device
    const smallLeases = await Promise.all(small.flatMap((d) => Array.from({ length: 6 }, () => d.caller.compute.lease({ deviceId: d.deviceId, max: 4 }))));
    expect(smallLeases.flat().every((l) => l.jobId === other.id)).toBe(true);
    expect(smallLeases.flat().length).toBeGreaterThan(0);
    const smallIds = new Set(small.map((d) => d.deviceId));
    expect((await t.db.replica.findMany({ where: { jobId: job.id }, select: { deviceId: true } })).filter((r) => smallIds.has(r.deviceId))).toEqual([]);

    // the three big devices run it to the end
    for (let round = 0; round < 20; round++) {
      const leases = await Promise.all(big.map((d) => d.caller.compute.lease({ deviceId: d.deviceId, max: 8 })));
      await Promise.all(big.flatMap((d, i) => leases[i]!.map((l) => d.caller.compute.submitResult({ leaseId: l.leaseId, output: l.jobId === job.id ? hashJoin.run(l.input) : pi.run(l.input) }))));
      if ((await owner.compute.job({ jobId: job.id })).status !== 'OPEN') break;
    }
    const done = await owner.compute.job({ jobId: job.id });
    expect(done.status).toBe('COMPLETED');
    expect(done.result).toEqual(referenceJoin(params.seed, params.workingSetMb, params.probePerBuild, 4));
    expect((await t.db.replica.findMany({ where: { jobId: job.id }, select: { deviceId: true } })).filter((r) => smallIds.has(r.deviceId))).toEqual([]);

    // what each donor is owed: its validated replicas, by work unit (COMPUTE) and by MB × counted run time (MEMORY)
    await Promise.all(Array.from({ length: 20 }, () => settleJob(t.db, job.id)));
    const units = await t.db.workUnit.findMany({ where: { jobId: job.id }, select: { id: true, input: true, output: true } });
    const cpuUs = new Map(units.map((u) => [u.id, Math.min(hashJoin.cost(u.input as Json, u.output as Json).cpuUs, hashJoin.maxCpuUs!(u.input as Json))]));
    const memoryContracts = await t.db.contract.findMany({ where: { category: 'MEMORY', buyOrder: { jobId: job.id } }, select: { sellerId: true, state: true, quantity: true, events: { select: { action: true } } } });
    expect(memoryContracts).toHaveLength(3);
    for (const d of big) {
      const valid = await t.db.replica.findMany({ where: { jobId: job.id, deviceId: d.deviceId, status: 'VALID' }, select: { unitId: true } });
      expect(valid.length).toBeGreaterThan(0);
      const mbUs = valid.reduce((sum, r) => sum + 2 * cpuUs.get(r.unitId)!, 0);
      const quantity = Math.ceil(mbUs / MB_US_PER_MB_HOUR);
      const mine = memoryContracts.filter((c) => c.sellerId === d.memberId);
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ state: 'SETTLED', quantity });
      expect(mine[0]!.events.map((e) => e.action)).toEqual(['MATCH', 'SETTLE_PROVEN']);
      const held = fillAmounts(quantity, memoryPrice, BPS);
      const memoryPay = proRataAmounts(held.buyerPays, held.buyerPays - held.sellerGets, mbUs, quantity * MB_US_PER_MB_HOUR).sellerGets;
      expect(memoryPay).toBeGreaterThan(0);
      // the pi job's units this device validated are paid too, by work unit only
      const piValid = await t.db.replica.count({ where: { jobId: other.id, deviceId: d.deviceId, status: 'VALID' } });
      const otherDone = (await owner.compute.job({ jobId: other.id })).status !== 'OPEN';
      const computePay = fillAmounts(valid.length, 2_000, BPS).sellerGets + (otherDone && piValid ? fillAmounts(piValid, 2_000, BPS).sellerGets : 0);
      expect(await balance(d.caller, communityId)).toEqual({ available: GRANT + computePay + memoryPay, escrow: 0 });
    }
    const memoryOrder = await t.db.order.findFirstOrThrow({ where: { jobId: job.id, category: 'MEMORY' }, select: { status: true } });
    expect(memoryOrder.status).toBe('CANCELLED');
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it("a GFLOP contract is spent by a job: only its seller's devices run it, and it settles once from the kernel's FLOP count of the validated units", async () => {
    const { id: communityId } = await community('mem-b');
    const seller = await member('mem-b', communityId, { memoryMb: 0 });
    const stranger = await member('mem-b', communityId, { memoryMb: 0 });
    const buyer = await member('mem-b', communityId);
    const windowStart = new Date(Date.now() - 60_000).toISOString();
    const windowEnd = new Date(Date.now() + 2 * 3_600_000).toISOString();
    const price = 10 * CREDIT;
    await seller.caller.market.placeOrder({ communityId, side: 'SELL', category: 'COMPUTE', unit: 'GFLOP', kind: 'STANDING', quantity: 1, price, windowStart, windowEnd });
    const bid = await buyer.caller.market.placeOrder({ communityId, side: 'BUY', category: 'COMPUTE', unit: 'GFLOP', kind: 'STANDING', quantity: 1, price, windowStart: new Date(Date.now() + 1_000).toISOString(), windowEnd: new Date(Date.now() + 3_600_000 + 60_000).toISOString() });
    const contractId = bid.fills[0]!.contractId;
    const held = fillAmounts(1, price, BPS);

    const params = { width: 64, height: 64, maxIterations: 3_000, view: { centerX: -0.5, centerY: 0, scale: 3 } };
    const submit = () => buyer.caller.compute.submitJob({ communityId, kernel: 'mandelbrot', params, units: 4, replication: 2, quorum: 2, deadline: deadline(), pricePerUnit: 0, fundingContractId: contractId });
    // a contract pays for one job: of 20 submissions at once, one spends it
    const tries = await Promise.allSettled(Array.from({ length: 20 }, submit));
    const made = tries.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<typeof submit>>> => r.status === 'fulfilled');
    expect(made).toHaveLength(1);
    for (const r of tries) if (r.status === 'rejected') expect(String(r.reason)).toMatch(/already spends that contract/);
    const job = made[0]!.value;
    expect(job.pricePerUnit).toBe(0);
    expect(job.terms?.funding).toMatchObject({ contractId, unit: 'GFLOP', quantity: 1 });
    // integer kernels cannot spend GFLOP
    await expect(buyer.caller.compute.submitJob({ communityId, kernel: 'prime-sieve', params: { upTo: 1000 }, units: 1, replication: 2, quorum: 2, deadline: deadline(), pricePerUnit: 0, fundingContractId: contractId })).rejects.toThrow(/integer work only/);

    // another donor is never given its units
    expect(await stranger.caller.compute.lease({ deviceId: stranger.deviceId, max: 16 })).toEqual([]);
    // the seller's device computes each unit; the buyer confirms on their own device (no second member can)
    const outputs = new Map<number, Json>();
    for (let round = 0; round < 10 && outputs.size < job.unitCount; round++) {
      for (const l of await seller.caller.compute.lease({ deviceId: seller.deviceId, max: 16 })) {
        const output = mandelbrot.run(l.input);
        outputs.set(l.unitIndex, output);
        await seller.caller.compute.submitResult({ leaseId: l.leaseId, output });
      }
    }
    expect(outputs.size).toBe(job.unitCount);
    for (const [unitIndex, output] of outputs) await buyer.caller.compute.confirm({ jobId: job.id, unitIndex, output });
    const done = await buyer.caller.compute.job({ jobId: job.id });
    expect(done.status).toBe('COMPLETED');

    // the contract settles from the kernel's own counts: twenty settlements at once settle it once
    await Promise.all(Array.from({ length: 20 }, () => settleJob(t.db, job.id)));
    const units = await t.db.workUnit.findMany({ where: { jobId: job.id }, select: { input: true, output: true } });
    const flop = units.reduce((sum, u) => sum + mandelbrot.cost(u.input as Json, u.output as Json).flop, 0);
    expect(flop).toBeGreaterThan(10_000_000);
    expect(done.terms?.funding?.flop).toBe(flop);
    const paid = proRataAmounts(held.buyerPays, held.buyerPays - held.sellerGets, Math.floor(flop / 1000), 1_000_000);
    const contract = await buyer.caller.contract.get({ contractId });
    expect(contract.state).toBe('SETTLED');
    expect(contract.events.filter((e) => e.action === 'SETTLE_PROVEN')).toHaveLength(1);
    expect(contract.events.at(-1)!.note).toMatch(/GFLOP of 1 spent by 4 validated units/);
    expect(await balance(seller.caller, communityId)).toEqual({ available: GRANT + paid.sellerGets, escrow: 0 });
    expect(await balance(buyer.caller, communityId)).toEqual({ available: GRANT - paid.paid, escrow: 0 });
    expect(await balance(stranger.caller, communityId)).toEqual({ available: GRANT, escrow: 0 });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  /** A contract from `seller` to `buyer` for `quantity` of category/unit at `price`, matched now; its id. */
  async function contractFor(communityId: string, seller: Member, buyer: Member, category: 'COMPUTE' | 'MEMORY', unit: 'WORK_UNIT' | 'MB_HOUR', quantity: number, price: number) {
    const windowStart = new Date(Date.now() - 60_000).toISOString();
    const windowEnd = new Date(Date.now() + 2 * 3_600_000).toISOString();
    await seller.caller.market.placeOrder({ communityId, side: 'SELL', category, unit, kind: 'STANDING', quantity, price, windowStart, windowEnd });
    const bid = await buyer.caller.market.placeOrder({ communityId, side: 'BUY', category, unit, kind: 'STANDING', quantity, price, windowStart: new Date(Date.now() + 1_000).toISOString(), windowEnd: new Date(Date.now() + 3_600_000 + 60_000).toISOString() });
    return bid.fills[0]!.contractId;
  }

  it("a work-unit contract is never settled on the seller's word; a job spends it and it pays for the units validated, pro rata", async () => {
    const { id: communityId } = await community('mem-c');
    const seller = await member('mem-c', communityId, { memoryMb: 0 });
    const buyer = await member('mem-c', communityId);
    const price = CREDIT;
    const contractId = await contractFor(communityId, seller, buyer, 'COMPUTE', 'WORK_UNIT', 10, price);
    const held = fillAmounts(10, price, BPS);
    await expect(seller.caller.contract.reportDelivered({ contractId })).rejects.toThrow(/pays from measured delivery/);

    const job = await buyer.caller.compute.submitJob({ communityId, kernel: 'prime-sieve', params: { upTo: 4_000 }, units: 4, replication: 2, quorum: 2, deadline: deadline(), pricePerUnit: 0, fundingContractId: contractId });
    expect(job.terms?.funding).toMatchObject({ contractId, unit: 'WORK_UNIT', quantity: 10, units: 0 });
    const sieve: AnyKernel = getKernel('prime-sieve');
    const outputs = new Map<number, Json>();
    for (let round = 0; round < 10 && outputs.size < job.unitCount; round++) {
      for (const l of await seller.caller.compute.lease({ deviceId: seller.deviceId, max: 16 })) {
        const output = sieve.run(l.input);
        outputs.set(l.unitIndex, output);
        await seller.caller.compute.submitResult({ leaseId: l.leaseId, output });
      }
    }
    for (const [unitIndex, output] of outputs) await buyer.caller.compute.confirm({ jobId: job.id, unitIndex, output });
    expect((await buyer.caller.compute.job({ jobId: job.id })).status).toBe('COMPLETED');
    await Promise.all(Array.from({ length: 20 }, () => settleJob(t.db, job.id)));

    const paid = proRataAmounts(held.buyerPays, held.buyerPays - held.sellerGets, job.unitCount, 10);
    const contract = await buyer.caller.contract.get({ contractId });
    expect(contract.state).toBe('SETTLED');
    expect(contract.events.filter((e) => e.action === 'SETTLE_PROVEN')).toHaveLength(1);
    expect(contract.events.at(-1)!.note).toMatch(new RegExp(`${job.unitCount} of 10 work units spent`));
    expect(await balance(seller.caller, communityId)).toEqual({ available: GRANT + paid.sellerGets, escrow: 0 });
    expect(await balance(buyer.caller, communityId)).toEqual({ available: GRANT - paid.paid, escrow: 0 });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it("a memory contract pays a hash-join job's memory: only the seller's devices offering the working set run it, the units are paid as usual and the contract from MB × run time", async () => {
    const { id: communityId } = await community('mem-d');
    const seller = await member('mem-d', communityId, { memoryMb: 64 });
    const stranger = await member('mem-d', communityId, { memoryMb: 64 });
    const buyer = await member('mem-d', communityId);
    const memoryPrice = 5 * CREDIT;
    const contractId = await contractFor(communityId, seller, buyer, 'MEMORY', 'MB_HOUR', 1, memoryPrice);
    const held = fillAmounts(1, memoryPrice, BPS);
    await expect(seller.caller.contract.reportDelivered({ contractId })).rejects.toThrow(/pays from measured delivery/);

    const params = { seed: 99, workingSetMb: 2, probePerBuild: 2 };
    const base = { communityId, kernel: 'hash-join' as const, params, units: 2, replication: 2, quorum: 2, deadline: deadline(), fundingContractId: contractId };
    // a memory contract pays memory, not the work units; and needs units that use memory
    await expect(buyer.caller.compute.submitJob({ ...base, pricePerUnit: 0 })).rejects.toThrow(/memory contract pays for memory, not for the work units/);
    await expect(buyer.caller.compute.submitJob({ ...base, pricePerUnit: 2_000, memoryPrice })).rejects.toThrow(/leave the memory price out/);
    await expect(buyer.caller.compute.submitJob({ ...base, kernel: 'prime-sieve', params: { upTo: 1000 }, pricePerUnit: 2_000 })).rejects.toThrow(/need no working set/);
    const job = await buyer.caller.compute.submitJob({ ...base, pricePerUnit: 2_000 });
    expect(job.terms).toMatchObject({ workingSetMb: 2, memoryDevices: 1, funding: { contractId, unit: 'MB_HOUR', quantity: 1 } });
    expect(await t.db.order.count({ where: { jobId: job.id, category: 'MEMORY' } })).toBe(0);

    expect(await stranger.caller.compute.lease({ deviceId: stranger.deviceId, max: 16 })).toEqual([]);
    const outputs = new Map<number, Json>();
    for (let round = 0; round < 10 && outputs.size < job.unitCount; round++) {
      for (const l of await seller.caller.compute.lease({ deviceId: seller.deviceId, max: 16 })) {
        const output = hashJoin.run(l.input);
        outputs.set(l.unitIndex, output);
        await seller.caller.compute.submitResult({ leaseId: l.leaseId, output });
      }
    }
    for (const [unitIndex, output] of outputs) await buyer.caller.compute.confirm({ jobId: job.id, unitIndex, output });
    expect((await buyer.caller.compute.job({ jobId: job.id })).status).toBe('COMPLETED');
    await Promise.all(Array.from({ length: 20 }, () => settleJob(t.db, job.id)));

    const units = await t.db.workUnit.findMany({ where: { jobId: job.id }, select: { id: true, input: true, output: true } });
    const cpuUs = new Map(units.map((u) => [u.id, Math.min(hashJoin.cost(u.input as Json, u.output as Json).cpuUs, hashJoin.maxCpuUs!(u.input as Json))]));
    const valid = await t.db.replica.findMany({ where: { jobId: job.id, status: 'VALID' }, select: { unitId: true, deviceId: true } });
    expect(valid.every((r) => r.deviceId === seller.deviceId)).toBe(true);
    const mbUs = valid.reduce((sum, r) => sum + 2 * cpuUs.get(r.unitId)!, 0);
    expect(mbUs).toBeGreaterThan(0);
    const memoryPay = proRataAmounts(held.buyerPays, held.buyerPays - held.sellerGets, mbUs, MB_US_PER_MB_HOUR);
    const computePay = fillAmounts(valid.length, 2_000, BPS);
    const contract = await buyer.caller.contract.get({ contractId });
    expect(contract.state).toBe('SETTLED');
    expect(contract.events.filter((e) => e.action === 'SETTLE_PROVEN')).toHaveLength(1);
    expect(await balance(seller.caller, communityId)).toEqual({ available: GRANT + memoryPay.sellerGets + computePay.sellerGets, escrow: 0 });
    expect(await balance(buyer.caller, communityId)).toEqual({ available: GRANT - memoryPay.paid - computePay.buyerPays, escrow: 0 });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });
});
