import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerTotals } from '@/server/ledger/repository';
import { LEASE_TTL_MS } from '@/server/compute/leases';
import { sweepCompute } from '@/server/compute/sweep';
import { COMPUTE_CATEGORY, finishJob } from '@/server/compute/jobs';
import { registryFor } from '@/server/compute/writer';
import { lockBook } from '@/server/db/book-lock';
import { withOutbox } from '@/server/live/outbox';
import { getKernel } from '@/workers/kernels';
import { decodeBase64, encodeBase64 } from '@/workers/kernels/shared';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CREDIT = 1_000_000;
const mandelbrot = getKernel('mandelbrot');
const params = { width: 256, height: 256, maxIterations: 200, view: { centerX: -0.5, centerY: 0, scale: 3 } };


type Donor = { caller: Caller; memberId: string; deviceId: string; cheat: boolean };

/** What a cheating donor sends: a well-formed tile with its first pixel's count changed. */
function corrupt(output: { x: number; y: number; w: number; h: number; counts: string }) {
  const bytes = decodeBase64(output.counts);
  bytes[0] = (bytes[0]! + 1) % 256;
  return { ...output, counts: encodeBase64(bytes) };
}

describe.each(databaseKinds)('browser compute on %s', (kind) => {
  let t: TestDatabase;
  let communityId: string;
  let owner: Caller;
  let seq = 0;

  async function donor(cheat = false): Promise<Donor> {
    const m = await signUp(t.db, `donor-${++seq}`);
    await m.caller.community.join({ slug: 'compute-test' });
    const { device } = await m.caller.device.register({ name: 'tab', profile: phoneProfile });
    await m.caller.compute.donate({ communityId, deviceId: device.id, on: true, floorPrice: 1_000 });
    return { caller: m.caller, memberId: m.member.id, deviceId: device.id, cheat };
  }

  /** Each donor in turn leases a few units, computes them (or lies) and returns the results. */
  async function work(donors: Donor[], jobId: string, rounds = 200) {
    for (let round = 0; round < rounds; round++) {
      let leased = 0;
      for (const d of donors) {
        const leases = await d.caller.compute.lease({ deviceId: d.deviceId, max: 4 });
        leased += leases.length;
        for (const lease of leases) {
          expect(lease.kernel).toBe('mandelbrot');
          const output = mandelbrot.run(lease.input as Parameters<typeof mandelbrot.run>[0]);
          await d.caller.compute.submitResult({ leaseId: lease.leaseId, output: d.cheat ? corrupt(output) : output });
        }
      }
      const job = await owner.compute.job({ jobId });
      if (job.status !== 'OPEN') return job;
      if (leased === 0) throw new Error(`no work leased in round ${round} but the job is ${job.status} with ${JSON.stringify(job.progress)}`);
    }
    throw new Error('the job did not finish');
  }

  beforeAll(async () => {
    t = await freshDatabase(kind);
    const o = await signUp(t.db, 'researcher');
    owner = o.caller;
    ({ id: communityId } = await owner.community.create({ name: 'Compute test', slug: 'compute-test', commissionBps: 100, startingGrant: 1_000 * CREDIT, inviteOnly: false }));
  });
  afterAll(() => t?.drop());

  it('a 64-unit Mandelbrot job over three donors, one cheating: the result equals the reference, the cheater is not paid, escrow settles', async () => {
    const donors = [await donor(), await donor(), await donor(true)];
    const submitted = await owner.compute.submitJob({
      communityId, kernel: 'mandelbrot', params, units: 64, replication: 2, quorum: 2,
      deadline: new Date(Date.now() + 3_600_000).toISOString(), pricePerUnit: 10_000,
    });
    expect(submitted).toMatchObject({ unitCount: 64, status: 'OPEN', progress: { validated: 0, pending: 64 } });
    const held = (await owner.ledger.balance({ communityId })).escrow;
    expect(held).toBeGreaterThan(0);

    // a donor that vanishes mid-unit: its leases expire and the units go back to the pool
    const vanished = await donors[0]!.caller.compute.lease({ deviceId: donors[0]!.deviceId, max: 2 });
    expect(vanished).toHaveLength(2);
    expect(await sweepCompute(t.db, new Date(Date.now() + LEASE_TTL_MS + 1_000))).toMatchObject({ leasesExpired: 2 });
    await rejects(donors[0]!.caller.compute.submitResult({ leaseId: vanished[0]!.leaseId, output: mandelbrot.run(vanished[0]!.input as Parameters<typeof mandelbrot.run>[0]) }), 'NOT_FOUND');

    const job = await work(donors, submitted.id);
    expect(job.status).toBe('COMPLETED');
    expect(job.progress).toMatchObject({ validated: 64, failed: 0, pending: 0 });

    const reference = mandelbrot.assemble(params, mandelbrot.split(params, 64).map((unit) => mandelbrot.run(unit)));
    expect(job.result).toEqual(reference);

    const stats = await Promise.all(donors.map((d) => d.caller.compute.donorStats({ deviceId: d.deviceId })));
    expect(stats[2]).toMatchObject({ validResults: 0, earned: 0 });
    expect(stats[2]!.invalidResults).toBeGreaterThan(0);
    for (const honest of stats.slice(0, 2)) {
      expect(honest!.invalidResults).toBe(0);
      expect(honest!.earned).toBeGreaterThan(0);
    }
    const cheaterContracts = await t.db.contract.findMany({ where: { sellerId: donors[2]!.memberId } });
    expect(cheaterContracts.length).toBeGreaterThan(0);
    expect(cheaterContracts.every((c) => c.state === 'REFUNDED')).toBe(true);

    // every contract of the job ended, nothing is left in escrow, and the ledger balances
    const contracts = await t.db.contract.findMany({ where: { buyOrder: { jobId: submitted.id } } });
    expect(contracts.every((c) => c.state === 'SETTLED' || c.state === 'REFUNDED')).toBe(true);
    expect((await owner.ledger.balance({ communityId })).escrow).toBe(0);
    const paid = contracts.filter((c) => c.state === 'SETTLED').reduce((sum, c) => sum + c.quantity, 0);
    expect(paid).toBe(stats[0]!.validResults + stats[1]!.validResults);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('refuses bad jobs, leases and results with clear errors, crediting nothing', async () => {
    const d = await donor();
    const job = (input: Record<string, unknown>) =>
      owner.compute.submitJob({ communityId, kernel: 'mandelbrot', params, units: 4, replication: 2, quorum: 2, deadline: new Date(Date.now() + 3_600_000).toISOString(), pricePerUnit: 1_000, ...input } as Parameters<Caller['compute']['submitJob']>[0]);
    await rejects(job({ kernel: 'bitcoin-miner' }), 'BAD_REQUEST');
    await rejects(job({ replication: 1 }), 'BAD_REQUEST', /at least 2/);
    await rejects(job({ quorum: 3 }), 'BAD_REQUEST', /quorum cannot be larger/);
    await rejects(job({ params: { ...params, width: 100_000 } }), 'BAD_REQUEST', /Parameters for/);
    await rejects(job({ kernel: 'custom', params: { code: 'x'.repeat(600_000), inputs: [1] } }), 'BAD_REQUEST', /KiB/);
    await rejects(job({ deadline: new Date(Date.now() - 1_000).toISOString() }), 'BAD_REQUEST', /deadline/);
    await rejects(job({ pricePerUnit: 1_000_000 * CREDIT, units: 64 }), 'CONFLICT', /escrow/);

    const outsider = await signUp(t.db, `outsider-${++seq}`);
    const { device } = await outsider.caller.device.register({ name: 'x', profile: phoneProfile });
    await rejects(outsider.caller.compute.lease({ deviceId: device.id, max: 1 }), 'PRECONDITION_FAILED', /not donating/);
    await rejects(outsider.caller.compute.lease({ deviceId: d.deviceId, max: 1 }), 'NOT_FOUND');

    const small = await job({});
    // a donor whose floor is above the job's price is not given its work
    await d.caller.compute.donate({ communityId, deviceId: d.deviceId, on: true, floorPrice: 5_000 });
    expect(await d.caller.compute.lease({ deviceId: d.deviceId, max: 1 })).toEqual([]);
    await d.caller.compute.donate({ communityId, deviceId: d.deviceId, on: true, floorPrice: 1_000 });
    const [lease] = await d.caller.compute.lease({ deviceId: d.deviceId, max: 1 });
    expect(lease).toBeDefined();
    await rejects(outsider.caller.compute.submitResult({ leaseId: lease!.leaseId, output: {} }), 'NOT_FOUND');
    await rejects(d.caller.compute.submitResult({ leaseId: lease!.leaseId, output: { nonsense: true } }), 'BAD_REQUEST');
    await rejects(d.caller.compute.submitResult({ leaseId: 'no-such-lease', output: {} }), 'NOT_FOUND');
    const good = mandelbrot.run(lease!.input as Parameters<typeof mandelbrot.run>[0]);
    expect(await d.caller.compute.submitResult({ leaseId: lease!.leaseId, output: good })).toMatchObject({ status: 'SUBMITTED', unitStatus: 'PENDING' });
    await rejects(d.caller.compute.submitResult({ leaseId: lease!.leaseId, output: good }), 'CONFLICT', /already submitted/);

    // a job past its deadline ends: what was not validated is refunded, the donor is paid nothing
    await sweepCompute(t.db, new Date(Date.now() + 2 * 3_600_000));
    expect((await owner.compute.job({ jobId: small.id })).status).toBe('EXPIRED');
    expect((await owner.ledger.balance({ communityId })).escrow).toBe(0);
    expect((await d.caller.compute.donorStats({ deviceId: d.deviceId }))!.earned).toBe(0);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it("settles on the next sweep a job that ended with its contracts still open (the process stopped before settling), and no one else's", async () => {
    const d = await donor();
    const job = await owner.compute.submitJob({ communityId, kernel: 'mandelbrot', params, units: 4, replication: 2, quorum: 2, deadline: new Date(Date.now() + 3_600_000).toISOString(), pricePerUnit: 1_000 });
    const [lease] = await d.caller.compute.lease({ deviceId: d.deviceId, max: 1 });
    expect(lease).toBeDefined();
    // a market contract of the same community, open until its window: the sweep leaves it alone
    const window = { windowStart: new Date(Date.now() + 3_600_000).toISOString(), windowEnd: new Date(Date.now() + 7_200_000).toISOString() };
    await d.caller.market.placeOrder({ communityId, side: 'SELL', category: 'NETWORK', unit: 'MB', kind: 'STANDING', quantity: 2, price: CREDIT, ...window });
    const { fills } = await owner.market.placeOrder({ communityId, side: 'BUY', category: 'NETWORK', unit: 'MB', kind: 'STANDING', quantity: 2, price: CREDIT, ...window });
    expect(fills).toHaveLength(1);

    // the job ends (its deadline, say) and the process stops before its settlement runs
    await withOutbox(t.db, async (tx, outbox) => {
      await lockBook(tx, communityId, COMPUTE_CATEGORY);
      expect(await finishJob(tx, job.id, 'EXPIRED', outbox, new Date())).toBe(true);
    });
    registryFor(t.db).markJobsChanged(communityId);
    const open = { state: { in: ['MATCHED', 'ACTIVE'] as ('MATCHED' | 'ACTIVE')[] } };
    expect(await t.db.contract.count({ where: { buyOrder: { jobId: job.id }, ...open } })).toBeGreaterThan(0);

    await sweepCompute(t.db);
    expect(await t.db.contract.count({ where: { buyOrder: { jobId: job.id }, ...open } })).toBe(0);
    expect(await t.db.contract.findUniqueOrThrow({ where: { id: fills[0]!.contractId } })).toMatchObject({ state: 'MATCHED' });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });
});
