/**
 * A barter's FILE leg (N items) delivered by file transfers, the way a bought copy is: its receiver asks for
 * items its giver publishes in the community against the leg's contract instead of buying them, each copy
 * travels device to device and is checked against its SHA-256 by the receiving device, and each verified copy
 * proves one item. The contract settles once, from those proofs: in full when all N arrived, pro rata when its
 * window closes with some of them (none: the market's sweep refunds it, as any undelivered contract).
 */
import { DomainError } from '../errors';
import { kindOf, type Db, type Tx } from '../db/client';
import { settleFromProofIn } from '../delivery/proof';
import { withOutbox, type Outbox } from '../live/outbox';

export const FILE_LEG_UNIT = 'ITEM';

const COUNTED = ['REQUESTED', 'ACTIVE', 'COMPLETED'] as const;

/**
 * Checks, under the FILE book's lock (the caller holds it), that `memberId` may take `item` against the contract:
 * the member is its buyer, the item's owner its seller, a FILE/ITEM barter leg still open, the item not already
 * sent under it, and fewer transfers under way or done than the items it holds.
 */
export async function checkFileLeg(tx: Tx, memberId: string, contractId: string, item: { id: string; memberId: string; communityId: string }) {
  const contract = await tx.contract.findUnique({
    where: { id: contractId },
    select: { id: true, buyerId: true, sellerId: true, communityId: true, sellerCommunityId: true, category: true, unit: true, quantity: true, state: true, barterDealId: true, windowEnd: true, seller: { select: { handle: true } } },
  });
  if (!contract || contract.buyerId !== memberId) throw new DomainError('NOT_FOUND', 'You hold no contract with that id.');
  if (contract.category !== 'FILE' || contract.unit !== FILE_LEG_UNIT || !contract.barterDealId) throw new DomainError('BAD_INPUT', 'Only a barter leg of files (items) is delivered by sending items against it.');
  if (contract.state !== 'MATCHED' && contract.state !== 'ACTIVE') throw new DomainError('CONFLICT', `That contract is ${contract.state.toLowerCase()}: no more files count towards it.`);
  if (contract.windowEnd.getTime() <= Date.now()) throw new DomainError('PRECONDITION', "That contract's window has closed.");
  if (item.memberId !== contract.sellerId || (item.communityId !== contract.communityId && item.communityId !== contract.sellerCommunityId)) {
    throw new DomainError('BAD_INPUT', `Only @${contract.seller.handle}'s files in this community count towards that contract.`);
  }
  const sent = await tx.transfer.findMany({ where: { contractId: contract.id, status: { in: [...COUNTED] } }, select: { itemId: true } });
  if (sent.some((s) => s.itemId === item.id)) throw new DomainError('CONFLICT', 'That file is already on its way or delivered under this contract: choose another.');
  if (sent.length >= contract.quantity) throw new DomainError('CONFLICT', `All ${contract.quantity} files of that contract are already on their way or delivered.`);
  return contract;
}

/** Verified copies under a leg's contract: the proof. */
const verifiedCount = (tx: Tx, contractId: string) => tx.transfer.count({ where: { contractId, status: 'COMPLETED' } });

/** After a copy under a leg completed (inside its transaction): settles the contract in full once every item arrived. */
export async function fileLegDelivered(tx: Tx, contractId: string, outbox: Outbox) {
  // copies completing at once take turns on the contract's row (PostgreSQL; SQLite serializes every transaction),
  // so the last one counts every verified copy, the others' included
  if (kindOf(tx) === 'postgres') await tx.$executeRaw`SELECT 1 FROM "Contract" WHERE "id" = ${contractId} FOR UPDATE`;
  const contract = await tx.contract.findUniqueOrThrow({ where: { id: contractId }, select: { quantity: true, state: true } });
  if (contract.state !== 'MATCHED' && contract.state !== 'ACTIVE') return;
  const verified = await verifiedCount(tx, contractId);
  if (verified < contract.quantity) return;
  await settleFromProofIn(tx, contractId, { part: contract.quantity, whole: contract.quantity }, `${contract.quantity} of ${contract.quantity} files verified by the receiver's SHA-256`, outbox);
}

/**
 * Legs whose window closed with some files verified settle pro rata (the sweeper, before the market's sweep, which
 * refunds those with none). Safe in several processes: each settlement is a conditional write, and a contract that
 * another process settled first is skipped.
 */
export async function sweepFileLegs(db: Db, now = new Date()) {
  const closed = await db.contract.findMany({
    where: { category: 'FILE', unit: FILE_LEG_UNIT, barterDealId: { not: null }, state: { in: ['MATCHED', 'ACTIVE'] }, windowEnd: { lte: now } },
    select: { id: true },
    take: 500,
  });
  const proven = await db.transfer.groupBy({ by: ['contractId'], where: { contractId: { in: closed.map((c) => c.id) }, status: 'COMPLETED' }, _count: true });
  const due = closed.filter((c) => proven.some((p) => p.contractId === c.id));
  let settled = 0;
  for (const { id } of due) {
    try {
      await withOutbox(db, async (tx, outbox) => {
        const contract = await tx.contract.findUniqueOrThrow({ where: { id }, select: { quantity: true } });
        const verified = Math.min(await verifiedCount(tx, id), contract.quantity);
        await settleFromProofIn(tx, id, { part: verified, whole: contract.quantity }, `${verified} of ${contract.quantity} files verified by the receiver's SHA-256 when the window closed`, outbox, now);
      });
      settled++;
    } catch (error) {
      if (!(error instanceof DomainError && error.kind === 'CONFLICT')) throw error;
    }
  }
  return { fileLegsSettled: settled };
}
