import { DomainError } from '../errors';
import type { Db, Prisma, Tx } from '../db/client';
import { communityAccount, escrowAccount, federationAccount, memberAccount, type JournalEntry, type PostingLine } from '../ledger/postings';
import { postEntry } from '../ledger/repository';
import { toMicro } from '../money';
import { moneyEffect, proRataAmounts, reviewEndsAt, splitAmounts, transition, type ContractAction, type ContractActor, type ContractState } from './contract-state';
import { withOutbox, type Outbox } from '../live/outbox';
import { refuseSellersWord } from '../delivery/rule';

export const contractSelect = {
  id: true,
  communityId: true,
  buyOrderId: true,
  sellOrderId: true,
  buyerId: true,
  sellerId: true,
  sellerCommunityId: true,
  category: true,
  unit: true,
  quantity: true,
  price: true,
  pricing: true,
  windowStart: true,
  windowEnd: true,
  commissionBps: true,
  buyerCommission: true,
  sellerCommission: true,
  escrowed: true,
  state: true,
  deliveredAt: true,
  reviewEndsAt: true,
  barterDealId: true,
  createdAt: true,
  updatedAt: true,
  buyer: { select: { handle: true } },
  seller: { select: { handle: true } },
  events: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], select: { id: true, action: true, fromState: true, toState: true, actorId: true, note: true, createdAt: true } },
} satisfies Prisma.ContractSelect;

type ContractRow = NonNullable<Awaited<ReturnType<typeof findContract>>>;

export const findContract = (db: Db | Tx, id: string) => db.contract.findUnique({ where: { id }, select: contractSelect });

export function presentContract(row: ContractRow) {
  const value = row.quantity * toMicro(row.price);
  return {
    id: row.id,
    communityId: row.communityId,
    buyOrderId: row.buyOrderId,
    sellOrderId: row.sellOrderId,
    buyer: { id: row.buyerId, handle: row.buyer.handle },
    seller: { id: row.sellerId, handle: row.seller.handle },
    category: row.category,
    unit: row.unit,
    quantity: row.quantity,
    price: toMicro(row.price),
    value,
    pricing: row.pricing,
    windowStart: row.windowStart.toISOString(),
    windowEnd: row.windowEnd.toISOString(),
    commissionBps: row.commissionBps,
    buyerCommission: toMicro(row.buyerCommission),
    sellerCommission: toMicro(row.sellerCommission),
    escrowed: toMicro(row.escrowed),
    state: row.state,
    deliveredAt: row.deliveredAt?.toISOString() ?? null,
    reviewEndsAt: row.reviewEndsAt?.toISOString() ?? null,
    barterDealId: row.barterDealId,
    statements: statementsOf(row),
    createdAt: row.createdAt.toISOString(),
    events: row.events.map((e) => ({ ...e, createdAt: e.createdAt.toISOString() })),
  };
}

/** Barter contracts whose buyer or seller is the community's own pool say so in `pricing`. */
export const BARTER_PRICING = { plain: 'BARTER', poolBuyer: 'BARTER_POOL_BUYER', poolSeller: 'BARTER_POOL_SELLER', poolBoth: 'BARTER_POOL_BOTH' } as const;
const poolBuys = (pricing: string) => pricing === BARTER_PRICING.poolBuyer || pricing === BARTER_PRICING.poolBoth;
const poolSells = (pricing: string) => pricing === BARTER_PRICING.poolSeller || pricing === BARTER_PRICING.poolBoth;

type Settlement = { kind: string; memo: string; toSeller: number; commission: number; refund: number };

/** How an action's money effect divides the contract's escrow between seller, community and buyer. */
function settlementFor(row: ContractRow, step: ContractStep): Settlement | null {
  const action = step.action;
  const escrowed = toMicro(row.escrowed);
  const effect = moneyEffect(action);
  if (effect === 'NONE' || escrowed === 0) return null;
  const what = `${row.quantity} ${row.unit} of ${row.category.toLowerCase()}`;
  const commission = Math.min(escrowed, toMicro(row.buyerCommission) + toMicro(row.sellerCommission));
  if (effect === 'REFUND_BUYER') return { kind: 'REFUND', memo: `Refund: ${what}`, toSeller: 0, commission: 0, refund: escrowed };
  if (effect === 'PAY_SELLER') return { kind: 'SETTLEMENT', memo: `Sold ${what}`, toSeller: escrowed - commission, commission, refund: 0 };
  if (effect === 'PRO_RATA') {
    const { part, whole } = step.proven ?? { part: 0, whole: 1 };
    const paid = proRataAmounts(escrowed, commission, part, whole);
    const percent = ((100 * part) / whole).toFixed(part === whole || part === 0 ? 0 : 1);
    return { kind: 'PROVEN_SETTLEMENT', memo: `Delivered ${percent}% of ${what}`, toSeller: paid.sellerGets, commission: paid.commission, refund: paid.refund };
  }
  const split = splitAmounts(escrowed, commission, step.sellerShareBps ?? 0);
  return { kind: 'SPLIT_SETTLEMENT', memo: `Dispute split: ${what}`, toSeller: split.sellerGets, commission: split.commission, refund: split.refund };
}

