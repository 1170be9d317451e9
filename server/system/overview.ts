import { sqliteAdapterOf, type Db } from '../db/client';
import { afterCursor, pageOrder, toPage, type PageRequest } from '../paging';
import { processHealth } from './health';

/** Totals over the whole coordinator, and this process's health. */
export async function systemHealth(db: Db) {
  const [members, communities, openOrders, contractsByState, liveEvents] = await Promise.all([
    db.member.count(),
    db.community.count(),
    db.order.count({ where: { status: 'OPEN' } }),
    db.contract.groupBy({ by: ['state'], _count: { _all: true } }),
    db.liveEvent.count(),
  ]);
  return {
    totals: {
      members,
      communities,
      openOrders,
      contracts: Object.fromEntries(contractsByState.map((row) => [row.state, row._count._all])) as Record<string, number>,
      // events kept for members' streams to catch up from, until the retention sweep removes them
      liveEvents,
    },
    process: processHealth(),
    // SQLite: the syncs of its write-ahead log that every acknowledged write waits for (null on PostgreSQL, whose commits sync themselves)
    logSyncs: sqliteAdapterOf(db)?.walSync?.recentSyncs() ?? null,
  };
}

/** Every community, newest first (paged), with its members, open orders and contracts waiting on someone. */
export async function allCommunities(db: Db, page: PageRequest) {
  const rows = await db.community.findMany({
    where: afterCursor(page.cursor, 'desc'),
    orderBy: pageOrder('desc'),
    take: page.limit + 1,
    select: { id: true, name: true, slug: true, createdAt: true, commissionBps: true, inviteOnly: true, _count: { select: { memberships: true } } },
  });
  const ids = rows.map((r) => r.id);
  const [orders, open] = await Promise.all([
    db.order.groupBy({ by: ['communityId'], where: { communityId: { in: ids }, status: 'OPEN' }, _count: { _all: true } }),
    db.contract.groupBy({ by: ['communityId'], where: { communityId: { in: ids }, state: { in: ['MATCHED', 'ACTIVE', 'DELIVERED', 'DISPUTED'] } }, _count: { _all: true } }),
  ]);
  const countIn = (list: { communityId: string; _count: { _all: number } }[], id: string) => list.find((r) => r.communityId === id)?._count._all ?? 0;
  return toPage(rows, page.limit, (row) => ({
    id: row.id,
    name: row.name,
    slug: row.slug,
    createdAt: row.createdAt.toISOString(),
    commissionBps: row.commissionBps,
    inviteOnly: row.inviteOnly,
    members: row._count.memberships,
    openOrders: countIn(orders, row.id),
    openContracts: countIn(open, row.id),
  }));
}
