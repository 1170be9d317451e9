import { DomainError } from '../errors';
import type { Db, Tx } from '../db/client';
import { memberBalance, postEntry } from '../ledger/repository';
import { toMicro } from '../money';
import { lockMarketBooks } from './books';
import { matchIncoming, type BookOrder, type OrderConstraints } from './engine';
import { executeFill, marketCommunity, orderHoldEntry, type MarketCommunity } from './fills';
import { openNegotiation } from './negotiations';
import { CANDIDATE_LIMIT, MAX_WINDOW_AHEAD_MS, SPOT_TTL_MS, WINDOW_START_SLACK_MS, type PlaceOrderInput } from './order-input';
import { withOutbox, type Outbox } from '../live/outbox';
import { holdShortMessage, orderDevice, type PlaceCommand, type PlaceOrderResult } from './order-batch';
import { partyFacts } from './parties';
import { holdFor, maxBuyPrice } from './reservation';

const orderForBook = {
  id: true,
  memberId: true,
  side: true,
  unit: true,
  price: true,
  remaining: true,
  locked: true,
  windowStart: true,
  windowEnd: true,
  seq: true,
  constraints: true,
  negotiationMode: true,
  negotiationLimit: true,
  device: { select: { profile: true } },
} as const;

type OrderRow = {
  id: string;
  memberId: string;
  side: 'BUY' | 'SELL';
  unit: string;
  price: bigint;
  remaining: number;
  locked: number;
  windowStart: Date;
  windowEnd: Date;
  seq: number;
  constraints: unknown;
  negotiationMode: 'NONE' | 'MANUAL' | 'AUTO';
  negotiationLimit: bigint | null;
  device: { profile: unknown } | null;
};

export function toBookOrder(row: OrderRow): BookOrder {
  return {
    id: row.id,
    side: row.side,
    unit: row.unit,
    price: toMicro(row.price),
    remaining: row.remaining,
    locked: row.locked,
    windowStart: row.windowStart.getTime(),
    windowEnd: row.windowEnd.getTime(),
    seq: row.seq,
    constraints: (row.constraints ?? {}) as OrderConstraints,
    negotiation: { mode: row.negotiationMode, limit: row.negotiationLimit === null ? null : toMicro(row.negotiationLimit) },
    party: partyFacts(row.memberId, row.device?.profile ?? null),
  };
}

export type { PlaceOrderResult };

/** Credits are the price in this market, not a good: an order for MONEY would hold credits for credits. */
export function refuseMoney(category: string) {
  if (category === 'MONEY') {
    throw new DomainError('BAD_INPUT', 'Credits are the price in the market, not something to buy or sell: choose a resource category (to swap credits for resources, use barter).');
  }
}

/** Checks what zod cannot: the window against the clock, and the members named. */
export async function resolveOrder(db: Db, input: PlaceOrderInput, now: Date): Promise<PlaceCommand['resolved']> {
  const start = Date.parse(input.windowStart);
  const end = Date.parse(input.windowEnd);
  if (end <= now.getTime()) throw new DomainError('BAD_INPUT', 'The window has already ended: choose a window in the future.');
  if (start < now.getTime() - WINDOW_START_SLACK_MS) throw new DomainError('BAD_INPUT', 'The window starts in the past: start it now or later.');
  if (end > now.getTime() + MAX_WINDOW_AHEAD_MS) throw new DomainError('BAD_INPUT', 'The window can reach at most a year ahead.');

  const handles = [...(input.constraints.preferredMembers ?? []), ...(input.constraints.excludedMembers ?? [])];
  const members = handles.length
    ? await db.member.findMany({ where: { handle: { in: handles } }, select: { id: true, handle: true } })
    : [];
  const idOf = new Map(members.map((m) => [m.handle, m.id]));
  const unknown = handles.filter((h) => !idOf.has(h));
  if (unknown.length) throw new DomainError('BAD_INPUT', `No member is called ${unknown.map((h) => `@${h}`).join(', ')}.`);
  const constraints: OrderConstraints = {
    ...input.constraints,
    preferredMembers: input.constraints.preferredMembers?.map((h) => idOf.get(h)!),
    excludedMembers: input.constraints.excludedMembers?.map((h) => idOf.get(h)!),
  };
  for (const key of Object.keys(constraints) as (keyof OrderConstraints)[]) if (constraints[key] === undefined) delete constraints[key];
  return { start: new Date(start), end: new Date(end), constraints };
}