/**
 * The ledger entries a settlement makes, per community: escrow pays the seller, the community's commission
 * (a share to the sweepstakes pool) and refunds the buyer. A seller in a linked community is paid through
 * the two communities' clearing accounts; a barter leg given or received by the community pool pays or
 * refunds the pool.
 */
function settlementEntries(row: ContractRow, s: Settlement, sweepstakesShareBps: number): { communityId: string; entry: JournalEntry }[] {
  const reference = `contract:${row.id}`;
  const toPool = Math.floor((s.commission * sweepstakesShareBps) / 10_000);
  const sellerFunds = poolSells(row.pricing) ? communityAccount('COMMISSION') : memberAccount(row.sellerId);
  const sellerCommunity = row.sellerCommunityId;
  const lines: PostingLine[] = [
    { account: escrowAccount(row.buyerId), amount: -(s.toSeller + s.commission + s.refund) },
    { account: sellerCommunity ? federationAccount(sellerCommunity) : sellerFunds, amount: s.toSeller },
    { account: communityAccount('COMMISSION'), amount: s.commission - toPool },
    { account: communityAccount('SWEEPSTAKES'), amount: toPool },
    { account: poolBuys(row.pricing) ? communityAccount('COMMISSION') : memberAccount(row.buyerId), amount: s.refund },
  ].filter((l) => l.amount !== 0);
  const entries = [{ communityId: row.communityId, entry: { kind: s.kind, memo: s.memo, reference, lines } }];
  if (sellerCommunity && s.toSeller > 0) {
    entries.push({
      communityId: sellerCommunity,
      entry: { kind: s.kind, memo: s.memo, reference, lines: [{ account: federationAccount(row.communityId), amount: -s.toSeller }, { account: sellerFunds, amount: s.toSeller }] },
    });
  }
  return entries;
}

export type ContractStep = {
  action: ContractAction;
  actor: ContractActor;
  actorId: string | null;
  note?: string;
  /** RESOLVE_SPLIT: the seller's share of the escrow, basis points */
  sellerShareBps?: number;
  /** SETTLE_PROVEN: the share the proofs of delivery cover, `part` of `whole` in one measure (e.g. 60 of 3600 seconds) */
  proven?: { part: number; whole: number };
};

/**
 * Applies actions to a contract inside the caller's transaction, checking each against the state
 * machine (`contract-state.ts`), moving the money each implies and recording an event per change.
 * Each change is a conditional write on the state it was read in, made before any money moves: of
 * concurrent actions on one contract exactly one applies, the others get CONFLICT.
 */
export async function applyContractActions(tx: Tx, contractId: string, steps: ContractStep[], outbox: Outbox, now = new Date()): Promise<ContractState> {
  let row = await findContract(tx, contractId);
  if (!row) throw new DomainError('NOT_FOUND', 'No such contract.');
  for (const step of steps) {
    const result = transition(row.state, step.action, step.actor);
    if (!result.ok) throw new DomainError('CONFLICT', result.reason);
    const community = await tx.community.findUniqueOrThrow({ where: { id: row.communityId }, select: { creditLimit: true, sweepstakesShareBps: true, reviewPeriodHours: true } });
    const settlement = settlementFor(row, step);
    const delivered = step.action === 'REPORT_DELIVERED' ? { deliveredAt: now, reviewEndsAt: reviewEndsAt(now, community.reviewPeriodHours) } : {};
    const { count } = await tx.contract.updateMany({
      where: { id: row.id, state: row.state, escrowed: row.escrowed },
      data: { state: result.next, ...delivered, ...(settlement ? { escrowed: 0n } : {}) },
    });
    if (count !== 1) throw new DomainError('CONFLICT', 'The contract changed meanwhile: refresh and try again.');
    if (settlement) {
      for (const { communityId, entry } of settlementEntries(row, settlement, community.sweepstakesShareBps)) {
        if (entry.lines.length < 2) continue;
        const limit = communityId === row.communityId ? community.creditLimit : (await tx.community.findUniqueOrThrow({ where: { id: communityId }, select: { creditLimit: true } })).creditLimit;
        await postEntry(tx, communityId, entry, { creditLimit: toMicro(limit) });
      }
    }
    await tx.contractEvent.create({
      data: { contractId: row.id, action: step.action, fromState: row.state, toState: result.next, actorId: step.actorId, note: step.note ?? '' },
    });
    outbox.add([row.buyerId, row.sellerId], { type: 'contract', contractId: row.id, state: result.next, action: step.action });
    row = (await findContract(tx, contractId))!;
  }
  return row.state;
}

/** Actions that need the person's own words in the timeline. */
const NEEDS_STATEMENT: Partial<Record<ContractAction, string>> = {
  DISPUTE: "Say what went wrong: the community's coordinator reads it before deciding.",
  RESPOND: "Say what happened from your side: the community's coordinator reads it before deciding.",
};

