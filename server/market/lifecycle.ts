import { DomainError } from '../errors';
import type { Db, Tx } from '../db/client';
import { toMicro } from '../money';
import { lockMarketBooks } from './books';
import { applyContractActions, autoSettle } from './contracts';
import { releaseHold } from './fills';
import { closeWithoutDeal } from './negotiations';
import { rematchOrders } from './place-order';
import { withOutbox, type Outbox } from '../live/outbox';

const orderSelect = {
  id: true,
  communityId: true,
  memberId: true,
  category: true,
  status: true,
  remaining: true,
  reserved: true,
  community: { select: { id: true, commissionBps: true, creditLimit: true } },
} as const;

/** Closes an open order: its negotiations end, its hold returns to the owner, its status becomes final. */
export async function closeOrder(tx: Tx, orderId: string, status: 'CANCELLED' | 'EXPIRED', byMemberId: string | null, outbox: Outbox, now = new Date()) {
  const order = await tx.order.findUniqueOrThrow({ where: { id: orderId }, select: orderSelect });
  if (order.status !== 'OPEN') return false;
  const negotiations = await tx.negotiation.findMany({
    where: { status: 'OPEN', OR: [{ buyOrderId: order.id }, { sellOrderId: order.id }] },
  });
  const released: string[] = [];
  for (const negotiation of negotiations) {
    released.push(...(await closeWithoutDeal(tx, negotiation, status === 'CANCELLED' ? 'REJECTED' : 'EXPIRED', byMemberId, outbox)));
  }
  const community = { ...order.community, creditLimit: toMicro(order.community.creditLimit) };
  await releaseHold(tx, community, order, status === 'CANCELLED' ? 'Bid cancelled: hold released' : 'Bid expired: hold released');
  await tx.order.update({ where: { id: order.id }, data: { status, locked: 0, reserved: 0n } });
  outbox.add([order.memberId], { type: 'order', orderId: order.id, status, remaining: order.remaining });
  outbox.book(order.community.id, order.category);
  // the counterparties' quantity that was locked in those negotiations is back in the book
  await rematchOrders(tx, released.filter((id) => id !== order.id), now, outbox);
  return true;
}

/** Cancels one of the member's orders (the router checked it is theirs); refused if it closed meanwhile. */
/** Cancels one of the member's open orders inside the caller's transaction, which holds the book's lock (server/market/book-writer.ts). */
export async function cancelInBook(tx: Tx, memberId: string, orderId: string, outbox: Outbox): Promise<void> {
  const closed = await closeOrder(tx, orderId, 'CANCELLED', memberId, outbox);
  if (!closed) {
    const { status } = await tx.order.findUniqueOrThrow({ where: { id: orderId }, select: { status: true } });
    throw new DomainError('CONFLICT', `This order is already ${status.toLowerCase()}.`);
  }
}

/**
 * Time-driven changes, run every few seconds by the coordinator and by tests with a chosen `now`:
 * SPOT orders past their time-to-live and orders past their window expire (holds released); unanswered
 * negotiations expire; matched contracts start when their window opens; contracts whose window ended
 * without delivery fail and refund the buyer; delivered contracts whose review period ended without a
 * dispute settle, paying the seller.
 */
export async function sweepMarket(db: Db, now = new Date()) {
  const counts = { ordersExpired: 0, negotiationsExpired: 0, contractsStarted: 0, contractsFailed: 0, contractsSettled: 0 };

  const staleOrders = await db.order.findMany({
    where: { status: 'OPEN', OR: [{ expiresAt: { lte: now } }, { windowEnd: { lte: now } }] },
    select: { id: true, communityId: true, category: true },
    take: 500,
  });
  for (const order of staleOrders) {
    const expired = await withOutbox(db, async (tx, outbox) => {
      await lockMarketBooks(tx, order.communityId, order.category);
      return closeOrder(tx, order.id, 'EXPIRED', null, outbox, now);
    });
    if (expired) counts.ordersExpired++;
  }

  const staleNegotiations = await db.negotiation.findMany({ where: { status: 'OPEN', expiresAt: { lte: now } }, take: 500 });
  for (const negotiation of staleNegotiations) {
    await withOutbox(db, async (tx, outbox) => {
      await lockMarketBooks(tx, negotiation.communityId, negotiation.category);
      await rematchOrders(tx, await closeWithoutDeal(tx, negotiation, 'EXPIRED', null, outbox), now, outbox);
    });
    counts.negotiationsExpired++;
  }

  const contracts = await db.contract.findMany({
    where: {
      OR: [
        { state: { in: ['MATCHED', 'ACTIVE'] }, windowEnd: { lte: now } },
        { state: 'MATCHED', windowStart: { lte: now } },
      ],
    },
    select: { id: true, state: true, windowEnd: true },
    take: 500,
  });
  for (const contract of contracts) {
    const failed = contract.windowEnd <= now;
    const applied = await withOutbox(db, (tx, outbox) =>
      applyContractActions(
        tx,
        contract.id,
        failed
          ? [
              { action: 'FAIL', actor: 'SYSTEM', actorId: null, note: 'The window ended without delivery' },
              { action: 'REFUND', actor: 'SYSTEM', actorId: null, note: 'Escrow returned to the buyer' },
            ]
          : [{ action: 'START', actor: 'SYSTEM', actorId: null, note: 'The window opened' }],
        outbox,
      ).then(() => true),
    ).catch((error: unknown) => {
      // a party acted on it meanwhile (delivered, disputed): whoever came first wins
      if (error instanceof DomainError && error.kind === 'CONFLICT') return false;
      throw error;
    });
    if (!applied) continue;
    if (failed) counts.contractsFailed++;
    else counts.contractsStarted++;
  }

  counts.contractsSettled = await autoSettle(db, now);
  return counts;
}
