import type { Queryable } from '../db/client';
import { toMicro } from '../money';
import { afterCursor, pageOrder, type PageCursor } from '../paging';
import {
  lineOfPosting,
  mergeLine,
  parseReference,
  type ContractContext,
  type OrderContext,
  type StatementContext,
  type StatementLine,
  type StatementPosting,
} from './statement';

/** Postings read per round while a page of lines fills up. */
const CHUNK = 200;
/** At most this many postings are read for one page; a page may then hold fewer lines than asked. */
const MAX_SCAN = 2_000;

/** What the references of these postings point at: contracts (with their job), orders, and the other members. */
async function contextOf(db: Queryable, memberId: string, postings: { transactionId: string; reference: string | null }[]): Promise<StatementContext> {
  const contractIds = new Set<string>();
  const orderIds = new Set<string>();
  for (const p of postings) {
    const ref = parseReference(p.reference);
    if (ref.contractId) contractIds.add(ref.contractId);
    if (ref.orderId) orderIds.add(ref.orderId);
  }
  const transactionIds = [...new Set(postings.map((p) => p.transactionId))];
  const [contracts, orders, others] = await Promise.all([
    contractIds.size
      ? db.contract.findMany({
          where: { id: { in: [...contractIds] } },
          select: {
            id: true,
            buyerId: true,
            sellerId: true,
            buyer: { select: { handle: true } },
            seller: { select: { handle: true } },
            category: true,
            unit: true,
            quantity: true,
            price: true,
            barterDealId: true,
            buyOrder: { select: { jobId: true, job: { select: { title: true } } } },
            sellOrder: { select: { contentItem: { select: { title: true } } } },
          },
        })
      : [],
    orderIds.size
      ? db.order.findMany({
          where: { id: { in: [...orderIds] } },
          select: { id: true, side: true, category: true, unit: true, quantity: true, price: true, jobId: true, job: { select: { title: true } }, contentItem: { select: { title: true } } },
        })
      : [],
    db.posting.findMany({
      where: { transactionId: { in: transactionIds }, account: { memberId: { not: memberId } } },
      select: { transactionId: true, account: { select: { member: { select: { handle: true } } } } },
    }),
  ]);
  const byTransaction = new Map<string, string[]>();
  for (const p of others) {
    const handle = p.account.member?.handle;
    if (!handle) continue;
    const list = byTransaction.get(p.transactionId) ?? [];
    if (!list.includes(handle)) list.push(handle);
    byTransaction.set(p.transactionId, list);
  }
  return {
    contracts: new Map(
      contracts.map((c): [string, ContractContext] => [
        c.id,
        {
          id: c.id,
          buyerId: c.buyerId,
          buyer: c.buyer.handle,
          sellerId: c.sellerId,
          seller: c.seller.handle,
          category: c.category,
          unit: c.unit,
          quantity: c.quantity,
          price: toMicro(c.price),
          jobId: c.buyOrder?.jobId ?? null,
          jobTitle: c.buyOrder?.job?.title ?? null,
          itemTitle: c.sellOrder?.contentItem?.title ?? null,
          barter: c.barterDealId !== null,
        },
      ]),
    ),
    orders: new Map(
      orders.map((o): [string, OrderContext] => [
        o.id,
        { id: o.id, side: o.side, category: o.category, unit: o.unit, quantity: o.quantity, price: toMicro(o.price), jobId: o.jobId, jobTitle: o.job?.title ?? null, itemTitle: o.contentItem?.title ?? null },
      ]),
    ),
    others: byTransaction,
  };
}

/**
 * The member's statement in a community, newest first: a page of up to `limit` lines (see `statement.ts`).
 * Paged by the postings read, with the same keyset cursor as `ledger.history`: a job's later entries on the
 * next page come back under the same line key, for the screen to merge.
 */
export async function memberStatement(
  db: Queryable,
  communityId: string,
  memberId: string,
  { cursor, limit }: { cursor?: PageCursor | null; limit: number },
): Promise<{ items: StatementLine[]; nextCursor: PageCursor | null }> {
  const lines: StatementLine[] = [];
  const keys = new Map<string, number>();
  let from = cursor ?? null;
  let scanned = 0;
  for (;;) {
    const rows = await db.posting.findMany({
      where: { account: { communityId, memberId }, ...afterCursor(from, 'desc') },
      orderBy: pageOrder('desc'),
      take: CHUNK,
      select: {
        id: true,
        amount: true,
        createdAt: true,
        transactionId: true,
        account: { select: { kind: true } },
        transaction: { select: { kind: true, memo: true, reference: true } },
      },
    });
    if (rows.length === 0) return { items: lines, nextCursor: null };
    const context = await contextOf(db, memberId, rows.map((r) => ({ transactionId: r.transactionId, reference: r.transaction.reference })));
    for (const row of rows) {
      const posting: StatementPosting = {
        transactionId: row.transactionId,
        kind: row.transaction.kind,
        memo: row.transaction.memo,
        reference: row.transaction.reference,
        account: row.account.kind === 'ESCROW' ? 'escrow' : 'available',
        amount: toMicro(row.amount),
        createdAt: row.createdAt.toISOString(),
      };
      const line = lineOfPosting(posting, memberId, context);
      // a new line beyond the page: the page ends before this posting, which the next page starts with
      const at = keys.get(line.key);
      if (at === undefined && keys.size === limit) return { items: lines, nextCursor: from };
      if (at === undefined) {
        keys.set(line.key, lines.length);
        lines.push(line);
      } else {
        lines[at] = mergeLine(lines[at]!, line);
      }
      from = { createdAt: row.createdAt.toISOString(), id: row.id };
    }
    scanned += rows.length;
    if (rows.length < CHUNK) return { items: lines, nextCursor: null };
    if (scanned >= MAX_SCAN) return { items: lines, nextCursor: from };
  }
}
