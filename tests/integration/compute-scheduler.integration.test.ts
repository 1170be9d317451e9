import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '@/server/db/client';
import { ledgerTotals } from '@/server/ledger/repository';
import { forgetRegistry, registryFor } from '@/server/compute/writer';
import { getKernel } from '@/workers/kernels';
import { callerWith, signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CREDIT = 1_000_000;
const pi = getKernel('montecarlo-pi');
type PiInput = Parameters<typeof pi.run>[0];

type Donor = { caller: Caller; token: string; memberId: string; deviceId: string };

describe.each(databaseKinds)('compute scheduler on %s', (kind) => {
  let t: TestDatabase;
  let owner: Caller;
  let seq = 0;

  async function community(slug: string) {
    const { id } = await owner.community.create({ name: `Scheduler ${slug}`, slug, commissionBps: 100, startingGrant: 1_000 * CREDIT, inviteOnly: false });
    return id;
  }

  async function donors(communityId: string, slug: string, n: number): Promise<Donor[]> {
    return Promise.all(
      Array.from({ length: n }, async () => {
        const m = await signUp(t.db, `sched-${kind}-${++seq}`);
        await m.caller.community.join({ slug });
        const { device } = await m.caller.device.register({ name: 'tab', profile: phoneProfile });
        await m.caller.compute.donate({ communityId, deviceId: device.id, on: true, floorPrice: 1_000 });
        return { caller: m.caller, token: m.token, memberId: m.member.id, deviceId: device.id };
      }),
    );
  }

  const job = (communityId: string, units: number, seed = 7) =>
    owner.compute.submitJob({
      communityId, kernel: 'montecarlo-pi', params: { samples: units * 64, seed }, units, replication: 2, quorum: 2,
      deadline: new Date(Date.now() + 3_600_000).toISOString(), pricePerUnit: 2_000,
    });

  /** Every rule a job's replicas and contracts must keep, read back from the database. */
  async function assertSound(db: Db, jobId: string) {
    const units = await db.workUnit.findMany({ where: { jobId }, select: { id: true, requiredReplicas: true, replicas: { select: { deviceId: true, memberId: true, status: true } } } });
    for (const u of units) {
      const live = u.replicas.filter((r) => r.status !== 'INVALID');
      expect(live.length).toBeLessThanOrEqual(u.requiredReplicas);
      expect(new Set(u.replicas.map((r) => r.deviceId)).size).toBe(u.replicas.length);
      expect(new Set(u.replicas.map((r) => r.memberId)).size).toBe(u.replicas.length);
    }
    const contracts = await db.contract.findMany({ where: { buyOrder: { jobId } }, select: { id: true, quantity: true, sellOrder: { select: { deviceId: true } }, _count: { select: { replicas: true } } } });
    const devices = contracts.map((c) => c.sellOrder!.deviceId);
    expect(new Set(devices).size).toBe(devices.length); // one contract per device per job
    for (const c of contracts) expect(c._count.replicas).toBeLessThanOrEqual(c.quantity);
    const order = await db.order.findFirstOrThrow({ where: { jobId }, select: { quantity: true, remaining: true } });
    expect(contracts.reduce((sum, c) => sum + c.quantity, 0) + order.remaining).toBeLessThanOrEqual(order.quantity);
    expect(await ledgerTotals(db)).toEqual({ balances: 0, postings: 0 });
  }

  /** Each donor leases (max 16) and answers everything it got, all at once, until the job ends. */
  async function runJob(ds: Donor[], jobId: string) {
    for (let round = 0; round < 50; round++) {
      const leases = await Promise.all(ds.map((d) => d.caller.compute.lease({ deviceId: d.deviceId, max: 16 })));
      await Promise.all(ds.flatMap((d, i) => leases[i]!.map((l) => d.caller.compute.submitResult({ leaseId: l.leaseId, output: pi.run(l.input as PiInput) }).catch(() => null))));
      const view = await owner.compute.job({ jobId });
      if (view.status !== 'OPEN') return view;
    }
    throw new Error('the job did not finish');
  }

  beforeAll(async () => {
    t = await freshDatabase(kind);
    owner = (await signUp(t.db, `owner-${kind}`)).caller;
  });
  afterAll(() => t?.drop());

  it('24 concurrent leases from different devices never pass the replication or the job, and each device gets one contract, grown by its later leases', async () => {
    const communityId = await community('sched-a');
    const ds = await donors(communityId, 'sched-a', 24);
    const small = await job(communityId, 6);
    const leases = await Promise.all(ds.map((d) => d.caller.compute.lease({ deviceId: d.deviceId, max: 4 })));
    const total = leases.reduce((sum, l) => sum + l.length, 0);
    // new donors are not trusted: each unit takes replication + 1 = 3 replicas, 18 in all
    expect(total).toBe(18);
    await assertSound(t.db, small.id);

    // a second lease of a device on the same job grows its contract instead of making another
    const bigger = await job(communityId, 8, 11);
    const d = ds[0]!;
    const first = await d.caller.compute.lease({ deviceId: d.deviceId, max: 2 });
    const second = await d.caller.compute.lease({ deviceId: d.deviceId, max: 3 });
    expect(first.filter((l) => l.jobId === bigger.id).length + second.filter((l) => l.jobId === bigger.id).length).toBe(5);
    const mine = await t.db.contract.findMany({ where: { buyOrder: { jobId: bigger.id }, sellerId: d.memberId }, select: { quantity: true, escrowed: true } });
    expect(mine).toHaveLength(1);
    expect(mine[0]!.quantity).toBe(5);
    await assertSound(t.db, bigger.id);
  });

  it('24 concurrent submissions of one lease count once', async () => {
    const communityId = await community('sched-b');
    const ds = await donors(communityId, 'sched-b', 2);
    const one = await job(communityId, 1, 3);
    const [lease] = await ds[0]!.caller.compute.lease({ deviceId: ds[0]!.deviceId, max: 1 });
    const output = pi.run(lease!.input as PiInput);
    const outcomes = await Promise.allSettled(Array.from({ length: 24 }, () => ds[0]!.caller.compute.submitResult({ leaseId: lease!.leaseId, output })));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(String(o.reason)).toMatch(/already submitted/);
    const replicas = await t.db.replica.findMany({ where: { jobId: one.id }, select: { status: true, submittedAt: true } });
    expect(replicas).toHaveLength(1);
    expect(replicas[0]!.status).toBe('SUBMITTED');

    // the other donor agrees: the unit validates once, the first donor is credited one valid result
    const [other] = await ds[1]!.caller.compute.lease({ deviceId: ds[1]!.deviceId, max: 1 });
    const again = await Promise.allSettled(Array.from({ length: 24 }, () => ds[1]!.caller.compute.submitResult({ leaseId: other!.leaseId, output: pi.run(other!.input as PiInput) })));
    expect(again.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(await t.db.device.findUniqueOrThrow({ where: { id: ds[0]!.deviceId }, select: { validResults: true } })).toEqual({ validResults: 1 });
    expect(await t.db.sweepstakesTicket.count({ where: { reference: lease!.leaseId } })).toBe(1);
    await assertSound(t.db, one.id);
  });

  it('a 256-unit job settles in chunks, exactly, while another job of the community keeps leasing', async () => {
    const communityId = await community('sched-c');
    const ds = await donors(communityId, 'sched-c', 10);
    const before = (await owner.ledger.balance({ communityId })).available;
    const big = await job(communityId, 256, 21);
    const other = await job(communityId, 64, 22);
    process.env.COMPUTE_SETTLE_CHUNK = '2';
    const registry = registryFor(t.db);
    const origin = registry.settle.bind(registry);
    const during: Promise<{ jobId: string }[]>[] = [];
    try {
      // a lease asked as the big job starts settling (9 contracts, 2 a transaction) is answered, from the other job
      registry.settle = (jobId: string) => {
        if (jobId === big.id && during.length === 0) during.push(ds[9]!.caller.compute.lease({ deviceId: ds[9]!.deviceId, max: 2 }));
        return origin(jobId);
      };
      const view = await runJob(ds.slice(0, 9), big.id);
      expect(view.status).toBe('COMPLETED');
      const leased = await during[0]!;
      expect(leased.length).toBe(2);
      expect(leased.every((l) => l.jobId === other.id)).toBe(true);
    } finally {
      registry.settle = origin;
      delete process.env.COMPUTE_SETTLE_CHUNK;
    }
    const contracts = await t.db.contract.findMany({ where: { buyOrder: { jobId: big.id } }, select: { state: true, quantity: true, price: true, escrowed: true, sellerCommission: true, buyerCommission: true, id: true } });
    expect(contracts.length).toBe(9);
    expect(contracts.every((c) => c.state === 'SETTLED' && c.escrowed === 0n)).toBe(true);
    const valid = await t.db.replica.count({ where: { jobId: big.id, status: 'VALID' } });
    expect(contracts.reduce((s, c) => s + c.quantity, 0)).toBe(valid);
    // the owner paid exactly each contract's value and the buyer's share of commission; the other job still holds its hold
    const paid = contracts.reduce((s, c) => s + c.quantity * Number(c.price) + Number(c.buyerCommission), 0);
    const otherHold = await t.db.order.findFirstOrThrow({ where: { jobId: other.id }, select: { reserved: true } });
    const otherContracts = await t.db.contract.findMany({ where: { buyOrder: { jobId: other.id } }, select: { escrowed: true } });
    const held = Number(otherHold.reserved) + otherContracts.reduce((s, c) => s + Number(c.escrowed), 0);
    const after = await owner.ledger.balance({ communityId });
    expect(after.escrow).toBe(held);
    expect(before - after.available).toBe(paid + held);
    const events = await t.db.contractEvent.groupBy({ by: ['action'], where: { contract: { buyOrder: { jobId: big.id } } }, _count: true });
    expect(Object.fromEntries(events.map((e) => [e.action, e._count]))).toMatchObject({ MATCH: 9, START: 9, REPORT_DELIVERED: 9, SIGN_OFF: 9 });
    await assertSound(t.db, big.id);
  });

  it('two coordinator processes lease one job at once within its rules; a fresh process picks up all that was not committed', async () => {
    const communityId = await community('sched-d');
    const ds = await donors(communityId, 'sched-d', 24);
    const shared = await job(communityId, 8, 31);
    // SQLite is one process by design: there, the second process is the same client after its restart
    const second = kind === 'postgres' ? createDb(t.url) : t.db;
    try {
      // the first process holds the job in memory, then loses that memory (a restart) before its next batch
      await ds[0]!.caller.compute.lease({ deviceId: ds[0]!.deviceId, max: 1 });
      forgetRegistry(t.db);
      const viaSecond = await Promise.all(ds.slice(1).map(async (d) => (await callerWith(second, d.token)).caller));
      const callers = ds.slice(1).map((d, i) => (i % 2 ? d.caller : viaSecond[i]!));
      const others = ds.slice(1).map((d, i) => (i % 2 ? viaSecond[i]! : d.caller));
      const leases = await Promise.all(ds.slice(1).map((d, i) => callers[i]!.compute.lease({ deviceId: d.deviceId, max: 4 })));
      await assertSound(t.db, shared.id);
      // a proposal one process made from memory that the other had taken meanwhile is refused at commit:
      // asking again hands out what is left, until 8 units × 3 replicas (one taken before) are out, none twice
      for (let round = 0; round < 5 && leases.flat().length + 1 < 24; round++) {
        const more = await Promise.all(ds.slice(1).map((d, i) => callers[i]!.compute.lease({ deviceId: d.deviceId, max: 4 })));
        more.forEach((l, i) => leases[i]!.push(...l));
        await assertSound(t.db, shared.id);
      }
      expect(leases.flat().length + 1).toBe(24);
      // results go through the other process; once a unit's quorum agrees the job can end, dropping the leases still out
      const answers = await Promise.allSettled(ds.slice(1).flatMap((_, i) => leases[i]!.map((l) => others[i]!.compute.submitResult({ leaseId: l.leaseId, output: pi.run(l.input as PiInput) }))));
      for (const a of answers) if (a.status === 'rejected') expect(String(a.reason)).toMatch(/no lease/);
      expect((await t.db.workUnit.count({ where: { jobId: shared.id, status: 'VALIDATED' } }))).toBe(8);
      await Promise.all([registryFor(t.db).settle(shared.id), registryFor(second).settle(shared.id)]);
    } finally {
      if (second !== t.db) await second.$disconnect();
    }
    await assertSound(t.db, shared.id);
  });

  it('24 donors answer a unit and ask for more work in the same call: each result counts once, the leases keep the rules, and a refused result takes none', async () => {
    const communityId = await community('sched-next');
    const ds = await donors(communityId, 'sched-next', 24);
    const work = await job(communityId, 16, 21);
    const first = await Promise.all(ds.map((d) => d.caller.compute.lease({ deviceId: d.deviceId, max: 1 })));
    expect(first.every((l) => l.length === 1)).toBe(true);
    const answers = await Promise.all(
      ds.map((d, i) => d.caller.compute.submitResult({ leaseId: first[i]![0]!.leaseId, output: pi.run(first[i]![0]!.input as PiInput), next: { deviceId: d.deviceId, max: 2 } })),
    );
    const again = answers.flatMap((a) => a.leases ?? []);
    // 16 units × 3 replicas (new donors): 24 were out, so 24 more at most; none of a unit the device already held
    expect(again.length).toBe(24);
    for (const [i, a] of answers.entries()) {
      expect(a.leaseError).toBeUndefined();
      for (const l of a.leases ?? []) expect(l.unitIndex).not.toBe(first[i]![0]!.unitIndex);
    }
    const replicas = await t.db.replica.findMany({ where: { jobId: work.id }, select: { status: true } });
    expect(replicas.filter((r) => r.status !== 'LEASED')).toHaveLength(24);
    expect(replicas.filter((r) => r.status === 'LEASED')).toHaveLength(24);
    await assertSound(t.db, work.id);

    // a result refused (already submitted) gives back what was leased with it
    const d = ds[0]!;
    const held = () => t.db.replica.count({ where: { deviceId: d.deviceId, status: 'LEASED' } });
    const before = await held();
    const other = await job(communityId, 4, 23);
    await expect(d.caller.compute.submitResult({ leaseId: first[0]![0]!.leaseId, output: pi.run(first[0]![0]!.input as PiInput), next: { deviceId: d.deviceId, max: 2 } })).rejects.toThrow(/already submitted/);
    expect(await held()).toBe(before);
    // and the units given back are leased again by the next device that asks
    const later = await ds[1]!.caller.compute.lease({ deviceId: ds[1]!.deviceId, max: 4 });
    expect(later.filter((l) => l.jobId === other.id).length).toBeGreaterThan(0);
    await assertSound(t.db, other.id);
  });
});
