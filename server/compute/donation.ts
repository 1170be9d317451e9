import type { Db } from '../db/client';
import { lockBook } from '../db/book-lock';
import type { MarketCommunity } from '../market/fills';
import { closeOrder } from '../market/lifecycle';
import { withOutbox } from '../live/outbox';
import { COMPUTE_CATEGORY, WORK_UNIT } from './jobs';
import { registryFor } from './writer';
import { DomainError } from '../errors';
import { MB_HOUR, MEMORY_CATEGORY } from './terms';
import { lockMarketBooks } from '../market/books';
import { openOrder, rematchOrders } from '../market/place-order';
import { orderCostFits, ORDER_COST_MESSAGE, WINDOW_START_SLACK_MS } from '../market/order-input';

/** The most memory a device can offer one unit, MB. */
export const MAX_MEMORY_OFFER_MB = 16_384;

/** MB of memory the device measured (`navigator.deviceMemory`), or null when it could not tell. */
export function measuredMemoryMb(profile: unknown): number | null {
  const gb = (profile as { memory?: { deviceMemoryGb?: unknown } } | null)?.memory?.deviceMemoryGb;
  return typeof gb === 'number' && gb > 0 ? Math.round(gb * 1024) : null;
}

/** A donation offers this many work units over its window: in practice, as many as the device will do. */
export const DONATION_CAPACITY = 1_000_000;
export const DONATION_WINDOW_MS = 7 * 86_400_000;

/**
 * Switching donation on posts the device's standing SELL of compute (replacing any earlier one, so the
 * window and floor price stay current); switching it off withdraws the SELL and gives back its leases.
 * The device is the member's own: the router checked (communityDeviceProcedure).
 */
