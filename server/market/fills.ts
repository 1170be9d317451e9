import { DomainError } from '../errors';
import type { Tx } from '../db/client';
import { escrowAccount, memberAccount, transfer, type JournalEntry } from '../ledger/postings';
import { postEntry } from '../ledger/repository';
import { toMicro } from '../money';
import { assertLinkRoom } from '../community/links';
import { fillAmounts } from './commission';
import { releasedHold } from './reservation';
import type { Outbox } from '../live/outbox';

export type Pricing = 'CROSS' | 'AUTO_NEGOTIATED' | 'NEGOTIATED';

export type MarketCommunity = { id: string; commissionBps: number; creditLimit: number };

/**
 * Executes one fill inside the book's transaction: both orders lose the quantity (and, for a
 * negotiated deal, the lock on it), the buy order's hold gives up its share — which becomes the
 * contract's escrow (price x quantity + the buyer's commission share), the surplus going back to the
 * buyer or a shortfall being topped up — and the contract is created in state MATCHED.
 */
export async function executeFill(
  tx: Tx,
  community: MarketCommunity,
  fill: { buyOrderId: string; sellOrderId: string; quantity: number; price: number; pricing: Pricing; fromLocked?: boolean },
  outbox: Outbox,
): Promise<{ contractId: string }> {
  const [buy, sell] = await Promise.all([
    tx.order.findUniqueOrThrow({ where: { id: fill.buyOrderId } }),
    tx.order.findUniqueOrThrow({ where: { id: fill.sellOrderId } }),
  ]);
  const q = fill.quantity;
  const lockedPart = fill.fromLocked ? q : 0;
  for (const order of [buy, sell]) {
    if (order.status !== 'OPEN' || order.remaining - (order.locked - lockedPart) < q || order.locked < lockedPart) {
      throw new DomainError('CONFLICT', 'That order no longer has the quantity open: refresh and try again.');
    }
  }

  // the buyer's community holds the escrow and sets the commission, whichever side came in
  const market = buy.communityId === community.id ? community : await marketCommunity(tx, buy.communityId);
  const amounts = fillAmounts(q, fill.price, market.commissionBps);
  const reserved = toMicro(buy.reserved);
  const released = releasedHold(reserved, buy.remaining, q);
  const adjustment = holdAdjustment(buy, sell.id, released - amounts.buyerPays);
  if (adjustment) await postEntry(tx, market.id, adjustment, market);

  // each write is conditional on the row being as it was read: without the book's lock a concurrent
  // fill would make it match nothing and the fill would be refused rather than overfill
  const updated = [];
  for (const order of [buy, sell]) {
    const { count } = await tx.order.updateMany({
      where: { id: order.id, status: 'OPEN', remaining: order.remaining, locked: order.locked, reserved: order.reserved },
      data: {
        remaining: order.remaining - q,
        locked: order.locked - lockedPart,
        status: order.remaining - q === 0 ? 'FILLED' : 'OPEN',
        ...(order.id === buy.id ? { reserved: BigInt(reserved - released) } : {}),
      },
    });
    if (count !== 1) throw new DomainError('CONFLICT', 'That order changed while it was being filled: try again.');
    updated.push({ id: order.id, memberId: order.memberId, side: order.side, status: order.remaining - q === 0 ? 'FILLED' : 'OPEN', remaining: order.remaining - q });
  }

  // the contract and the escrow live in the buyer's community; a seller from a linked community is paid across,
  // within the credit limit both coordinators agreed for the link
  const buyerCommunityId = buy.communityId;
  if (sell.communityId !== buyerCommunityId) await assertLinkRoom(tx, buyerCommunityId, sell.communityId, amounts.sellerGets);
  const contract = await tx.contract.create({
    data: {
      communityId: buyerCommunityId,
      sellerCommunityId: sell.communityId === buyerCommunityId ? null : sell.communityId,
      buyOrderId: buy.id,
      sellOrderId: sell.id,
      buyerId: buy.memberId,
      sellerId: sell.memberId,
      category: buy.category,
      unit: buy.unit,
      quantity: q,
      price: BigInt(fill.price),
      pricing: fill.pricing,
      windowStart: buy.windowStart,
      windowEnd: buy.windowEnd,
      commissionBps: market.commissionBps,
      buyerCommission: BigInt(amounts.buyerShare),
      sellerCommission: BigInt(amounts.sellerShare),
      escrowed: BigInt(amounts.buyerPays),
      events: { create: { action: 'MATCH', fromState: null, toState: 'MATCHED', note: `${q} ${buy.unit} at ${fill.price} µcredits (${fill.pricing.toLowerCase().replace('_', ' ')})` } },
    },
    select: { id: true },
  });

  // both books change (they differ when the seller is in a linked community)
  outbox.book(buy.communityId, buy.category);
  outbox.book(sell.communityId, sell.category);
  announceFill(outbox, { contractId: contract.id, orders: updated, quantity: q, price: fill.price, category: buy.category, pulled: Boolean(buy.jobId || sell.donation || buy.contentItemId) });
  return { contractId: contract.id };
}

