import { DomainError } from '../errors';
import { Prisma } from '../db/generated/sqlite/client';
import type { Queryable, Tx } from '../db/client';
import { toMicro } from '../money';
import {
  assertBalanced,
  COMMUNITY_ACCOUNT_KINDS,
  netByAccount,
  type AccountRef,
  type JournalEntry,
} from './postings';

/** Creates the community's own accounts (issuer, commission, sweepstakes, cash clearing). */
export async function openCommunityAccounts(tx: Tx, communityId: string): Promise<void> {
  await tx.account.createMany({
    data: COMMUNITY_ACCOUNT_KINDS.map((kind) => ({ communityId, kind, memberId: null })),
  });
}

/** Creates a member's available and escrow accounts in a community; returns true if they were new. */
export async function openMemberAccounts(tx: Tx, communityId: string, memberId: string): Promise<boolean> {
  const existing = await tx.account.findFirst({ where: { communityId, kind: 'MEMBER', memberId } });
  if (existing) return false;
  await tx.account.createMany({
    data: [
      { communityId, kind: 'MEMBER', memberId },
      { communityId, kind: 'ESCROW', memberId },
    ],
  });
  return true;
}

async function accountId(tx: Tx, communityId: string, ref: AccountRef): Promise<string> {
  const where = { communityId, kind: ref.kind, memberId: ref.memberId, peerCommunityId: ref.peerCommunityId ?? null };
  const account =
    (await tx.account.findFirst({ where, select: { id: true } })) ??
    // a community's clearing account with a linked community opens with the first movement through it
    (ref.kind === 'FEDERATION_CLEARING' ? await tx.account.create({ data: where, select: { id: true } }) : null);
  if (!account) {
    throw new DomainError('PRECONDITION', `No ${ref.kind.toLowerCase()} account ${ref.memberId ? 'for this member ' : ''}in this community — join it first.`);
  }
  return account.id;
}

/**
 * Posts a balanced entry inside the caller's transaction. Each account is updated with a guarded
 * increment (so concurrent postings can never take a member below the credit limit or an escrow below
 * zero), in account-id order so that two entries never wait on each other's rows.
 */
export async function postEntry(
  tx: Tx,
  communityId: string,
  entry: JournalEntry,
  { creditLimit }: { creditLimit: number },
): Promise<{ transactionId: string }> {
  assertBalanced(entry);
  const resolved = await Promise.all(
    netByAccount(entry).map(async (line) => ({ ...line, id: await accountId(tx, communityId, line.account) })),
  );
  resolved.sort((a, b) => (a.id < b.id ? -1 : 1));

  // The entry is written before the balances move, so that a second entry with the same once-key fails
  // (on the unique index) before it touches any account.
  const created = await tx.ledgerTransaction.create({
    data: {
      communityId,
      kind: entry.kind,
      memo: entry.memo,
      reference: entry.reference ?? null,
      onceKey: entry.onceKey ?? null,
      postings: {
        create: resolved
          .filter((line) => line.amount !== 0)
          .map((line) => ({ accountId: line.id, amount: BigInt(line.amount) })),
      },
    },
    select: { id: true },
  }).catch((error: unknown) => {
    if (entry.onceKey && error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      throw new DomainError('CONFLICT', 'This was already recorded: it happens only once.');
    }
    throw error;
  });

  for (const line of resolved) {
    if (line.amount === 0) continue;
    const floor =
      line.account.kind === 'MEMBER' ? -creditLimit : line.account.kind === 'ESCROW' ? 0 : null;
    const where =
      line.amount < 0 && floor !== null
        ? { id: line.id, balance: { gte: BigInt(floor - line.amount) } }
        : { id: line.id };
    const { count } = await tx.account.updateMany({ where, data: { balance: { increment: BigInt(line.amount) } } });
    if (count !== 1) {
      throw new DomainError('CONFLICT', line.account.kind === 'ESCROW'
            ? 'Not enough credits held in escrow for this movement.'
            : 'Not enough credits: this would take the balance below what the community allows.');
    }
  }
  return { transactionId: created.id };
}

export async function memberBalance(db: Queryable, communityId: string, memberId: string) {
  const accounts = await db.account.findMany({
    where: { communityId, memberId, kind: { in: ['MEMBER', 'ESCROW'] } },
    select: { kind: true, balance: true },
  });
  const of = (kind: 'MEMBER' | 'ESCROW') => toMicro(accounts.find((a) => a.kind === kind)?.balance ?? 0n);
  return { available: of('MEMBER'), escrow: of('ESCROW') };
}

export type HistoryCursor = { createdAt: string; id: string };

/** The member's postings in a community (available and escrow), newest first. */
export async function memberHistory(
  db: Queryable,
  communityId: string,
  memberId: string,
  { cursor, limit }: { cursor?: HistoryCursor | null; limit: number },
) {
  const rows = await db.posting.findMany({
    where: {
      account: { communityId, memberId },
      ...(cursor
        ? {
            OR: [
              { createdAt: { lt: new Date(cursor.createdAt) } },
              { createdAt: new Date(cursor.createdAt), id: { lt: cursor.id } },
            ],
          }
        : {}),
    },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: limit + 1,
    select: {
      id: true,
      amount: true,
      createdAt: true,
      account: { select: { kind: true } },
      transaction: { select: { id: true, kind: true, memo: true, reference: true } },
    },
  });
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map((row) => ({
      id: row.id,
      transactionId: row.transaction.id,
      kind: row.transaction.kind,
      memo: row.transaction.memo,
      reference: row.transaction.reference,
      account: row.account.kind === 'ESCROW' ? ('escrow' as const) : ('available' as const),
      amount: toMicro(row.amount),
      createdAt: row.createdAt.toISOString(),
    })),
    nextCursor: rows.length > limit && last ? { createdAt: last.createdAt.toISOString(), id: last.id } : null,
  };
}

/** Sum of every account balance in the given communities (or all): zero whenever the ledger is sound. */
export async function ledgerTotals(db: Queryable, communityId?: string) {
  const where = communityId ? { communityId } : {};
  const [accounts, postings] = await Promise.all([
    db.account.aggregate({ where, _sum: { balance: true } }),
    db.posting.aggregate({ where: communityId ? { account: { communityId } } : {}, _sum: { amount: true } }),
  ]);
  return { balances: toMicro(accounts._sum.balance ?? 0n), postings: toMicro(postings._sum.amount ?? 0n) };
}
