import { DomainError } from '../errors';
import type { Db } from '../db/client';
import { lockBook } from '../db/book-lock';
import { withOutbox } from '../live/outbox';
import type { Json } from '../../workers/kernels/types';
import { COMPUTE_CATEGORY, hashCanonical, kernelOf } from './jobs';
import { ownerMayCheck } from './scheduler';
import { registryFor, type CheckAnswer, type Lease, type ResultAnswer } from './writer';

export { LEASE_TTL_MS, MAX_LEASE_BATCH, type Lease } from './writer';

/**
 * The member's device `deviceId` as the scheduler knows it (owner, trust, donations), or NOT_FOUND: the
 * lease path's check that the device is the caller's, read from memory (a device never changes owner).
 */
export async function donorDevice(db: Db, memberId: string, deviceId: string) {
  const donor = await registryFor(db).donor(deviceId);
  if (!donor || donor.memberId !== memberId) throw new DomainError('NOT_FOUND', 'You have no device with that id.');
  return donor;
}

/**
 * Hands the device up to `max` work units of the jobs its donation can serve, from the scheduler's memory;
 * the leases are recorded in the community's next batch and answered once it committed. Pulling work is
 * how a donation meets a job on the market: the device's first lease on a job fills the job's BUY against
 * the device's standing SELL at the job's price, making the one contract the device is paid through for
 * that job; later leases grow it. Jobs are served highest price first, then oldest, as an incoming SELL
 * would take bids. `kernels` limits the work to those kernels (a donor that will not run members' own code).
 */
export async function leaseUnits(db: Db, memberId: string, deviceId: string, max: number, now = new Date(), kernels?: string[]): Promise<Lease[]> {
  const donor = await donorDevice(db, memberId, deviceId);
  const donations = donor.donations.filter((d) => d.order.windowEnd > now.getTime());
  if (donations.length === 0) throw new DomainError('PRECONDITION', 'This device is not donating: switch donating on first.');
  const registry = registryFor(db);
  const leases: Lease[] = [];
  for (const donation of donations) {
    if (leases.length >= max) break;
    leases.push(...(await registry.writer(donation.communityId).lease(donor, donation.order, max - leases.length, now, kernels)));
  }
  return leases;
}

/**
 * Takes a donor's result for a leased unit. The output is checked against the kernel's bounds and
 * hashed in canonical form here; the unit is then judged in the community's next batch: a quorum of equal
 * hashes validates it (dissenting devices lose reliability), a disagreement plans another replica, and the
 * job finishes with its last unit (the caller whose result finished it is answered once it is settled).
 *
 * With `next`, the same call also asks for more work for the device (as BOINC's scheduler request reports
 * results and asks for work at once): the leases are taken in the same batch as the result, so a donor's
 * cycle is one request and one transaction instead of two. The answer's `leases` are what `compute.lease`
 * would have given (none when the device cannot lease now, with `leaseError` saying why); when the result
 * itself is refused, the leases taken with it are given back at once and the call fails as without `next`.
 */
export async function submitResult(db: Db, memberId: string, leaseId: string, output: unknown, now = new Date(), next?: { deviceId: string; max: number; kernels?: string[] }): Promise<ResultAnswer & { leases?: Lease[]; leaseError?: string }> {
  const registry = registryFor(db);
  let ref = registry.leases.get(leaseId);
  if (!ref) {
    const row = await db.replica.findUnique({ where: { id: leaseId }, select: { memberId: true, jobId: true, job: { select: { kernel: true, communityId: true } } } });
    if (!row || row.memberId !== memberId) throw new DomainError('NOT_FOUND', 'You hold no lease with that id.');
    ref = { communityId: row.job.communityId, jobId: row.jobId, kernel: row.job.kernel, memberId: row.memberId };
  }
  if (ref.memberId !== memberId) throw new DomainError('NOT_FOUND', 'You hold no lease with that id.');
  const kernel = kernelOf(ref.kernel);
  const parsed = kernel.outputSchema.safeParse(output);
  if (!parsed.success) throw new DomainError('BAD_INPUT', `That is not a valid ${kernel.title} result.`);
  const outputHash = hashCanonical(kernel.canonical(parsed.data));
  const result = registry.writer(ref.communityId).result(memberId, leaseId, ref.jobId, parsed.data as Json, outputHash, now);
  if (!next) return result;
  // queued right behind the result (the writer gathers both into one batch)
  const leasing = leaseUnits(db, memberId, next.deviceId, next.max, now, next.kernels).then(
    (leases) => ({ leases }),
    (error: unknown) => {
      if (error instanceof DomainError) return { leases: [] as Lease[], leaseError: error.message };
      throw error;
    },
  );
  const [answer, work] = await Promise.allSettled([result, leasing]);
  if (answer.status === 'rejected') {
    if (work.status === 'fulfilled' && work.value.leases.length) await giveBack(db, memberId, next.deviceId, work.value.leases).catch(() => {});
    throw answer.reason;
  }
  if (work.status === 'rejected') return { ...answer.value, leases: [], leaseError: 'No work could be leased just now: lease again.' };
  return { ...answer.value, ...work.value };
}