/** The entry that moves a new bid's maximum cost from the member's available credits into escrow. */
export function orderHoldEntry(memberId: string, order: { id: string; quantity: number; unit: string }, hold: number): JournalEntry {
  return { ...transfer(memberAccount(memberId), escrowAccount(memberId), hold, 'ORDER_HOLD', `Held for a bid of ${order.quantity} ${order.unit}`), reference: `order:${order.id}` };
}

/**
 * The entry that settles a bid's hold with what a fill costs it (`surplus` = what the fill released from the
 * hold minus what the contract escrows): the difference back to the buyer, or a shortfall (an agreed price
 * above the bid) topped up; null when they are equal.
 */
export function holdAdjustment(buy: { id: string; memberId: string }, sellOrderId: string, surplus: number): JournalEntry | null {
  const reference = `fill:${buy.id}:${sellOrderId}`;
  if (surplus > 0) return { ...transfer(escrowAccount(buy.memberId), memberAccount(buy.memberId), surplus, 'HOLD_RELEASE', 'Bid filled below its limit: the difference is released'), reference };
  if (surplus < 0) return { ...transfer(memberAccount(buy.memberId), escrowAccount(buy.memberId), -surplus, 'ESCROW_TOP_UP', 'Agreed price above the bid: the difference is held in escrow'), reference };
  return null;
}

/** The live events of a fill: to each side its fill and its order's new state, to both the new contract. */
export function announceFill(
  outbox: Outbox,
  fill: { contractId: string; orders: { id: string; memberId: string; side: 'BUY' | 'SELL'; status: string; remaining: number }[]; quantity: number; price: number; category: string; pulled: boolean },
): void {
  for (const order of fill.orders) {
    outbox.add([order.memberId], { type: 'fill', contractId: fill.contractId, orderId: order.id, side: order.side, quantity: fill.quantity, price: fill.price, category: fill.category, pulled: fill.pulled });
    outbox.add([order.memberId], { type: 'order', orderId: order.id, status: order.status, remaining: order.remaining });
  }
  outbox.add(fill.orders.map((o) => o.memberId), { type: 'contract', contractId: fill.contractId, state: 'MATCHED', action: 'MATCH' });
}

export async function marketCommunity(tx: Tx, communityId: string): Promise<MarketCommunity> {
  const c = await tx.community.findUniqueOrThrow({ where: { id: communityId }, select: { id: true, commissionBps: true, creditLimit: true } });
  return { ...c, creditLimit: toMicro(c.creditLimit) };
}

/** Gives back what an order still holds in escrow (a cancelled or expired bid). */
export async function releaseHold(tx: Tx, community: MarketCommunity, order: { id: string; memberId: string; reserved: bigint }, why: string) {
  const amount = toMicro(order.reserved);
  if (amount > 0) {
    await postEntry(tx, community.id, { ...transfer(escrowAccount(order.memberId), memberAccount(order.memberId), amount, 'HOLD_RELEASE', why), reference: `order:${order.id}` }, community);
  }
}