export async function candidatesFor(tx: Tx, incoming: { id: string; memberId: string; side: 'BUY' | 'SELL'; unit: string; windowStart: Date; windowEnd: Date }, communityIds: string[], category: string, now: Date) {
  const isBuy = incoming.side === 'BUY';
  const rows = await tx.order.findMany({
    where: {
      // the book of this community and of the communities linked to it
      communityId: { in: communityIds },
      category,
      side: isBuy ? 'SELL' : 'BUY',
      status: 'OPEN',
      unit: incoming.unit,
      memberId: { not: incoming.memberId },
      remaining: { gt: 0 },
      // compute jobs and donations are filled by donors pulling work (server/compute), and content
      // items by requests for them (server/content), not here
      jobId: null,
      donation: false,
      contentItemId: null,
      // the window rule: the seller's window covers the buyer's whole window
      ...(isBuy
        ? { windowStart: { lte: incoming.windowStart }, windowEnd: { gte: incoming.windowEnd } }
        : { windowStart: { gte: incoming.windowStart }, windowEnd: { lte: incoming.windowEnd, gt: now } }),
      OR: [{ expiresAt: null }, { expiresAt: { gt: now } }],
    },
    // the engine's own priority: price, then time (seq, which linked communities may share), then id
    orderBy: [{ price: isBuy ? 'asc' : 'desc' }, { seq: 'asc' }, { id: 'asc' }],
    take: CANDIDATE_LIMIT,
    select: orderForBook,
  });
  return rows.map(toBookOrder);
}

/** What `openOrder` needs to create an order: the placement input, resolved. */
export type NewOrder = {
  side: 'BUY' | 'SELL';
  category: string;
  unit: string;
  kind: 'STANDING' | 'SPOT';
  quantity: number;
  price: number;
  windowStart: Date;
  windowEnd: Date;
  deviceId: string | null;
  constraints: OrderConstraints;
  negotiation: { mode: 'NONE' | 'MANUAL' | 'AUTO'; limit: number | null };
  jobId?: string;
  donation?: boolean;
  contentItemId?: string;
};

/**
 * Creates an order in its book (the caller holds the book's lock): it takes the next sequence number
 * and, for a BUY, moves its maximum cost (price or ceiling, plus commission, times quantity) from the
 * member's available credits into escrow, refusing with CONFLICT when the credits do not cover it.
 */
export async function openOrder(tx: Tx, memberId: string, community: MarketCommunity, order: NewOrder, now: Date) {
  refuseMoney(order.category);
  const hold =
    order.side === 'BUY'
      ? holdFor(order.quantity, maxBuyPrice({ price: order.price, negotiationMode: order.negotiation.mode, negotiationLimit: order.negotiation.limit }), community.commissionBps)
      : 0;
  const last = await tx.order.findFirst({
    where: { communityId: community.id, category: order.category },
    orderBy: { seq: 'desc' },
    select: { seq: true },
  });
  const created = await tx.order.create({
    data: {
      communityId: community.id,
      memberId,
      deviceId: order.deviceId,
      side: order.side,
      category: order.category,
      unit: order.unit,
      kind: order.kind,
      quantity: order.quantity,
      remaining: order.quantity,
      price: BigInt(order.price),
      windowStart: order.windowStart,
      windowEnd: order.windowEnd,
      expiresAt: order.kind === 'SPOT' ? new Date(now.getTime() + SPOT_TTL_MS) : null,
      seq: (last?.seq ?? 0) + 1,
      constraints: order.constraints,
      negotiationMode: order.negotiation.mode,
      negotiationLimit: order.negotiation.limit === null ? null : BigInt(order.negotiation.limit),
      reserved: BigInt(hold),
      jobId: order.jobId ?? null,
      donation: order.donation ?? false,
      contentItemId: order.contentItemId ?? null,
    },
    select: orderForBook,
  });
  if (hold > 0) {
    const { available } = await memberBalance(tx, community.id, memberId);
    if (available + community.creditLimit < hold) {
      throw new DomainError('CONFLICT', holdShortMessage(hold, available));
    }
    await postEntry(tx, community.id, orderHoldEntry(memberId, { id: created.id, quantity: order.quantity, unit: order.unit }, hold), community);
  }
  return created;
}

/**
 * Places an order in its book the long way, inside the caller's transaction (which holds the book's
 * lock and those of the linked books): the order is created (a BUY moving its maximum cost into escrow),
 * matched against the resting orders read for it, each fill becomes a contract, and a negotiation opens
 * where prices do not meet but both sides allow it.
 */
