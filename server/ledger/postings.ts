/**
 * Ledger rules as pure functions. A journal entry is a set of postings to accounts whose amounts sum to
 * zero; every movement of credits is one entry. Accounts are named by kind and owner (a member, or the
 * community itself when `memberId` is null). Amounts are integer micro-credits.
 */
import type { AccountKind } from '../db/generated/sqlite/enums';
import { formatCredits, MAX_MICRO } from '../money';

/** An account by kind and owner; a federation clearing account is also named by the linked community. */
export type AccountRef = { kind: AccountKind; memberId: string | null; peerCommunityId?: string };
export type PostingLine = { account: AccountRef; amount: number };
/**
 * `onceKey` marks a movement that must happen once (a cash reference, a draw's prize, a join grant): the
 * database refuses a second entry with the same key, whatever the concurrency.
 */
export type JournalEntry = { kind: string; memo: string; reference?: string; onceKey?: string; lines: PostingLine[] };

export class UnbalancedEntryError extends Error {}

export const memberAccount = (memberId: string): AccountRef => ({ kind: 'MEMBER', memberId });
export const escrowAccount = (memberId: string): AccountRef => ({ kind: 'ESCROW', memberId });
export const communityAccount = (kind: Exclude<AccountKind, 'MEMBER' | 'ESCROW' | 'FEDERATION_CLEARING'>): AccountRef => ({
  kind,
  memberId: null,
});
export const federationAccount = (peerCommunityId: string): AccountRef => ({ kind: 'FEDERATION_CLEARING', memberId: null, peerCommunityId });

/** The accounts a community owns from the moment it exists. */
export const COMMUNITY_ACCOUNT_KINDS = ['ISSUER', 'COMMISSION', 'SWEEPSTAKES', 'CASH_CLEARING'] as const;

export function assertPositiveAmount(amount: number): void {
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new UnbalancedEntryError(`amount must be a positive whole number of micro-credits, got ${amount}`);
  }
}

/** Throws unless the entry has at least two postings, all non-zero safe integers, summing to zero. */
export function assertBalanced(entry: JournalEntry): void {
  if (entry.lines.length < 2) throw new UnbalancedEntryError('an entry needs at least two postings');
  let sum = 0;
  for (const line of entry.lines) {
    if (!Number.isSafeInteger(line.amount) || line.amount === 0) {
      throw new UnbalancedEntryError(`posting amounts must be non-zero whole micro-credits, got ${line.amount}`);
    }
    sum += line.amount;
  }
  if (sum !== 0) throw new UnbalancedEntryError(`postings sum to ${sum}, not zero`);
}

/** Moves `amount` from one account to another. */
export function transfer(from: AccountRef, to: AccountRef, amount: number, kind: string, memo: string): JournalEntry {
  assertPositiveAmount(amount);
  return { kind, memo, lines: [{ account: from, amount: -amount }, { account: to, amount }] };
}

/** A community issues new credits to a member: its issuing account goes negative by the same amount. */
export function grant(memberId: string, amount: number, memo: string): JournalEntry {
  return transfer(communityAccount('ISSUER'), memberAccount(memberId), amount, 'GRANT', memo);
}

/** The net change per account, in the order accounts first appear. */
export function netByAccount(entry: JournalEntry): PostingLine[] {
  const net = new Map<string, PostingLine>();
  for (const line of entry.lines) {
    const key = `${line.account.kind}:${line.account.memberId ?? ''}:${line.account.peerCommunityId ?? ''}`;
    const seen = net.get(key);
    if (seen) seen.amount += line.amount;
    else net.set(key, { account: line.account, amount: line.amount });
  }
  return [...net.values()];
}

/** The most a member's available (or escrow) balance may hold: 1 billion credits. */
export const MEMBER_BALANCE_MAX = MAX_MICRO;
/**
 * How far a community's own accounts (issuer, cash clearing, commission, sweepstakes) may go either way:
 * 4 billion credits. With members at most 1e15 µ, any two balances the server adds stay below 2^53 µ.
 */
export const COMMUNITY_BALANCE_BOUND = 4 * MEMBER_BALANCE_MAX;

/** The range an account's balance must stay in, micro-credits, inclusive. */
export type Bounds = { floor: number; ceiling: number };

/**
 * The bounds of an account: a member down to the community's credit limit, escrow and the pools
 * (sweepstakes, and commission, which is the coordinator's pool) never below zero, the issuer and cash
 * clearing within ±COMMUNITY_BALANCE_BOUND, and a federation clearing account within ±the cap both
 * coordinators agreed for the link (0 when there is no active link).
 */
export function accountBounds(account: AccountRef, { creditLimit, linkCap = 0 }: { creditLimit: number; linkCap?: number }): Bounds {
  switch (account.kind) {
    case 'MEMBER':
      return { floor: -Math.min(Math.max(creditLimit, 0), MEMBER_BALANCE_MAX), ceiling: MEMBER_BALANCE_MAX };
    case 'ESCROW':
      return { floor: 0, ceiling: MEMBER_BALANCE_MAX };
    case 'SWEEPSTAKES':
    case 'COMMISSION':
      return { floor: 0, ceiling: COMMUNITY_BALANCE_BOUND };
    case 'FEDERATION_CLEARING': {
      const cap = Math.min(Math.max(linkCap, 0), COMMUNITY_BALANCE_BOUND);
      return { floor: -cap, ceiling: cap };
    }
    default:
      return { floor: -COMMUNITY_BALANCE_BOUND, ceiling: COMMUNITY_BALANCE_BOUND };
  }
}

/**
 * The condition a balance must meet before `amount` is added, so that the result stays within bounds:
 * a debit checks only the floor and a credit only the ceiling, so a movement back toward the range is
 * always allowed (a cap lowered below an open position can still be paid down).
 */
export function guardFor(amount: number, { floor, ceiling }: Bounds): { gte: bigint } | { lte: bigint } {
  // in BigInt, so that it is exact whatever the amount (a bound minus a large amount can pass 2^53)
  return amount < 0 ? { gte: BigInt(floor) - BigInt(amount) } : { lte: BigInt(ceiling) - BigInt(amount) };
}

/** Whether `amount` may be added to `balance` under the bounds (the pure form of `guardFor`). */
export function mayPost(balance: number, amount: number, bounds: Bounds): boolean {
  const guard = guardFor(amount, bounds);
  return 'gte' in guard ? BigInt(balance) >= guard.gte : BigInt(balance) <= guard.lte;
}

/** What a member is told when a trade would take two linked communities past the cap their coordinators agreed. */
export const linkCapMessage = (here: string, there: string, cap: number) =>
  `This trade would pass the credit limit agreed between ${here} and ${there} (${formatCredits(cap)} credits): ask the coordinators to raise it.`;
