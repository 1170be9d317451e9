import { DomainError } from '../errors';
import { Prisma } from '../db/generated/sqlite/client';
import type { Queryable, Tx } from '../db/client';
import { formatCredits as credits, toMicro } from '../money';
import {
  accountBounds,
  assertBalanced,
  guardFor,
  COMMUNITY_ACCOUNT_KINDS,
  linkCapMessage,
  type Bounds,
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

type ClearingLink = { id: string; cap: number; fromId: string; toId: string };

/** The active link between a community and a peer, with its agreed cap; null when they are not linked. */
export async function activeLink(tx: Tx, communityId: string, peerCommunityId: string): Promise<ClearingLink | null> {
  const link = await tx.communityLink.findFirst({
    where: { active: true, OR: [{ fromId: communityId, toId: peerCommunityId }, { fromId: peerCommunityId, toId: communityId }] },
    select: { id: true, cap: true, fromId: true, toId: true },
  });
  return link ? { ...link, cap: toMicro(link.cap) } : null;
}

/**
 * Holds the link's row until the transaction ends (a no-op write takes the row lock on PostgreSQL; SQLite
 * serializes transactions anyway): movements through one link are decided one at a time.
 */
export async function lockLink(tx: Tx, linkId: string): Promise<void> {
  await tx.communityLink.updateMany({ where: { id: linkId }, data: { active: true } });
}

/** The names of two communities, for messages. */
export async function namesOf(tx: Tx, [a, b]: [string, string]): Promise<[string, string]> {
  const rows = await tx.community.findMany({ where: { id: { in: [a, b] } }, select: { id: true, name: true } });
  const name = (id: string) => rows.find((r) => r.id === id)?.name ?? 'another community';
  return [name(a), name(b)];
}

/**
 * A community's clearing account for a linked community. It opens with the first movement through the
 * link, under the link's row lock so that two first movements at once open one account, not two (the
 * unique index does not hold for rows whose member is null on PostgreSQL).
 */
async function clearingAccountId(tx: Tx, communityId: string, peerCommunityId: string): Promise<string> {
  const where = { communityId, kind: 'FEDERATION_CLEARING' as const, memberId: null, peerCommunityId };
  const found = await tx.account.findFirst({ where, select: { id: true } });
  if (found) return found.id;
  const link = await activeLink(tx, communityId, peerCommunityId);
  if (!link) {
    const [here, there] = await namesOf(tx, [communityId, peerCommunityId]);
    throw new DomainError('PRECONDITION', `${here} and ${there} are not linked, so credits cannot move between them.`);
  }
  await lockLink(tx, link.id);
  const again = await tx.account.findFirst({ where, select: { id: true } });
  return again?.id ?? (await tx.account.create({ data: where, select: { id: true } })).id;
}

async function accountId(tx: Tx, communityId: string, ref: AccountRef): Promise<string> {
  if (ref.kind === 'FEDERATION_CLEARING' && ref.peerCommunityId) return clearingAccountId(tx, communityId, ref.peerCommunityId);
  const where = { communityId, kind: ref.kind, memberId: ref.memberId, peerCommunityId: ref.peerCommunityId ?? null };
  const account = await tx.account.findFirst({ where, select: { id: true } });
  if (!account) {
    throw new DomainError('PRECONDITION', `No ${ref.kind.toLowerCase()} account ${ref.memberId ? 'for this member ' : ''}in this community — join it first.`);
  }
  return account.id;
}

/** A posting refused because it would take an account past its bounds (see `accountBounds`). */
export class LedgerBoundError extends DomainError {
  constructor(
    message: string,
    readonly account: AccountRef,
    readonly amount: number,
    readonly balance: number,
    readonly bounds: Bounds,
  ) {
    super('CONFLICT', message);
  }
}

/** A second entry with a once-key already used: the movement happened before. */
export class AlreadyRecordedError extends DomainError {
  constructor(readonly onceKey: string) {
    super('CONFLICT', 'This was already recorded: it happens only once.');
  }
}

/** What to tell the person when a posting would take an account past its bounds. */
async function boundMessage(tx: Tx, communityId: string, account: AccountRef, amount: number, balance: number, bounds: Bounds): Promise<string> {
  const debit = amount < 0;
  switch (account.kind) {
    case 'MEMBER':
      return debit
        ? `Not enough credits: the balance is ${credits(balance)} credits and this needs ${credits(-amount)}${bounds.floor < 0 ? ` (the community allows going down to ${credits(bounds.floor)})` : ''}.`
        : `This would take the balance past ${credits(bounds.ceiling)} credits, the most one account may hold.`;
    case 'ESCROW':
      return debit ? 'Not enough credits held in escrow for this movement.' : `This would take the escrow past ${credits(bounds.ceiling)} credits, the most one account may hold.`;
    case 'SWEEPSTAKES':
    case 'COMMISSION': {
      const pool = account.kind === 'SWEEPSTAKES' ? 'The sweepstakes pool' : 'The community pool';
      return debit
        ? `${pool} holds ${credits(balance)} credits: not enough to pay ${credits(-amount)}.`
        : `${pool} would pass ${credits(bounds.ceiling)} credits, the most it may hold.`;
    }
    case 'FEDERATION_CLEARING': {
      const [here, there] = await namesOf(tx, [communityId, account.peerCommunityId ?? '']);
      return linkCapMessage(here, there, bounds.ceiling);
    }
    default:
      return `This would take the community's ${account.kind.toLowerCase().replace('_', ' ')} account past ±${credits(bounds.ceiling)} credits, the most it may carry.`;
  }
}

/**
 * Posts a balanced entry inside the caller's transaction. Each account is updated with a guarded
 * increment (so concurrent postings can never take an account past its bounds: a member below the credit
 * limit or above the ceiling, an escrow or a pool below zero, a clearing account past its link's cap),
 * in account-id order so that two entries never wait on each other's rows.
 */
export async function postEntry(
  tx: Tx,
  communityId: string,
  entry: JournalEntry,
  { creditLimit }: { creditLimit: number },
): Promise<{ transactionId: string }> {
  assertBalanced(entry);
  const resolved = await Promise.all(
    netByAccount(entry).map(async (line) => {
      const id = await accountId(tx, communityId, line.account);
      const peer = line.account.kind === 'FEDERATION_CLEARING' ? line.account.peerCommunityId : undefined;
      const linkCap = peer ? ((await activeLink(tx, communityId, peer))?.cap ?? 0) : 0;
      return { ...line, id, bounds: accountBounds(line.account, { creditLimit, linkCap }) };
    }),
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
      throw new AlreadyRecordedError(entry.onceKey);
    }
    throw error;
  });

  for (const line of resolved) {
    if (line.amount === 0) continue;
    const { count } = await tx.account.updateMany({ where: { id: line.id, balance: guardFor(line.amount, line.bounds) }, data: { balance: { increment: BigInt(line.amount) } } });
    if (count !== 1) {
      const now = toMicro((await tx.account.findUniqueOrThrow({ where: { id: line.id }, select: { balance: true } })).balance);
      throw new LedgerBoundError(await boundMessage(tx, communityId, line.account, line.amount, now, line.bounds), line.account, line.amount, now, line.bounds);
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
