import { DomainError } from '../errors';
import type { Db, Prisma, Tx } from '../db/client';
import { formatCredits, MAX_MICRO, toMicro } from '../money';
import { lockMarketBooks } from './books';
import type { NegotiationToOpen } from './engine';
import { executeFill, marketCommunity } from './fills';
import { withOutbox, type Outbox } from '../live/outbox';
import { rematchOrders } from './place-order';

/** An unanswered negotiation expires after a day, or when the buyer's window ends if that is sooner. */
export const NEGOTIATION_TTL_MS = 24 * 3_600_000;

export const negotiationSelect = {
  id: true,
  communityId: true,
  category: true,
  buyOrderId: true,
  sellOrderId: true,
  buyerId: true,
  sellerId: true,
  quantity: true,
  buyerPrice: true,
  sellerPrice: true,
  status: true,
  expiresAt: true,
  contractId: true,
  createdAt: true,
  updatedAt: true,
  buyOrder: { select: { unit: true, windowStart: true, windowEnd: true, communityId: true } },
  offers: { orderBy: { createdAt: 'asc' }, select: { memberId: true, price: true, createdAt: true } },
} satisfies Prisma.NegotiationSelect;

type NegotiationRow = Awaited<ReturnType<typeof loadNegotiation>>;

async function loadNegotiation(db: Db | Tx, id: string) {
  return db.negotiation.findUnique({ where: { id }, select: negotiationSelect });
}

export function presentNegotiation(row: NonNullable<NegotiationRow>) {
  return {
    id: row.id,
    communityId: row.communityId,
    category: row.category,
    unit: row.buyOrder.unit,
    windowStart: row.buyOrder.windowStart.toISOString(),
    windowEnd: row.buyOrder.windowEnd.toISOString(),
    buyOrderId: row.buyOrderId,
    sellOrderId: row.sellOrderId,
    buyerId: row.buyerId,
    sellerId: row.sellerId,
    quantity: row.quantity,
    buyerPrice: toMicro(row.buyerPrice),
    sellerPrice: toMicro(row.sellerPrice),
    status: row.status,
    expiresAt: row.expiresAt.toISOString(),
    contractId: row.contractId,
    createdAt: row.createdAt.toISOString(),
    offers: row.offers.map((o) => ({ memberId: o.memberId, price: toMicro(o.price), createdAt: o.createdAt.toISOString() })),
  };
}

/** Opens a hand negotiation between two orders and locks its quantity on both (inside the book's transaction). */
export async function openNegotiation(tx: Tx, communityId: string, category: string, deal: NegotiationToOpen, now: Date, outbox: Outbox) {
  const [buy, sell] = await Promise.all([
    tx.order.findUniqueOrThrow({ where: { id: deal.buyOrderId }, select: { memberId: true, windowEnd: true } }),
    tx.order.findUniqueOrThrow({ where: { id: deal.sellOrderId }, select: { memberId: true } }),
  ]);
  await tx.order.updateMany({ where: { id: { in: [deal.buyOrderId, deal.sellOrderId] } }, data: { locked: { increment: deal.quantity } } });
  outbox.book(communityId, category);
  const negotiation = await tx.negotiation.create({
    data: {
      communityId,
      category,
      buyOrderId: deal.buyOrderId,
      sellOrderId: deal.sellOrderId,
      buyerId: buy.memberId,
      sellerId: sell.memberId,
      quantity: deal.quantity,
      buyerPrice: BigInt(deal.buyerPrice),
      sellerPrice: BigInt(deal.sellerPrice),
      expiresAt: new Date(Math.min(now.getTime() + NEGOTIATION_TTL_MS, buy.windowEnd.getTime())),
    },
    select: { id: true },
  });
  outbox.add([buy.memberId, sell.memberId], {
    type: 'negotiation',
    negotiationId: negotiation.id,
    status: 'OPEN',
    buyerPrice: deal.buyerPrice,
    sellerPrice: deal.sellerPrice,
    byMemberId: null,
  });
  return negotiation;
}

/**
 * Ends an open negotiation without a deal and gives the locked quantity back to both orders; returns the
 * ids of the two orders whose quantity was released (empty when it was not open), which the caller
 * re-matches (`rematchOrders`) once it has finished its own changes.
 */
