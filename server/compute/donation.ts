import type { Db } from '../db/client';
import { lockBook } from '../db/book-lock';
import type { MarketCommunity } from '../market/fills';
import { closeOrder } from '../market/lifecycle';
import { withOutbox } from '../live/outbox';
import { openOrder } from '../market/place-order';
import { COMPUTE_CATEGORY, WORK_UNIT } from './jobs';
import { registryFor } from './writer';
import { DomainError } from '../errors';
import { MB_HOUR, MEMORY_CATEGORY } from './terms';

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
  { deviceId, on, floorPrice, memoryMb = 0, memoryFloorPrice = 1 }: { deviceId: string; on: boolean; floorPrice: number; memoryMb?: number; memoryFloorPrice?: number },
  now = new Date(),
) {
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
    await lockBook(tx, community.id, COMPUTE_CATEGORY);
    await lockBook(tx, community.id, MEMORY_CATEGORY);
    const current = await tx.order.findMany({ where: { deviceId, communityId: community.id, donation: true, status: 'OPEN', category: { in: [COMPUTE_CATEGORY, MEMORY_CATEGORY] } }, select: { id: true } });
    for (const order of current) await closeOrder(tx, order.id, 'CANCELLED', memberId, outbox);
    if (!on) {
      const { count } = await tx.replica.deleteMany({ where: { deviceId, status: 'LEASED' } });
      return { donating: false, orderId: null, leasesReturned: count };
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
    return { donating: true, orderId: order.id, leasesReturned: 0 };
  });
  registry.forgetDonor(deviceId);
  if (done.leasesReturned > 0) registry.markStale();
  return done;
}