/**
 * A party's action on a contract (the router checked the member is its buyer or seller: `actor`). A
 * dispute does not refund: it waits in DISPUTED, with the buyer's statement, for the community's
 * coordinator to decide (`resolveDispute`); the seller may respond. The state is checked again, and the
 * change written conditionally, inside the transaction (applyContractActions).
 */
export async function actOnContract(
  db: Db,
  memberId: string,
  existing: { id: string; state: ContractState },
  actor: 'BUYER' | 'SELLER',
  action: 'START' | 'REPORT_DELIVERED' | 'SIGN_OFF' | 'DISPUTE' | 'RESPOND',
  note?: string,
  now = new Date(),
) {
  const contractId = existing.id;
  const checked = transition(existing.state, action, actor);
  if (!checked.ok) throw new DomainError('CONFLICT', checked.reason);
  if (action === 'REPORT_DELIVERED') {
    const terms = await db.contract.findUniqueOrThrow({ where: { id: contractId }, select: { category: true, unit: true, barterDealId: true } });
    refuseSellersWord(terms);
  }
  const needs = NEEDS_STATEMENT[action];
  if (needs && !note?.trim()) throw new DomainError('BAD_INPUT', needs);
  await withOutbox(db, (tx, outbox) => applyContractActions(tx, contractId, [{ action, actor, actorId: memberId, note }], outbox, now));
  return presentContract((await findContract(db, contractId))!);
}

export type DisputeDecision = 'PAY_SELLER' | 'REFUND_BUYER' | 'SPLIT';
const DECISION_ACTION: Record<DisputeDecision, ContractAction> = { PAY_SELLER: 'RESOLVE_PAY', REFUND_BUYER: 'RESOLVE_REFUND', SPLIT: 'RESOLVE_SPLIT' };

/**
 * The community's coordinator (the router checked) decides a dispute: pay the seller, refund the buyer, or split (the seller
 * gets `sellerShareBps` of the escrow less commission pro rata; the rest goes back to the buyer). The
 * decision and its reason are an event in the contract's timeline. Exactly one decision applies.
 */
export async function resolveDispute(
  db: Db,
  memberId: string,
  input: { contractId: string; decision: DisputeDecision; sellerShareBps?: number; reason: string },
  now = new Date(),
) {
  if (!input.reason.trim()) throw new DomainError('BAD_INPUT', 'Give the reason for your decision: both sides will read it.');
  let share: number | undefined;
  if (input.decision === 'SPLIT') {
    share = input.sellerShareBps;
    if (share === undefined || !Number.isInteger(share) || share < 0 || share > 10_000) {
      throw new DomainError('BAD_INPUT', "A split needs the seller's share, from 0 to 10000 basis points (100% = 10000).");
    }
  }
  const action = DECISION_ACTION[input.decision];
  const label =
    input.decision === 'PAY_SELLER' ? 'Decided: pay the seller' : input.decision === 'REFUND_BUYER' ? 'Decided: refund the buyer' : `Decided: split, ${(share! / 100).toFixed(2)}% to the seller`;
  await withOutbox(db, (tx, outbox) =>
    applyContractActions(tx, input.contractId, [{ action, actor: 'COORDINATOR', actorId: memberId, note: `${label}. ${input.reason.trim()}`, sellerShareBps: share }], outbox, now),
  );
  return presentContract((await findContract(db, input.contractId))!);
}

/** The statements of a dispute: the buyer's (the dispute) and the seller's responses, oldest first. */
export function statementsOf(row: ContractRow) {
  return {
    buyer: row.events.filter((e) => e.action === 'DISPUTE').map((e) => e.note),
    seller: row.events.filter((e) => e.action === 'RESPOND').map((e) => e.note),
  };
}

/** Delivered contracts whose review period has ended settle by themselves, paying the seller. */
export async function autoSettle(db: Db, now: Date, legacyReviewHours = 72): Promise<number> {
  const due = await db.contract.findMany({
    where: {
      state: 'DELIVERED',
      OR: [
        { reviewEndsAt: { lte: now } },
        // delivered before review periods existed: the default period from the last change
        { reviewEndsAt: null, updatedAt: { lte: new Date(now.getTime() - legacyReviewHours * 3_600_000) } },
      ],
    },
    select: { id: true },
    take: 500,
  });
  let settled = 0;
  for (const { id } of due) {
    try {
      await withOutbox(db, (tx, outbox) =>
        applyContractActions(tx, id, [{ action: 'AUTO_SETTLE', actor: 'SYSTEM', actorId: null, note: 'The review period ended without a dispute' }], outbox, now),
      );
      settled++;
    } catch (error) {
      // signed off or disputed meanwhile: whoever came first wins
      if (!(error instanceof DomainError && error.kind === 'CONFLICT')) throw error;
    }
  }
  return settled;
}