export async function closeWithoutDeal(tx: Tx, row: { id: string; communityId: string; category: string; buyOrderId: string; sellOrderId: string; buyerId: string; sellerId: string; quantity: number; buyerPrice: bigint; sellerPrice: bigint }, status: 'REJECTED' | 'EXPIRED', byMemberId: string | null, outbox: Outbox) {
  const { count } = await tx.negotiation.updateMany({ where: { id: row.id, status: 'OPEN' }, data: { status } });
  if (count === 0) return [];
  await tx.order.updateMany({ where: { id: { in: [row.buyOrderId, row.sellOrderId] } }, data: { locked: { decrement: row.quantity } } });
  outbox.book(row.communityId, row.category);
  outbox.add([row.buyerId, row.sellerId], {
    type: 'negotiation',
    negotiationId: row.id,
    status,
    buyerPrice: toMicro(row.buyerPrice),
    sellerPrice: toMicro(row.sellerPrice),
    byMemberId,
  });
  return [row.buyOrderId, row.sellOrderId];
}

/**
 * A deal of `quantity` units at `price` must stay within what any amount may be (MAX_MICRO), commission
 * included, so that every sum the ledger makes of it is exact.
 */
export function assertDealFits(quantity: number, price: number, commissionBps: number): void {
  const value = BigInt(quantity) * BigInt(price);
  if (value + (value * BigInt(commissionBps)) / 10_000n > BigInt(MAX_MICRO)) {
    throw new DomainError(
      'BAD_INPUT',
      `At ${formatCredits(price)} credits each, ${quantity} units would cost more than ${formatCredits(MAX_MICRO)} credits with commission, the most one trade may carry: offer a lower price.`,
    );
  }
}

type Move = { kind: 'counter'; price: number } | { kind: 'accept' } | { kind: 'reject' };

/**
 * A party's move in an open negotiation (the router checked the member is its buyer or seller; the
 * negotiation is read again under the book lock). A counter that crosses the other side's standing price, or
 * an acceptance, closes the deal at the other side's price (the crossing price) and creates the contract.
 */
export async function negotiate(db: Db, memberId: string, found: { id: string; communityId: string; category: string }, move: Move, now = new Date()) {
  const negotiationId = found.id;
  const outcome = await withOutbox(db, async (tx, outbox) => {
    await lockMarketBooks(tx, found.communityId, found.category);
    const row = (await loadNegotiation(tx, negotiationId))!;
    if (row.status !== 'OPEN') {
      throw new DomainError('CONFLICT', `This negotiation is already ${row.status.toLowerCase()}.`);
    }
    if (row.expiresAt <= now) {
      await rematchOrders(tx, await closeWithoutDeal(tx, row, 'EXPIRED', null, outbox), now, outbox);
      return { expired: true as const };
    }
    const isBuyer = row.buyerId === memberId;
    if (move.kind === 'reject') {
      await rematchOrders(tx, await closeWithoutDeal(tx, row, 'REJECTED', memberId, outbox), now, outbox);
      return { contractId: null };
    }
    const { commissionBps } = await marketCommunity(tx, row.buyOrder.communityId);

    let buyerPrice = toMicro(row.buyerPrice);
    let sellerPrice = toMicro(row.sellerPrice);
    let dealPrice: number | null = null;
    if (move.kind === 'accept') {
      dealPrice = isBuyer ? sellerPrice : buyerPrice;
      assertDealFits(row.quantity, dealPrice, commissionBps);
    } else {
      assertDealFits(row.quantity, move.price, commissionBps);
      await tx.negotiationOffer.create({ data: { negotiationId: row.id, memberId, price: BigInt(move.price) } });
      if (isBuyer) buyerPrice = move.price;
      else sellerPrice = move.price;
      if (buyerPrice >= sellerPrice) dealPrice = isBuyer ? sellerPrice : buyerPrice;
    }

    let contractId: string | null = null;
    if (dealPrice !== null) {
      ({ contractId } = await executeFill(tx, await marketCommunity(tx, row.communityId), { buyOrderId: row.buyOrderId, sellOrderId: row.sellOrderId, quantity: row.quantity, price: dealPrice, pricing: 'NEGOTIATED', fromLocked: true }, outbox));
      buyerPrice = sellerPrice = dealPrice;
    }
    await tx.negotiation.update({
      where: { id: row.id },
      data: { buyerPrice: BigInt(buyerPrice), sellerPrice: BigInt(sellerPrice), ...(contractId ? { status: 'AGREED', contractId } : {}) },
    });
    outbox.add([row.buyerId, row.sellerId], {
      type: 'negotiation',
      negotiationId: row.id,
      status: contractId ? 'AGREED' : 'OPEN',
      buyerPrice,
      sellerPrice,
      byMemberId: memberId,
    });
    return { contractId };
  });
  if ('expired' in outcome) throw new DomainError('CONFLICT', 'This negotiation has expired.');
  const negotiation = presentNegotiation((await loadNegotiation(db, negotiationId))!);
  const contract = outcome.contractId ? { contractId: outcome.contractId, quantity: negotiation.quantity, price: negotiation.buyerPrice } : null;
  return { negotiation, fill: contract };
}
