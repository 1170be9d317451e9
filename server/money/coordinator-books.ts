import type { Db } from '../db/client';
import { toMicro } from '../money';
import { afterCursor, pageOrder, toPage, type PageRequest } from '../paging';

/**
 * What a community's coordinator reads before moving money: every member with their balances (available
 * and held in escrow), oldest member first, and the cash journal — every deposit and withdrawal recorded,
 * newest first. Both page by keyset (server/paging.ts).
 */
export async function memberBalances(db: Db, communityId: string, page: PageRequest) {
  const after = page.cursor
    ? { OR: [{ joinedAt: { gt: new Date(page.cursor.createdAt) } }, { joinedAt: new Date(page.cursor.createdAt), memberId: { gt: page.cursor.id } }] }
    : {};
  const rows = await db.membership.findMany({
    where: { communityId, ...after },
    orderBy: [{ joinedAt: 'asc' }, { memberId: 'asc' }],
    take: page.limit + 1,
    select: { memberId: true, role: true, joinedAt: true, member: { select: { handle: true } } },
  });
  const accounts = await db.account.findMany({
    where: { communityId, memberId: { in: rows.map((r) => r.memberId) }, kind: { in: ['MEMBER', 'ESCROW'] } },
    select: { memberId: true, kind: true, balance: true },
  });
  const balanceOf = (memberId: string, kind: 'MEMBER' | 'ESCROW') => toMicro(accounts.find((a) => a.memberId === memberId && a.kind === kind)?.balance ?? 0n);
  return toPage(
    rows.map((r) => ({ ...r, id: r.memberId, createdAt: r.joinedAt })),
    page.limit,
    (r) => ({ id: r.memberId, handle: r.member.handle, role: r.role, joinedAt: r.joinedAt.toISOString(), available: balanceOf(r.memberId, 'MEMBER'), escrow: balanceOf(r.memberId, 'ESCROW') }),
  );
}

export type CashLine = {
  id: string;
  direction: 'DEPOSIT' | 'WITHDRAWAL';
  amount: number;
  member: { id: string; handle: string } | null;
  externalReference: string;
  createdAt: string;
};

/** The community's cash movements, newest first: the postings of its cash clearing account. */
export async function cashJournal(db: Db, communityId: string, page: PageRequest) {
  const clearing = await db.account.findFirst({ where: { communityId, kind: 'CASH_CLEARING', memberId: null }, select: { id: true } });
  if (!clearing) return { items: [] as CashLine[], nextCursor: null };
  const rows = await db.posting.findMany({
    where: { accountId: clearing.id, ...afterCursor(page.cursor, 'desc') },
    orderBy: pageOrder('desc'),
    take: page.limit + 1,
    select: {
      id: true,
      amount: true,
      createdAt: true,
      transaction: {
        select: {
          kind: true,
          reference: true,
          postings: { where: { accountId: { not: clearing.id } }, select: { account: { select: { member: { select: { id: true, handle: true } } } } } },
        },
      },
    },
  });
  return toPage(rows, page.limit, (row): CashLine => ({
    id: row.id,
    // money into the community comes out of the clearing account (a deposit), and back into it on a withdrawal
    direction: row.amount < 0n ? 'DEPOSIT' : 'WITHDRAWAL',
    amount: Math.abs(toMicro(row.amount)),
    member: row.transaction.postings[0]?.account.member ?? null,
    externalReference: row.transaction.reference?.replace(/^cash:/, '') ?? '',
    createdAt: row.createdAt.toISOString(),
  }));
}

/**
 * What the community's own pool holds (its commission account: commissions taken, credits issued to it, what
 * its pool barter offers spend from), and the sweepstakes pool, micro-credits; and how many of the
 * coordinator's pool offers are open.
 */
export async function poolBalances(db: Db, communityId: string) {
  const [accounts, openOffers] = await Promise.all([
    db.account.findMany({ where: { communityId, memberId: null, kind: { in: ['COMMISSION', 'SWEEPSTAKES'] } }, select: { kind: true, balance: true } }),
    db.barterOffer.count({ where: { communityId, fromPool: true, status: { in: ['OPEN', 'PROPOSED'] } } }),
  ]);
  const of = (kind: string) => accounts.filter((a) => a.kind === kind).reduce((sum, a) => sum + toMicro(a.balance), 0);
  return { pool: of('COMMISSION'), sweepstakes: of('SWEEPSTAKES'), openPoolOffers: openOffers };
}
