import type { Queryable } from '../db/client';
import { federatedIds } from '../community/links';
import { toMicro } from '../money';
import { bestPrices } from './engine';
import { toBookOrder } from './place-order';

/** Aggregated depth of one book (optionally one unit), best first, counting what is not locked in negotiation. */
export async function bookDepth(db: Queryable, communityId: string, category: string, unit: string | undefined, now: Date) {
  const rows = await db.order.findMany({
    where: {
      // linked communities see each other's books
      communityId: { in: await federatedIds(db, communityId) },
      category,
      status: 'OPEN',
      windowEnd: { gt: now },
      OR: [{ expiresAt: null }, { expiresAt: { gt: now } }],
      ...(unit ? { unit } : {}),
    },
    select: {
      id: true, memberId: true, side: true, unit: true, price: true, remaining: true, locked: true,
      windowStart: true, windowEnd: true, seq: true, constraints: true, negotiationMode: true, negotiationLimit: true,
      device: { select: { profile: true } },
    },
  });
  return bestPrices(rows.map(toBookOrder));
}

const orderListSelect = {
  id: true, side: true, category: true, unit: true, kind: true, status: true, quantity: true, remaining: true,
  locked: true, price: true, windowStart: true, windowEnd: true, expiresAt: true, negotiationMode: true,
  negotiationLimit: true, reserved: true, createdAt: true,
} as const;

export async function memberOrders(db: Queryable, communityId: string, memberId: string, open: boolean | undefined) {
  const rows = await db.order.findMany({
    where: { communityId, memberId, ...(open === undefined ? {} : open ? { status: 'OPEN' } : { status: { not: 'OPEN' } }) },
    orderBy: { createdAt: 'desc' },
    take: 100,
    select: orderListSelect,
  });
  return rows.map((o) => ({
    ...o,
    price: toMicro(o.price),
    negotiationLimit: o.negotiationLimit === null ? null : toMicro(o.negotiationLimit),
    reserved: toMicro(o.reserved),
    windowStart: o.windowStart.toISOString(),
    windowEnd: o.windowEnd.toISOString(),
    expiresAt: o.expiresAt?.toISOString() ?? null,
    createdAt: o.createdAt.toISOString(),
  }));
}

export async function recentTrades(db: Queryable, communityId: string, category: string | undefined, limit: number) {
  const rows = await db.contract.findMany({
    where: { communityId, ...(category ? { category } : {}) },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: limit,
    select: { id: true, category: true, unit: true, quantity: true, price: true, pricing: true, createdAt: true },
  });
  return rows.map((r) => ({ ...r, price: toMicro(r.price), createdAt: r.createdAt.toISOString() }));
}

/** Trades of one category and unit bucketed in time: volume-weighted average, low, high and volume per bucket. */
export async function priceHistory(db: Queryable, communityId: string, category: string, unit: string, bucketMs: number, since: Date) {
  const rows = await db.contract.findMany({
    where: { communityId, category, unit, createdAt: { gte: since } },
    orderBy: { createdAt: 'asc' },
    take: 5_000,
    select: { quantity: true, price: true, createdAt: true },
  });
  const buckets = new Map<number, { t: number; value: number; volume: number; low: number; high: number }>();
  for (const row of rows) {
    const t = Math.floor(row.createdAt.getTime() / bucketMs) * bucketMs;
    const price = toMicro(row.price);
    const bucket = buckets.get(t) ?? { t, value: 0, volume: 0, low: price, high: price };
    bucket.value += price * row.quantity;
    bucket.volume += row.quantity;
    bucket.low = Math.min(bucket.low, price);
    bucket.high = Math.max(bucket.high, price);
    buckets.set(t, bucket);
  }
  return [...buckets.values()].map((b) => ({
    time: new Date(b.t).toISOString(),
    average: Math.floor(b.value / b.volume),
    low: b.low,
    high: b.high,
    volume: b.volume,
  }));
}