export async function setDonation(
  db: Db,
  memberId: string,
  community: MarketCommunity,
  { deviceId, on, floorPrice, memoryMb = 0, memoryFloorPrice = 1, computeSells }: { deviceId: string; on: boolean; floorPrice: number; memoryMb?: number; memoryFloorPrice?: number; computeSells?: ComputeSell[] },
  now = new Date(),
) {
  if (computeSells) checkComputeSells(computeSells);
  if (on && memoryMb > 0) {
    // a device sells the memory it has: no more than it measured, when it could measure it
    const device = await db.device.findUniqueOrThrow({ where: { id: deviceId }, select: { profile: true } });
    const measured = measuredMemoryMb(device.profile);
    if (measured !== null && memoryMb > measured) {
      throw new DomainError('BAD_INPUT', `This device measured ${measured.toLocaleString('en')} MB of memory: it can offer at most that much to one unit.`);
    }
  }
  const registry = registryFor(db);
  registry.forgetDonor(deviceId);
  const done = await withOutbox(db, async (tx, outbox) => {
    // the compute book and the books linked to it (a standing GFLOP sell meets their bids), in their one order
    await lockMarketBooks(tx, community.id, COMPUTE_CATEGORY);
    await lockBook(tx, community.id, MEMORY_CATEGORY);
    // the device's standing GFLOP and CPU-second sells go with the donation: withdrawn when it stops, replaced when
    // new ones are given, left as they are otherwise (a new floor price or memory offer)
    if (!on || computeSells) {
      const sells = await tx.donorComputeSell.findMany({ where: { deviceId }, select: { orderId: true } });
      const openSells = await tx.order.findMany({ where: { id: { in: sells.map((s) => s.orderId) }, communityId: community.id, status: 'OPEN' }, select: { id: true } });
      for (const order of openSells) await closeOrder(tx, order.id, 'CANCELLED', memberId, outbox);
      if (openSells.length) outbox.book(community.id, COMPUTE_CATEGORY);
    }
    const current = await tx.order.findMany({ where: { deviceId, communityId: community.id, donation: true, status: 'OPEN', category: { in: [COMPUTE_CATEGORY, MEMORY_CATEGORY] } }, select: { id: true } });
    for (const order of current) await closeOrder(tx, order.id, 'CANCELLED', memberId, outbox);
    if (!on) {
      const { count } = await tx.replica.deleteMany({ where: { deviceId, status: 'LEASED' } });
      return { donating: false, orderId: null, leasesReturned: count, computeOrderIds: [] as string[] };
    }
    const order = await openOrder(tx, memberId, community, {
      side: 'SELL',
      category: COMPUTE_CATEGORY,
      unit: WORK_UNIT,
      kind: 'STANDING',
      quantity: DONATION_CAPACITY,
      price: floorPrice,
      windowStart: now,
      windowEnd: new Date(now.getTime() + DONATION_WINDOW_MS),
      deviceId,
      constraints: {},
      negotiation: { mode: 'NONE', limit: null },
      donation: true,
    }, now);
    // the memory it sells alongside: room for units whose working set fits, paid by MB × their run time
    if (memoryMb > 0) {
      const sale = await openOrder(tx, memberId, community, {
        side: 'SELL', category: MEMORY_CATEGORY, unit: MB_HOUR, kind: 'STANDING', quantity: DONATION_CAPACITY, price: memoryFloorPrice,
        windowStart: now, windowEnd: new Date(now.getTime() + DONATION_WINDOW_MS), deviceId, constraints: {}, negotiation: { mode: 'NONE', limit: null }, donation: true,
      }, now);
      await tx.memoryOffer.create({ data: { orderId: sale.id, deviceId, memoryMb } });
    }
    // a standing sell by measure: an ordinary order of the book, so a resting bid that crosses it fills now
    const computeOrderIds: string[] = [];
    for (const sell of computeSells ?? []) {
      const standing = await openOrder(tx, memberId, community, {
        side: 'SELL', category: COMPUTE_CATEGORY, unit: sell.unit, kind: 'STANDING', quantity: sell.quantity, price: sell.price,
        // from the market's slack before now, so that a bid placed a moment ago (its window starting then) is covered
        windowStart: new Date(now.getTime() - WINDOW_START_SLACK_MS), windowEnd: new Date(now.getTime() + DONATION_WINDOW_MS), deviceId, constraints: {}, negotiation: { mode: 'NONE', limit: null },
      }, now);
      await tx.donorComputeSell.create({ data: { orderId: standing.id, deviceId } });
      computeOrderIds.push(standing.id);
    }
    if (computeOrderIds.length) {
      await rematchOrders(tx, computeOrderIds, now, outbox);
      outbox.book(community.id, COMPUTE_CATEGORY);
    }
    return { donating: true, orderId: order.id, leasesReturned: 0, computeOrderIds };
  });
  registry.forgetDonor(deviceId);
  if (done.leasesReturned > 0) registry.markStale();
  return done;
}

/** Units a donor can sell by measure beside its donation: bids in them meet these sells in the book. */
export const DONOR_SELL_UNITS = ['GFLOP', 'CPU_SECOND'] as const;
export type ComputeSell = { unit: (typeof DONOR_SELL_UNITS)[number]; quantity: number; price: number };

/** One sell per unit, each within the bounds of any order. */
export function checkComputeSells(sells: ComputeSell[]) {
  const units = new Set(sells.map((s) => s.unit));
  if (units.size !== sells.length) throw new DomainError('BAD_INPUT', 'Sell GFLOP and CPU seconds once each: one price and quantity per unit.');
  for (const sell of sells) if (!orderCostFits(sell.quantity, sell.price)) throw new DomainError('BAD_INPUT', ORDER_COST_MESSAGE);
}

/** The device's open standing sells by measure in a community: unit, price, quantity and what is left. */
export async function donorSells(db: Db, communityId: string, deviceId: string) {
  const rows = await db.donorComputeSell.findMany({ where: { deviceId }, select: { orderId: true } });
  const orders = await db.order.findMany({
    where: { id: { in: rows.map((r) => r.orderId) }, communityId, status: 'OPEN' },
    orderBy: { unit: 'asc' },
    select: { id: true, unit: true, price: true, quantity: true, remaining: true, windowEnd: true },
  });
  return orders.map((o) => ({ orderId: o.id, unit: o.unit, price: Number(o.price), quantity: o.quantity, remaining: o.remaining, windowEnd: o.windowEnd.toISOString() }));
}
