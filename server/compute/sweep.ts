import type { Db } from '../db/client';
import { lockBook } from '../db/book-lock';
import { withOutbox } from '../live/outbox';
import { COMPUTE_CATEGORY, finishJob } from './jobs';
import { settleJob } from './settle';
import { registryFor } from './writer';

/**
 * Time-driven compute changes: leases past their time go back to the pool (a donor that vanished does
 * not stall a job), jobs past their deadline end, paying for what was validated and refunding the rest,
 * and a job that ended but whose contracts were not all settled (the process stopped between chunks) is
 * settled now.
 */
export async function sweepCompute(db: Db, now = new Date()) {
  const registry = registryFor(db);
  const expiring = await db.replica.findMany({ where: { status: 'LEASED', expiresAt: { lte: now } }, distinct: ['jobId'], select: { job: { select: { communityId: true } } } });
  let leasesExpired = 0;
  for (const communityId of new Set(expiring.map((r) => r.job.communityId))) {
    // under the book lock, so that a batch judging results reads the leases as they are
    leasesExpired += await withOutbox(db, async (tx) => {
      await lockBook(tx, communityId, COMPUTE_CATEGORY);
      const { count } = await tx.replica.deleteMany({ where: { status: 'LEASED', expiresAt: { lte: now }, job: { communityId } } });
      return count;
    });
    registry.markStale(communityId);
  }
  const late = await db.job.findMany({ where: { status: 'OPEN', deadline: { lte: now } }, select: { id: true, communityId: true }, take: 100 });
  for (const job of late) {
    await withOutbox(db, async (tx, outbox) => {
      await lockBook(tx, job.communityId, COMPUTE_CATEGORY);
      await finishJob(tx, job.id, 'EXPIRED', outbox, now);
    });
    registry.markJobsChanged(job.communityId);
    await settleJob(db, job.id, now);
  }
  // from the jobs (few) through their bids, not from every open contract of the market
  const unsettled = await db.job.findMany({
    where: { status: { not: 'OPEN' }, orders: { some: { buyFills: { some: { state: { in: ['MATCHED', 'ACTIVE'] } } } } } },
    select: { id: true },
    take: 100,
  });
  for (const job of unsettled) await registry.settle(job.id);
  // an ended job whose memory or spent contract was not settled yet (the process stopped before it)
  const memoryLeft = await db.order.findMany({ where: { status: 'OPEN', category: 'MEMORY', jobId: { not: null }, job: { status: { not: 'OPEN' } } }, select: { jobId: true }, take: 100 });
  for (const o of memoryLeft) if (o.jobId) await registry.settle(o.jobId);
  const funded = await db.jobTerms.findMany({ where: { fundingContractId: { not: null }, job: { status: { not: 'OPEN' } } }, select: { jobId: true, fundingContractId: true }, orderBy: { jobId: 'desc' }, take: 500 });
  if (funded.length) {
    const open = await db.contract.findMany({ where: { id: { in: funded.map((f) => f.fundingContractId!) }, state: { in: ['MATCHED', 'ACTIVE'] } }, select: { id: true } });
    for (const f of funded) if (open.some((c) => c.id === f.fundingContractId)) await registry.settle(f.jobId);
  }
  return { leasesExpired, jobsExpired: late.length };
}
