import { DomainError } from '../errors';
import type { Db, Prisma, Tx } from '../db/client';
import { communityAccount, escrowAccount, federationAccount, memberAccount, type JournalEntry } from '../ledger/postings';
import { postEntry } from '../ledger/repository';
import { toMicro } from '../money';
import { moneyEffect, transition, type ContractAction, type ContractActor, type ContractState } from './contract-state';
import { withOutbox, type Outbox } from './outbox';

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
    createdAt: row.createdAt.toISOString(),
    events: row.events.map((e) => ({ ...e, createdAt: e.createdAt.toISOString() })),
  };
}

/**
 * The ledger entries an action's money effect makes, per community: pay the seller less commission, or
 * refund the buyer. A seller in a linked community is paid through the two communities' clearing accounts.
 */
function settlementEntries(row: ContractRow, action: ContractAction, sweepstakesShareBps: number): { communityId: string; entry: JournalEntry }[] {
  const entry = settlementEntry(row, action, sweepstakesShareBps);
  if (!entry) return [];
  const sellerCommunity = row.sellerCommunityId;
  if (!sellerCommunity || entry.kind !== 'SETTLEMENT') return [{ communityId: row.communityId, entry }];
  const sellerLine = entry.lines.find((l) => l.account.kind === 'MEMBER')!;
  const here: JournalEntry = { ...entry, lines: entry.lines.map((l) => (l === sellerLine ? { account: federationAccount(sellerCommunity), amount: l.amount } : l)) };
  const there: JournalEntry = { ...entry, lines: [{ account: federationAccount(row.communityId), amount: -sellerLine.amount }, sellerLine] };
  return [{ communityId: row.communityId, entry: here }, { communityId: sellerCommunity, entry: there }];
}

function settlementEntry(row: ContractRow, action: ContractAction, sweepstakesShareBps: number): JournalEntry | null {
  const escrowed = toMicro(row.escrowed);
  const effect = moneyEffect(action);
  if (effect === 'NONE' || escrowed === 0) return null;
  const reference = `contract:${row.id}`;
  if (effect === 'REFUND_BUYER') {
    return {
      kind: 'REFUND',
      memo: `Refund: ${row.quantity} ${row.unit} of ${row.category.toLowerCase()}`,
      reference,
      lines: [
        { account: escrowAccount(row.buyerId), amount: -escrowed },
        { account: memberAccount(row.buyerId), amount: escrowed },
      ],
    };
  }
  const commission = toMicro(row.buyerCommission) + toMicro(row.sellerCommission);
  // a share of the commission funds the community's sweepstakes pool
  const toPool = Math.floor((commission * sweepstakesShareBps) / 10_000);
  const lines = [
    { account: escrowAccount(row.buyerId), amount: -escrowed },
    { account: memberAccount(row.sellerId), amount: escrowed - commission },
    ...(commission - toPool > 0 ? [{ account: communityAccount('COMMISSION'), amount: commission - toPool }] : []),
    ...(toPool > 0 ? [{ account: communityAccount('SWEEPSTAKES'), amount: toPool }] : []),
  ];
  return { kind: 'SETTLEMENT', memo: `Sold ${row.quantity} ${row.unit} of ${row.category.toLowerCase()}`, reference, lines };
}

/**
 * Applies actions to a contract inside the caller's transaction, checking each against the state
 * machine (`contract-state.ts`), moving the money each implies and recording an event per change.
 */
export async function applyContractActions(
  tx: Tx,
  contractId: string,
  steps: { action: ContractAction; actor: ContractActor; actorId: string | null; note?: string }[],
  outbox: Outbox,
): Promise<ContractState> {
  let row = await findContract(tx, contractId);
  if (!row) throw new DomainError('NOT_FOUND', 'No such contract.');
  for (const step of steps) {
    const result = transition(row.state, step.action, step.actor);
    if (!result.ok) throw new DomainError('CONFLICT', result.reason);
    const community = await tx.community.findUniqueOrThrow({ where: { id: row.communityId }, select: { creditLimit: true, sweepstakesShareBps: true } });
    const entries = settlementEntries(row, step.action, community.sweepstakesShareBps);
    for (const { communityId, entry } of entries) await postEntry(tx, communityId, entry, { creditLimit: toMicro(community.creditLimit) });
    const entry = entries[0]?.entry ?? null;
    const { count } = await tx.contract.updateMany({
      where: { id: row.id, state: row.state },
      data: { state: result.next, ...(entry ? { escrowed: 0n } : {}) },
    });
    if (count !== 1) throw new DomainError('CONFLICT', 'The contract changed meanwhile: refresh and try again.');
    await tx.contractEvent.create({
      data: { contractId: row.id, action: step.action, fromState: row.state, toState: result.next, actorId: step.actorId, note: step.note ?? '' },
    });
    outbox.add([row.buyerId, row.sellerId], { type: 'contract', contractId: row.id, state: result.next, action: step.action });
    row = (await findContract(tx, contractId))!;
  }
  return row.state;
}

const FOLLOW_UP: Partial<Record<ContractAction, ContractAction>> = { DISPUTE: 'REFUND', FAIL: 'REFUND' };

/** A party's action on a contract; a dispute refunds the buyer at once. */
export async function actOnContract(db: Db, memberId: string, contractId: string, action: 'START' | 'REPORT_DELIVERED' | 'SIGN_OFF' | 'DISPUTE', note?: string) {
  const existing = await findContract(db, contractId);
  if (!existing || (existing.buyerId !== memberId && existing.sellerId !== memberId)) {
    throw new DomainError('NOT_FOUND', 'You have no contract with that id.');
  }
  const actor: ContractActor = existing.buyerId === memberId ? 'BUYER' : 'SELLER';
  await withOutbox(db, async (tx, outbox) => {
    const steps: Parameters<typeof applyContractActions>[2] = [{ action, actor, actorId: memberId, note }];
    const followUp = FOLLOW_UP[action];
    if (followUp) steps.push({ action: followUp, actor: 'SYSTEM', actorId: null, note: 'Escrow returned to the buyer' });
    await applyContractActions(tx, contractId, steps, outbox);
  });
  return presentContract((await findContract(db, contractId))!);
}