/** Gives back leases just granted and not yet worked on (their result call failed): the units go back to the pool. */
async function giveBack(db: Db, memberId: string, deviceId: string, leases: Lease[]) {
  const registry = registryFor(db);
  const byCommunity = new Map<string, string[]>();
  for (const lease of leases) {
    const ref = registry.leases.get(lease.leaseId);
    if (ref) byCommunity.set(ref.communityId, [...(byCommunity.get(ref.communityId) ?? []), lease.leaseId]);
  }
  for (const [communityId, ids] of byCommunity) {
    await withOutbox(db, async (tx) => {
      await lockBook(tx, communityId, COMPUTE_CATEGORY);
      await tx.replica.deleteMany({ where: { id: { in: ids }, deviceId, memberId, status: 'LEASED' } });
    });
    for (const id of ids) registry.leases.delete(id);
    registry.markStale(communityId);
  }
}

/**
 * Units of one of the member's open jobs that a device returned and that still wait for confirmation, at
 * most `max`, picked at random among them (so that a donor cannot guess which of its results the owner
 * will check first): what the owner's device computes to confirm them (`confirmUnit`).
 */
export async function unitsToConfirm(db: Db, job: { id: string; status: string }, max: number) {
  if (job.status !== 'OPEN') return [];
  const rows = await db.workUnit.findMany({
    where: { jobId: job.id, status: 'PENDING', replicas: { some: { status: { not: 'LEASED' } } } },
    select: { index: true, status: true, input: true, replicas: { select: { status: true } } },
    take: 1_024,
  });
  const open = rows.filter((u) => ownerMayCheck(u));
  for (let i = open.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [open[i], open[j]] = [open[j]!, open[i]!];
  }
  const { kernel } = await db.job.findUniqueOrThrow({ where: { id: job.id }, select: { kernel: true } });
  return open.slice(0, max).map((u) => ({ jobId: job.id, kernel, unitIndex: u.index, input: u.input as Json }));
}

/**
 * The owner's own result for a unit of their job that a donor returned: checked and hashed as a donor's
 * is, then judged in the community's next batch. The owner's result decides the unit: donors who agree
 * are confirmed (and paid), donors who disagree lose their trust (see scheduler.ts). The owner is not paid.
 */
export async function confirmUnit(db: Db, memberId: string, job: { id: string; communityId: string; status: string }, unitIndex: number, output: unknown, now = new Date()): Promise<CheckAnswer> {
  if (job.status !== 'OPEN') throw new DomainError('CONFLICT', `This job is already ${job.status.toLowerCase()}: there is nothing left to confirm.`);
  const { kernel: name } = await db.job.findUniqueOrThrow({ where: { id: job.id }, select: { kernel: true } });
  const kernel = kernelOf(name);
  const parsed = kernel.outputSchema.safeParse(output);
  if (!parsed.success) throw new DomainError('BAD_INPUT', `That is not a valid ${kernel.title} result.`);
  const outputHash = hashCanonical(kernel.canonical(parsed.data));
  return registryFor(db).writer(job.communityId).check(memberId, job.id, unitIndex, parsed.data as Json, outputHash, now);
}

/** Gives back every unit the device holds and has not answered (switching donation off, closing the app). */
export async function returnLeases(db: Db, device: { id: string; memberId: string }) {
  const held = await db.replica.findMany({ where: { deviceId: device.id, memberId: device.memberId, status: 'LEASED' }, distinct: ['jobId'], select: { job: { select: { communityId: true } } } });
  const registry = registryFor(db);
  let returned = 0;
  for (const communityId of new Set(held.map((r) => r.job.communityId))) {
    returned += await withOutbox(db, async (tx) => {
      await lockBook(tx, communityId, COMPUTE_CATEGORY);
      const { count } = await tx.replica.deleteMany({ where: { deviceId: device.id, memberId: device.memberId, status: 'LEASED', job: { communityId } } });
      return count;
    });
    registry.markStale(communityId);
  }
  return { returned };
}
