import type { Queryable } from '../db/client';
import { federatedIds } from '../community/links';
import { toMicro } from '../money';
import { afterCursor, pageOrder, toPage, type PageRequest } from '../paging';
import { contractSelect, presentContract, statementsOf } from './contracts';
import type { ContractState } from './contract-state';
import { bestPrices } from './engine';
import { negotiationSelect, presentNegotiation } from './negotiations';
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

/** The member's orders in a community, newest first, a page at a time. */
export async function memberOrders(db: Queryable, communityId: string, memberId: string, open: boolean | undefined, { cursor, limit }: PageRequest) {
  const rows = await db.order.findMany({
    where: {
      communityId,
      memberId,
      ...(open === undefined ? {} : open ? { status: 'OPEN' } : { status: { not: 'OPEN' } }),
      ...afterCursor(cursor, 'desc'),
    },
    orderBy: pageOrder('desc'),
    take: limit + 1,
    select: orderListSelect,
  });
  return toPage(rows, limit, (o) => ({
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

/** Contracts where the member is buyer or seller, newest first, a page at a time. */
export async function memberContracts(
  db: Queryable,
  memberId: string,
  filters: { communityId?: string; states?: ContractState[] },
  { cursor, limit }: PageRequest,
) {
  const rows = await db.contract.findMany({
    where: {
      AND: [{ OR: [{ buyerId: memberId }, { sellerId: memberId }] }, afterCursor(cursor, 'desc')],
      ...(filters.communityId ? { communityId: filters.communityId } : {}),
      ...(filters.states ? { state: { in: filters.states } } : {}),
    },
    orderBy: pageOrder('desc'),
    take: limit + 1,
    select: contractSelect,
  });
  return toPage(rows, limit, presentContract);
}

/** Open disputes in a community, oldest contract first, with both sides' statements, for its coordinator. */
export async function openDisputes(db: Queryable, communityId: string, { cursor, limit }: PageRequest) {
  const rows = await db.contract.findMany({
    where: { communityId, state: 'DISPUTED', ...afterCursor(cursor, 'asc') },
    orderBy: pageOrder('asc'),
    take: limit + 1,
    select: contractSelect,
  });
  return toPage(rows, limit, (row) => ({ ...presentContract(row), statements: statementsOf(row) }));
}

/** The member's negotiations, newest first, a page at a time (`open` picks the open or the closed ones). */
export async function memberNegotiations(db: Queryable, memberId: string, filters: { communityId?: string; open?: boolean }, { cursor, limit }: PageRequest) {
  const rows = await db.negotiation.findMany({
    where: {
      AND: [{ OR: [{ buyerId: memberId }, { sellerId: memberId }] }, afterCursor(cursor, 'desc')],
      ...(filters.communityId ? { communityId: filters.communityId } : {}),
      ...(filters.open === undefined ? {} : filters.open ? { status: 'OPEN' } : { status: { not: 'OPEN' } }),
    },
    orderBy: pageOrder('desc'),
    take: limit + 1,
    select: negotiationSelect,
  });
  return toPage(rows, limit, presentNegotiation);
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
