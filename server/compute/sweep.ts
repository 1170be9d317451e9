import type { Db } from '../db/client';
import { lockBook } from '../db/book-lock';
import { withOutbox } from '../live/outbox';
import { COMPUTE_CATEGORY, finishJob } from './jobs';

/**
 * Time-driven compute changes: leases past their time go back to the pool (a donor that vanished does
 * not stall a job), and jobs past their deadline end, paying for what was validated and refunding the rest.
 */
export async function sweepCompute(db: Db, now = new Date()) {
  const { count: leasesExpired } = await db.replica.deleteMany({ where: { status: 'LEASED', expiresAt: { lte: now } } });
  const late = await db.job.findMany({ where: { status: 'OPEN', deadline: { lte: now } }, select: { id: true, communityId: true }, take: 100 });
  for (const job of late) {
    await withOutbox(db, async (tx, outbox) => {
      await lockBook(tx, job.communityId, COMPUTE_CATEGORY);
      await finishJob(tx, job.id, 'EXPIRED', outbox, now);
    });
  }
  return { leasesExpired, jobsExpired: late.length };
}
