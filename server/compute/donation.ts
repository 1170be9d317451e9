import type { Db } from '../db/client';
import { lockBook } from '../db/book-lock';
import type { MarketCommunity } from '../market/fills';
import { closeOrder } from '../market/lifecycle';
import { withOutbox } from '../live/outbox';
import { openOrder } from '../market/place-order';
import { COMPUTE_CATEGORY, WORK_UNIT } from './jobs';
import { registryFor } from './writer';

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
  { deviceId, on, floorPrice }: { deviceId: string; on: boolean; floorPrice: number },
  now = new Date(),
) {
  const registry = registryFor(db);
  registry.forgetDonor(deviceId);
  const done = await withOutbox(db, async (tx, outbox) => {
    await lockBook(tx, community.id, COMPUTE_CATEGORY);
    const current = await tx.order.findMany({ where: { deviceId, communityId: community.id, donation: true, status: 'OPEN' }, select: { id: true } });
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
    return { donating: true, orderId: order.id, leasesReturned: 0 };
  });
  registry.forgetDonor(deviceId);
  if (done.leasesReturned > 0) registry.markStale();
  return done;
}
