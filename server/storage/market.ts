/** How storage buys room: standing STORAGE asks of lending devices, filled by a bid placed for the buyer. */
import type { Tx } from '../db/client';
import { lockBook } from '../db/book-lock';
import { toMicro } from '../money';
import { executeFill, type MarketCommunity } from '../market/fills';
import { openOrder } from '../market/place-order';
import type { Outbox } from '../live/outbox';
import { ONLINE_WINDOW_MS } from '../content/signaling';
import type { Candidate } from './domain';

export const STORAGE_CATEGORY = 'STORAGE';
export const STORAGE_UNIT = 'MB_HOUR';

/** Holds the community's STORAGE book until the transaction ends (plans, repairs and the market's own fills take turns). */
export const lockStorageBook = (tx: Tx, communityId: string) => lockBook(tx, communityId, STORAGE_CATEGORY);

/** The open asks of lending devices whose window covers [start, end), online devices marked. */
export async function lendingAsks(tx: Tx, communityId: string, start: Date, end: Date, now: Date): Promise<Candidate[]> {
  const asks = await tx.order.findMany({
    where: {
      communityId, side: 'SELL', category: STORAGE_CATEGORY, unit: STORAGE_UNIT, status: 'OPEN',
      deviceId: { not: null }, windowStart: { lte: start }, windowEnd: { gte: end },
    },
    select: { id: true, memberId: true, deviceId: true, price: true, remaining: true, locked: true },
    orderBy: [{ price: 'asc' }, { seq: 'asc' }],
    take: 500,
  });
  const online = new Set(
    (await tx.presence.findMany({ where: { deviceId: { in: asks.map((a) => a.deviceId!) }, lastSeen: { gt: new Date(now.getTime() - ONLINE_WINDOW_MS) } }, select: { deviceId: true } })).map((p) => p.deviceId),
  );
  return asks
    .map((a) => ({ orderId: a.id, deviceId: a.deviceId!, memberId: a.memberId, price: toMicro(a.price), remaining: a.remaining - a.locked, online: online.has(a.deviceId!) }))
    .filter((c) => c.remaining > 0);
}

/**
 * Buys `quantity` MB-hours from one ask for the buyer (the caller holds the STORAGE book's lock): a bid at the
 * ask's price over [start, end) moves its cost into escrow and fills against the ask at once, making the contract.
 */
export async function buyRoom(
  tx: Tx,
  community: MarketCommunity,
  buyer: { memberId: string; deviceId: string },
  ask: Candidate,
  quantity: number,
  window: { start: Date; end: Date },
  outbox: Outbox,
  now: Date,
): Promise<string> {
  const bid = await openOrder(tx, buyer.memberId, community, {
    side: 'BUY', category: STORAGE_CATEGORY, unit: STORAGE_UNIT, kind: 'STANDING', quantity, price: ask.price,
    windowStart: window.start, windowEnd: window.end, deviceId: buyer.deviceId, constraints: {}, negotiation: { mode: 'NONE', limit: null },
  }, now);
  const { contractId } = await executeFill(tx, community, { buyOrderId: bid.id, sellOrderId: ask.orderId, quantity, price: ask.price, pricing: 'CROSS' }, outbox);
  return contractId;
}
