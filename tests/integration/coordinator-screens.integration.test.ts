/**
 * The procedures the coordinator screens and the device screen added: `admin.pool` (what the community pool
 * holds, for the coordinator only) and `compute.waitingJobs` (open jobs in my communities and what they pay).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejects } from '../support/assertions';
import { callerWith, signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';

const CREDIT = 1_000_000;
const params = { width: 64, height: 64, maxIterations: 50, view: { centerX: -0.5, centerY: 0, scale: 3 } };
const hourFromNow = () => new Date(Date.now() + 3_600_000).toISOString();

describe.each(databaseKinds)('coordinator and device screens on %s', (kind) => {
  let t: TestDatabase;
  let coordinator: Caller;
  let member: Caller;
  let outsider: Caller;
  let communityId: string;
  let otherId: string;

  beforeAll(async () => {
    t = await freshDatabase(kind);
    coordinator = (await signUp(t.db, 'cs-coordinator')).caller;
    member = (await signUp(t.db, 'cs-member')).caller;
    outsider = (await signUp(t.db, 'cs-outsider')).caller;
    ({ id: communityId } = await coordinator.community.create({ name: 'Screens town', slug: 'screens-town', commissionBps: 200, startingGrant: 50 * CREDIT, inviteOnly: false }));
    ({ id: otherId } = await outsider.community.create({ name: 'Elsewhere', slug: 'elsewhere', commissionBps: 200, startingGrant: 50 * CREDIT, inviteOnly: false }));
    await member.community.join({ slug: 'screens-town' });
  });
  afterAll(() => t?.drop());

  it('admin.pool shows what the pool holds after funding, and counts open pool offers; members and outsiders are refused', async () => {
    expect(await coordinator.admin.pool({ communityId })).toEqual({ pool: 0, sweepstakes: 0, openPoolOffers: 0 });
    await coordinator.admin.fundPool({ communityId, amount: 7 * CREDIT });
    await coordinator.barter.offer({ communityId, give: [{ category: 'NETWORK', unit: 'MB', quantity: 100 }], want: [{ category: 'COMPUTE', unit: 'WORK_UNIT', quantity: 3 }], fromPool: true });
    expect(await coordinator.admin.pool({ communityId })).toEqual({ pool: 7 * CREDIT, sweepstakes: 0, openPoolOffers: 1 });
    await rejects(member.admin.pool({ communityId }), 'FORBIDDEN');
    await rejects(outsider.admin.pool({ communityId }), 'FORBIDDEN');
    await rejects((await callerWith(t.db)).caller.admin.pool({ communityId }), 'UNAUTHORIZED');
    await rejects(coordinator.admin.pool({ communityId: '' }), 'BAD_REQUEST');
    // a member cannot offer from the pool
    await rejects(member.barter.offer({ communityId, give: [{ category: 'NETWORK', unit: 'MB', quantity: 100 }], want: [{ category: 'COMPUTE', unit: 'WORK_UNIT', quantity: 3 }], fromPool: true }), 'FORBIDDEN', /coordinator/);
  });

  it('compute.waitingJobs lists open jobs of my communities with units waiting, best-paying first, never my own or other communities’', async () => {
    expect(await member.compute.waitingJobs()).toEqual({ communities: 1, jobs: [] });
    const cheap = await coordinator.compute.submitJob({ communityId, kernel: 'mandelbrot', params, units: 4, replication: 2, quorum: 2, deadline: hourFromNow(), pricePerUnit: 10_000 });
    const dear = await coordinator.compute.submitJob({ communityId, kernel: 'mandelbrot', params, units: 2, replication: 2, quorum: 2, deadline: hourFromNow(), pricePerUnit: 50_000 });
    await outsider.compute.submitJob({ communityId: otherId, kernel: 'mandelbrot', params, units: 4, replication: 2, quorum: 2, deadline: hourFromNow(), pricePerUnit: 90_000 });
    const mine = await member.compute.submitJob({ communityId, kernel: 'mandelbrot', params, units: 4, replication: 2, quorum: 2, deadline: hourFromNow(), pricePerUnit: 80_000 });

    const seen = await member.compute.waitingJobs({ limit: 10 });
    const expected = [{ id: dear.id, pricePerUnit: 50_000, unitsWaiting: dear.unitCount }, { id: cheap.id, pricePerUnit: 10_000, unitsWaiting: cheap.unitCount, kernelTitle: expect.any(String), community: { id: communityId, name: 'Screens town', slug: 'screens-town' } }];
    expect(seen.jobs).toMatchObject(expected);
    expect(seen.jobs.map((j) => j.id)).not.toContain(mine.id);
    // the coordinator sees the member's job, not their own
    expect((await coordinator.compute.waitingJobs()).jobs.map((j) => j.id)).toEqual([mine.id]);
    // a cancelled job no longer waits
    await coordinator.compute.cancelJob({ jobId: cheap.id });
    expect((await member.compute.waitingJobs()).jobs.map((j) => j.id)).not.toContain(cheap.id);

    await rejects(member.compute.waitingJobs({ limit: 0 }), 'BAD_REQUEST', /at least one/);
    await rejects(member.compute.waitingJobs({ limit: 51 }), 'BAD_REQUEST', /At most 50/);
    await rejects((await callerWith(t.db)).caller.compute.waitingJobs(), 'UNAUTHORIZED');
  });
});