export async function placeInBook(tx: Tx, outbox: Outbox, communities: string[], community: MarketCommunity, command: PlaceCommand): Promise<PlaceOrderResult> {
  const { memberId, input, resolved, now } = command;
  const device = orderDevice(await tx.device.findMany({ where: { memberId }, select: { id: true, memberId: true, updatedAt: true } }), memberId, input.deviceId);
  const negotiationLimit = input.negotiation.mode === 'NONE' ? null : (input.negotiation.limit ?? null);
  const order = await openOrder(tx, memberId, community, {
    side: input.side,
    category: input.category,
    unit: input.unit,
    kind: input.kind,
    quantity: input.quantity,
    price: input.price,
    windowStart: resolved.start,
    windowEnd: resolved.end,
    deviceId: device?.id ?? null,
    constraints: resolved.constraints,
    negotiation: { mode: input.negotiation.mode, limit: negotiationLimit },
  }, now);
  // the order rests, fills or both: the book's watchers look again after the commit
  outbox.book(community.id, input.category);

  const incoming = toBookOrder(order);
  const candidates = await candidatesFor(tx, order, communities, input.category, now);
  const match = matchIncoming(incoming, candidates, { presorted: true });

  const fills: PlaceOrderResult['fills'] = [];
  for (const fill of match.fills) {
    const { contractId } = await executeFill(tx, community, { ...fill, pricing: fill.how }, outbox);
    fills.push({ contractId, quantity: fill.quantity, price: fill.price });
  }
  const negotiationId = match.negotiation
    ? (await openNegotiation(tx, community.id, input.category, match.negotiation, now, outbox)).id
    : undefined;

  const final = await tx.order.findUniqueOrThrow({ where: { id: order.id }, select: { id: true, status: true, remaining: true } });
  return { order: final, fills, ...(negotiationId ? { negotiationId } : {}) };
}

/** One order in a transaction of its own (when its batch had to be given up). */
export function placeAlone(db: Db, command: PlaceCommand): Promise<PlaceOrderResult> {
  return withOutbox(db, async (tx, outbox) => {
    // linked communities share their books: lock every book this order can match in, in one order
    const communities = await lockMarketBooks(tx, command.input.communityId, command.input.category);
    return placeInBook(tx, outbox, communities, await marketCommunity(tx, command.input.communityId), command);
  });
}

/**
 * Re-matches the book after locked quantity was released (a negotiation ended without a deal, an order
 * closed): each released order still open is matched again as if it came in, against the resting orders
 * of its book (and linked books), so that no two resting orders that cross are left behind. Only crossing
 * fills are made, at the price of the older of the two orders; no negotiation is opened again. The caller holds the
 * lock of the order's book; the linked books are locked here.
 */
export async function rematchOrders(tx: Tx, orderIds: string[], now: Date, outbox: Outbox): Promise<number> {
  let fills = 0;
  for (const orderId of orderIds) {
    const row = await tx.order.findUnique({
      where: { id: orderId },
      select: { ...orderForBook, communityId: true, category: true, status: true, jobId: true, donation: true, contentItemId: true, expiresAt: true, createdAt: true },
    });
    // pulled orders (jobs, donations, priced content) are filled by their own flows, not by the book
    if (!row || row.status !== 'OPEN' || row.jobId || row.donation || row.contentItemId) continue;
    if (row.windowEnd <= now || (row.expiresAt && row.expiresAt <= now)) continue;
    if (row.remaining - row.locked <= 0) continue;
    const communities = await lockMarketBooks(tx, row.communityId, row.category);
    const incoming = toBookOrder(row);
    const candidates = await candidatesFor(tx, row, communities, row.category, now);
    const match = matchIncoming({ ...incoming, negotiation: { mode: 'NONE', limit: null } }, candidates, { presorted: true });
    const community = await marketCommunity(tx, row.communityId);
    for (const fill of match.fills) {
      // both orders were resting: the older one sets the price (as it would have, had it been free)
      const otherId = fill.buyOrderId === row.id ? fill.sellOrderId : fill.buyOrderId;
      const other = await tx.order.findUniqueOrThrow({ where: { id: otherId }, select: { price: true, seq: true, communityId: true, createdAt: true } });
      const olderIsMine = other.communityId === row.communityId ? row.seq < other.seq : row.createdAt < other.createdAt;
      await executeFill(tx, community, { ...fill, price: olderIsMine ? toMicro(row.price) : toMicro(other.price), pricing: 'CROSS' }, outbox);
      fills++;
    }
  }
  return fills;
}
