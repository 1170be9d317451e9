import type { Queryable } from '../db/client';
import { toMicro } from '../money';
import { KERNELS } from '../../workers/kernels';

/**
 * The open compute jobs in the member's communities that still have units to compute, the best-paying
 * first: what a donating device would be given, and what each unit pays. The member's own jobs are left
 * out (their devices confirm those, unpaid).
 */
export async function waitingJobs(db: Queryable, memberId: string, limit: number) {
  const memberships = await db.membership.findMany({ where: { memberId }, select: { community: { select: { id: true, name: true, slug: true } } } });
  if (memberships.length === 0) return { jobs: [], communities: 0 };
  const communities = new Map(memberships.map((m) => [m.community.id, m.community]));
  const rows = await db.job.findMany({
    where: { communityId: { in: [...communities.keys()] }, status: 'OPEN', memberId: { not: memberId }, deadline: { gt: new Date() }, units: { some: { status: 'PENDING' } } },
    orderBy: [{ pricePerUnit: 'desc' }, { createdAt: 'asc' }, { id: 'asc' }],
    take: limit,
    select: {
      id: true,
      title: true,
      kernel: true,
      communityId: true,
      pricePerUnit: true,
      deadline: true,
      terms: { select: { workingSetMb: true, memoryPrice: true } },
      _count: { select: { units: { where: { status: 'PENDING' } } } },
    },
  });
  return {
    communities: communities.size,
    jobs: rows.map((job) => ({
      id: job.id,
      title: job.title,
      kernel: job.kernel,
      kernelTitle: KERNELS[job.kernel as keyof typeof KERNELS]?.title ?? "A member's code",
      community: communities.get(job.communityId)!,
      pricePerUnit: toMicro(job.pricePerUnit),
      unitsWaiting: job._count.units,
      deadline: job.deadline.toISOString(),
      memoryMb: job.terms?.workingSetMb ?? 0,
      memoryPrice: toMicro(job.terms?.memoryPrice ?? 0n),
    })),
  };
}
