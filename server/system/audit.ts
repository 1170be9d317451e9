import type { Db } from '../db/client';
import { toMicro } from '../money';
import { afterCursor, pageOrder, type PageRequest } from '../paging';

/**
 * The audit trail of coordinators' decisions across every community, newest first: disputes decided,
 * cash recorded, credits issued to a pool, sweepstakes draws committed and revealed, federation links
 * proposed. Each source is read from the cursor on (keyset, `limit + 1` rows each), the sources merged,
 * and cut to a page: no decision is skipped or shown twice across pages.
 */
export type AuditLine = {
  id: string;
  createdAt: string;
  community: { name: string; slug: string } | null;
  actor: string | null;
  what: 'DISPUTE_DECIDED' | 'CASH_DEPOSIT' | 'CASH_WITHDRAWAL' | 'POOL_FUNDED' | 'DRAW_COMMITTED' | 'DRAW_REVEALED' | 'LINK_PROPOSED';
  detail: string;
  amount: number | null;
};

const DECISIONS = ['RESOLVE_PAY', 'RESOLVE_REFUND', 'RESOLVE_SPLIT'];
const MONEY_KINDS = { CASH_DEPOSIT: 'CASH_DEPOSIT', CASH_WITHDRAWAL: 'CASH_WITHDRAWAL', POOL_FUNDING: 'POOL_FUNDED' } as const;

const newestFirst = pageOrder('desc');

export async function auditTrail(db: Db, page: PageRequest) {
  const take = page.limit + 1;
  const [decisions, money, draws, revealed, links] = await Promise.all([
    db.contractEvent.findMany({
      where: { action: { in: DECISIONS }, ...afterCursor(page.cursor, 'desc') },
      orderBy: newestFirst,
      take,
      select: { id: true, createdAt: true, action: true, note: true, actorId: true, contract: { select: { community: { select: { name: true, slug: true } } } } },
    }),
    db.ledgerTransaction.findMany({
      where: { kind: { in: Object.keys(MONEY_KINDS) }, ...afterCursor(page.cursor, 'desc') },
      orderBy: newestFirst,
      take,
      select: { id: true, createdAt: true, kind: true, memo: true, community: { select: { name: true, slug: true } }, postings: { where: { amount: { gt: 0 } }, select: { amount: true } } },
    }),
    db.sweepstakesDraw.findMany({ where: afterCursor(page.cursor, 'desc'), orderBy: newestFirst, take, select: { id: true, createdAt: true, communityId: true, periodEnd: true } }),
    db.sweepstakesDraw.findMany({
      where: {
        revealedAt: { not: null },
        ...(page.cursor
          ? { OR: [{ revealedAt: { lt: new Date(page.cursor.createdAt) } }, { revealedAt: new Date(page.cursor.createdAt), id: { lt: page.cursor.id } }] }
          : {}),
      },
      orderBy: [{ revealedAt: 'desc' }, { id: 'desc' }],
      take,
      select: { id: true, revealedAt: true, communityId: true, ticketCount: true, prize: true },
    }),
    db.communityLink.findMany({ where: afterCursor(page.cursor, 'desc'), orderBy: newestFirst, take, select: { id: true, createdAt: true, fromId: true, toId: true, proposedBy: true, cap: true } }),
  ]);

  const communityIds = [...new Set([...draws.map((d) => d.communityId), ...revealed.map((d) => d.communityId), ...links.flatMap((l) => [l.fromId, l.toId])])];
  const memberIds = [...new Set([...decisions.flatMap((d) => (d.actorId ? [d.actorId] : [])), ...links.map((l) => l.proposedBy)])];
  const [communities, members] = await Promise.all([
    db.community.findMany({ where: { id: { in: communityIds } }, select: { id: true, name: true, slug: true } }),
    db.member.findMany({ where: { id: { in: memberIds } }, select: { id: true, handle: true } }),
  ]);
  const community = (id: string) => {
    const c = communities.find((row) => row.id === id);
    return c ? { name: c.name, slug: c.slug } : null;
  };
  const handle = (id: string | null) => (id ? (members.find((m) => m.id === id)?.handle ?? null) : null);

  const lines: AuditLine[] = [
    ...decisions.map((d): AuditLine => ({ id: d.id, createdAt: d.createdAt.toISOString(), community: d.contract.community, actor: handle(d.actorId), what: 'DISPUTE_DECIDED', detail: d.note, amount: null })),
    ...money.map((t): AuditLine => ({
      id: t.id,
      createdAt: t.createdAt.toISOString(),
      community: t.community,
      actor: null,
      what: MONEY_KINDS[t.kind as keyof typeof MONEY_KINDS],
      detail: t.memo,
      amount: t.postings.reduce((sum, p) => sum + toMicro(p.amount), 0),
    })),
    ...draws.map((d): AuditLine => ({ id: d.id, createdAt: d.createdAt.toISOString(), community: community(d.communityId), actor: null, what: 'DRAW_COMMITTED', detail: `Runs until ${d.periodEnd.toISOString()}`, amount: null })),
    ...revealed.map((d): AuditLine => ({ id: d.id, createdAt: d.revealedAt!.toISOString(), community: community(d.communityId), actor: null, what: 'DRAW_REVEALED', detail: `${d.ticketCount} tickets`, amount: toMicro(d.prize) })),
    ...links.map((l): AuditLine => ({ id: l.id, createdAt: l.createdAt.toISOString(), community: community(l.fromId), actor: handle(l.proposedBy), what: 'LINK_PROPOSED', detail: `Link with ${community(l.toId)?.name ?? 'another community'}`, amount: toMicro(l.cap) })),
  ];
  lines.sort((a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1));
  const items = lines.slice(0, page.limit);
  const last = items.at(-1);
  return { items, nextCursor: lines.length > page.limit && last ? { createdAt: last.createdAt, id: last.id } : null };
}
