import type { Queryable } from '../db/client';

/**
 * Content items private to jobs (`JobOnlyItem`): besides their owner, only a member whose device was leased a
 * unit of a job that names the item as its code or data may see and fetch it. Null when the item is not
 * job-only (the usual rules apply), else whether this member may.
 */
export async function jobOnlyAccess(db: Queryable, memberId: string, item: { id: string; memberId: string }): Promise<boolean | null> {
  const row = await db.jobOnlyItem.findUnique({ where: { itemId: item.id }, select: { itemId: true } });
  if (!row) return null;
  if (item.memberId === memberId) return true;
  const jobs = await db.jobPlacement.findMany({ where: { OR: [{ codeItemId: item.id }, { dataItemId: item.id }] }, select: { jobId: true }, take: 100 });
  if (jobs.length === 0) return false;
  return (await db.replica.count({ where: { memberId, jobId: { in: jobs.map((j) => j.jobId) } } })) > 0;
}
