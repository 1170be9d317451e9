/**
 * The matching engine: pure functions over plain data, following DESIGN.md "Market rules".
 * No I/O, no clock, no imports (the bench transpiles this file on its own). Money is integer
 * micro-credits per unit, quantities are integers in the order's unit, times are epoch ms.
 *
 * `matchIncoming` is the reference: it filters and sorts whatever it is given. `Book` keeps each
 * side in price levels and feeds `matchIncoming` its candidates already in priority order, so a
 * match costs O(k log L) for k touched orders and L price levels (plus whatever ineligible orders
 * it has to step over); it gives the same results as the reference.
 */

export type Side = 'BUY' | 'SELL';
export type NegotiationMode = 'NONE' | 'MANUAL' | 'AUTO';
export type NetworkKind = 'wifi' | 'cellular' | 'ethernet';

export type OrderConstraints = {
  /** If non-empty, the counterparty must be one of these members. */
  preferredMembers?: string[];
  /** The counterparty must not be one of these members. */
  excludedMembers?: string[];
  /** The counterparty device's free storage (MB) is at least this. */
  minStorageMb?: number;
  /** If non-empty, the counterparty device's OS family is one of these (case-insensitive). */
  os?: string[];
  minMips?: number;
  minMflops?: number;
  /** If non-empty, the counterparty device's connection type is one of these. */
  networks?: NetworkKind[];
};

/** The order owner's device facts; null = unknown, which fails any constraint on that fact. */
export type PartyFacts = {
  memberId: string;
  storageMb: number | null;
  os: string | null;
  mips: number | null;
  mflops: number | null;
  network: string | null;
};

export type BookOrder = {
  id: string;
  side: Side;
  unit: string;
  /** Limit price per unit, micro-credits. */
  price: number;
  /** Quantity still open. */
  remaining: number;
  /** Quantity locked in open negotiations (not matchable). */
  locked: number;
  windowStart: number;
  windowEnd: number;
  /** Arrival order within the book: lower = older. */
  seq: number;
  constraints: OrderConstraints;
  /** `limit` is the buyer's ceiling (>= price) or the seller's floor (<= price). */
  negotiation: { mode: NegotiationMode; limit: number | null };
  party: PartyFacts;
};

export type Fill = {
  buyOrderId: string;
  sellOrderId: string;
  quantity: number;
  price: number;
  how: 'CROSS' | 'AUTO_NEGOTIATED';
};

export type NegotiationToOpen = {
  buyOrderId: string;
  sellOrderId: string;
  quantity: number;
  buyerPrice: number;
  sellerPrice: number;
};

export type MatchResult = {
  fills: Fill[];
  /** The incoming order's new remaining quantity. */
  incomingRemaining: number;
  /** New remaining of every resting order that was filled. */
  restingRemaining: Record<string, number>;
  /** A MANUAL negotiation to open between the incoming order and the best non-crossing one. */
  negotiation: NegotiationToOpen | null;
};

export type PriceLevel = { price: number; quantity: number };
export type Depth = { bids: PriceLevel[]; asks: PriceLevel[] };

/** Quantity that can still trade: remaining − locked. */
export function available(order: BookOrder): number {
  return order.remaining - order.locked;
}

function wellFormed(order: BookOrder): boolean {
  return (
    Number.isSafeInteger(order.price) &&
    order.price >= 0 &&
    Number.isSafeInteger(order.remaining) &&
    Number.isSafeInteger(order.locked) &&
    order.locked >= 0
  );
}

function inList(list: readonly string[] | undefined, value: string | null): boolean {
  if (list === undefined || list.length === 0) return true;
  if (value === null) return false;
  const wanted = value.toLowerCase();
  return list.some((item) => item.toLowerCase() === wanted);
}

function atLeast(min: number | undefined | null, value: number | null): boolean {
  return min == null || (value !== null && value >= min);
}

/** Whether every constraint in `c` holds against the counterparty's facts `p`. */
export function constraintsHold(c: OrderConstraints, p: PartyFacts): boolean {
  if (c.preferredMembers !== undefined && c.preferredMembers.length > 0 && !c.preferredMembers.includes(p.memberId)) {
    return false;
  }
  if (c.excludedMembers !== undefined && c.excludedMembers.includes(p.memberId)) return false;
  return (
    atLeast(c.minStorageMb, p.storageMb) &&
    atLeast(c.minMips, p.mips) &&
    atLeast(c.minMflops, p.mflops) &&
    inList(c.os, p.os) &&
    inList(c.networks, p.network)
  );
}

/**
 * Whether `sell` may trade with `buy`: the sell window covers the whole buy window, both have
 * quantity available, units agree, every constraint of both sides holds against the other
 * side's facts, and they belong to different members.
 */
export function isEligible(buy: BookOrder, sell: BookOrder): boolean {
  return (
    buy.side === 'BUY' &&
    sell.side === 'SELL' &&
    buy.unit === sell.unit &&
    sell.windowStart <= buy.windowStart &&
    sell.windowEnd >= buy.windowEnd &&
    wellFormed(buy) &&
    wellFormed(sell) &&
    available(buy) > 0 &&
    available(sell) > 0 &&
    buy.party.memberId !== sell.party.memberId &&
    constraintsHold(buy.constraints, sell.party) &&
    constraintsHold(sell.constraints, buy.party)
  );
}

/**
 * Priority of two resting orders of the same side: negative when `a` comes first. SELLs lowest
 * price first, BUYs highest price first; then oldest (`seq`); then `id`, so the order is total.
 */
export function comparePriority(a: BookOrder, b: BookOrder): number {
  if (a.price !== b.price) return a.side === 'SELL' ? a.price - b.price : b.price - a.price;
  if (a.seq !== b.seq) return a.seq - b.seq;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export type NegotiationOutcome = { kind: 'AUTO'; price: number } | { kind: 'MANUAL' } | { kind: 'STOP' };

const STOP: NegotiationOutcome = { kind: 'STOP' };
const MANUAL: NegotiationOutcome = { kind: 'MANUAL' };

/** What happens between a bid and an ask that do not cross (bid < ask). */
export function negotiate(buy: BookOrder, sell: BookOrder): NegotiationOutcome {
  const buyMode = buy.negotiation.mode;
  const sellMode = sell.negotiation.mode;
  if (buyMode === 'NONE' || sellMode === 'NONE') return STOP;
  if (buyMode === 'AUTO' && sellMode === 'AUTO') {
    const range = autoRange(buy, sell);
    return range === null ? STOP : { kind: 'AUTO', price: Math.floor((range.lo + range.hi) / 2) };
  }
  return MANUAL;
}

/**
 * The overlap of the buyer's [bid, ceiling] and the seller's [floor, ask], or null. A missing
 * limit means no room to move; a limit on the wrong side of the price is clamped to the price.
 */
export function autoRange(buy: BookOrder, sell: BookOrder): { lo: number; hi: number } | null {
  const ceiling = Math.max(buy.price, buy.negotiation.limit ?? buy.price);
  const floor = Math.min(sell.price, sell.negotiation.limit ?? sell.price);
  const lo = Math.max(buy.price, floor);
  const hi = Math.min(ceiling, sell.price);
  return lo <= hi ? { lo, hi } : null;
}

export type MatchOptions = {
  /**
   * The caller promises `resting` is in priority order for the incoming side (as `Book` yields
   * it); ineligible entries may be mixed in. The engine then reads only as far as it needs, and
   * throws if it meets two entries out of order.
   */
  presorted?: boolean;
};

/**
 * Match one incoming order against the opposite side of the book. `resting` may contain anything
 * (same side, other units, exhausted orders): whatever is not eligible is ignored. Inputs are
 * never mutated; the caller persists the returned fills and remainders.
 */
export function matchIncoming(
  incoming: BookOrder,
  resting: Iterable<BookOrder>,
  options: MatchOptions = {},
): MatchResult {
  if (incoming.side !== 'BUY' && incoming.side !== 'SELL') {
    throw new RangeError(`incoming order ${incoming.id} has no valid side`);
  }
  if (!wellFormed(incoming)) {
    throw new RangeError(`incoming order ${incoming.id} must carry safe-integer price, remaining and locked`);
  }
  if (options.presorted === true) return run(incoming, resting, true);

  const seen = new Set<string>();
  const candidates: BookOrder[] = [];
  for (const order of resting) {
    if (order.side === incoming.side || order.id === incoming.id || seen.has(order.id)) continue;
    seen.add(order.id);
    const eligible = incoming.side === 'BUY' ? isEligible(incoming, order) : isEligible(order, incoming);
    if (eligible) candidates.push(order);
  }
  candidates.sort(comparePriority);
  return run(incoming, candidates, false);
}

function run(incoming: BookOrder, candidates: Iterable<BookOrder>, checkOrder: boolean): MatchResult {
  const incomingIsBuy = incoming.side === 'BUY';
  const noNegotiation = incoming.negotiation.mode === 'NONE';
  const fills: Fill[] = [];
  const touched = new Map<string, { remaining: number; filled: number }>();
  let negotiation: NegotiationToOpen | null = null;
  let left = available(incoming);
  let filledTotal = 0;
  let previous: BookOrder | null = null;

  if (left > 0) {
    for (const order of candidates) {
      if (order.side === incoming.side) continue;
      if (checkOrder) {
        if (previous !== null && comparePriority(previous, order) > 0) {
          throw new Error(`presorted candidates out of priority order at ${order.id}`);
        }
        previous = order;
      }
      const buy = incomingIsBuy ? incoming : order;
      const sell = incomingIsBuy ? order : incoming;
      const crosses = buy.price >= sell.price;
      // Candidates come in priority order, so once one does not cross none after it does.
      if (!crosses && noNegotiation) break;
      if (order.id === incoming.id || !isEligible(buy, sell)) continue;

      const seen = touched.get(order.id);
      const room = seen === undefined ? available(order) : available(order) - seen.filled;
      if (room <= 0) continue;
      const quantity = Math.min(left, room);

      if (crosses) {
        fills.push({ buyOrderId: buy.id, sellOrderId: sell.id, quantity, price: order.price, how: 'CROSS' });
      } else {
        const outcome = negotiate(buy, sell);
        if (outcome.kind !== 'AUTO') {
          if (outcome.kind === 'MANUAL') {
            negotiation = {
              buyOrderId: buy.id,
              sellOrderId: sell.id,
              quantity,
              buyerPrice: buy.price,
              sellerPrice: sell.price,
            };
          }
          break;
        }
        fills.push({ buyOrderId: buy.id, sellOrderId: sell.id, quantity, price: outcome.price, how: 'AUTO_NEGOTIATED' });
      }
      if (seen === undefined) touched.set(order.id, { remaining: order.remaining, filled: quantity });
      else seen.filled += quantity;
      left -= quantity;
      filledTotal += quantity;
      if (left === 0) break;
    }
  }

  const restingRemaining: Record<string, number> = {};
  for (const [id, t] of touched) restingRemaining[id] = t.remaining - t.filled;
  return { fills, incomingRemaining: incoming.remaining - filledTotal, restingRemaining, negotiation };
}

/**
 * Aggregated depth by price level, best first (bids high→low, asks low→high), counting
 * remaining − locked; orders with nothing available are left out.
 */
export function bestPrices(orders: Iterable<BookOrder>): Depth {
  const bids = new Map<number, number>();
  const asks = new Map<number, number>();
  for (const order of orders) {
    const quantity = available(order);
    if (!(quantity > 0)) continue;
    const levels = order.side === 'BUY' ? bids : order.side === 'SELL' ? asks : null;
    if (levels === null) continue;
    levels.set(order.price, (levels.get(order.price) ?? 0) + quantity);
  }
  const toLevels = (levels: Map<number, number>, sign: 1 | -1): PriceLevel[] =>
    [...levels].map(([price, quantity]) => ({ price, quantity })).sort((a, b) => sign * (a.price - b.price));
  return { bids: toLevels(bids, -1), asks: toLevels(asks, 1) };
}

// ---------------------------------------------------------------------------------------------
// Book: an in-memory order book that keeps both sides in price levels.

type Entry = { order: BookOrder; dead: boolean };

class Level {
  readonly entries: Entry[] = [];
  head = 0;
  live = 0;
  heapIndex = -1;
  constructor(readonly price: number) {}
}

function entryBefore(a: BookOrder, b: BookOrder): boolean {
  return a.seq < b.seq || (a.seq === b.seq && a.id < b.id);
}

/** One side of a book: a map of price levels plus an indexed binary heap of them, best on top. */
class SideLevels {
  private readonly levels = new Map<number, Level>();
  private readonly heap: Level[] = [];
  constructor(private readonly side: Side) {}

  private better(a: Level, b: Level): boolean {
    return this.side === 'SELL' ? a.price < b.price : a.price > b.price;
  }

  add(entry: Entry): void {
    const price = entry.order.price;
    let level = this.levels.get(price);
    if (level === undefined) {
      level = new Level(price);
      this.levels.set(price, level);
      level.heapIndex = this.heap.length;
      this.heap.push(level);
      this.siftUp(level.heapIndex);
    }
    const entries = level.entries;
    const last = entries[entries.length - 1];
    if (last === undefined || entryBefore(last.order, entry.order)) {
      entries.push(entry);
    } else {
      let lo = level.head;
      let hi = entries.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (entryBefore(entries[mid]!.order, entry.order)) lo = mid + 1;
        else hi = mid;
      }
      entries.splice(lo, 0, entry);
    }
    level.live += 1;
  }

  kill(entry: Entry): void {
    const level = this.levels.get(entry.order.price);
    if (level === undefined || entry.dead) return;
    entry.dead = true;
    level.live -= 1;
    if (level.live === 0) {
      this.levels.delete(level.price);
      this.removeFromHeap(level);
      return;
    }
    const entries = level.entries;
    while (entries[level.head]?.dead === true) level.head += 1;
    const span = entries.length - level.head;
    if (level.head > 32 && level.head * 2 > entries.length) {
      entries.splice(0, level.head);
      level.head = 0;
    } else if (span > 2 * level.live + 32) {
      const kept = entries.slice(level.head).filter((e) => !e.dead);
      entries.length = 0;
      entries.push(...kept);
      level.head = 0;
    }
  }

  /** Live orders in priority order, walking the heap best-first without changing it. */
  *inPriorityOrder(): Generator<BookOrder, void, undefined> {
    for (const level of this.levelsInOrder()) {
      const entries = level.entries;
      for (let i = level.head; i < entries.length; i++) {
        const entry = entries[i]!;
        if (!entry.dead) yield entry.order;
      }
    }
  }

  *levelsInOrder(): Generator<Level, void, undefined> {
    const heap = this.heap;
    if (heap.length === 0) return;
    // A frontier of heap indices, itself a small binary heap ordered like the levels: each step
    // takes the best index and offers its two children, so k levels cost O(k log k).
    const frontier: number[] = [0];
    while (frontier.length > 0) {
      const top = frontier[0]!;
      const moved = frontier.pop()!;
      if (frontier.length > 0) {
        frontier[0] = moved;
        this.frontierDown(frontier);
      }
      yield heap[top]!;
      const left = 2 * top + 1;
      if (left < heap.length) this.frontierUp(frontier, left);
      if (left + 1 < heap.length) this.frontierUp(frontier, left + 1);
    }
  }

  private frontierUp(frontier: number[], index: number): void {
    let i = frontier.length;
    frontier.push(index);
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      if (!this.better(this.heap[frontier[i]!]!, this.heap[frontier[parent]!]!)) return;
      [frontier[i], frontier[parent]] = [frontier[parent]!, frontier[i]!];
      i = parent;
    }
  }

  private frontierDown(frontier: number[]): void {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < frontier.length && this.better(this.heap[frontier[l]!]!, this.heap[frontier[best]!]!)) best = l;
      if (r < frontier.length && this.better(this.heap[frontier[r]!]!, this.heap[frontier[best]!]!)) best = r;
      if (best === i) return;
      [frontier[i], frontier[best]] = [frontier[best]!, frontier[i]!];
      i = best;
    }
  }

  depth(): PriceLevel[] {
    const out: PriceLevel[] = [];
    for (const level of this.levelsInOrder()) {
      let quantity = 0;
      for (let i = level.head; i < level.entries.length; i++) {
        const entry = level.entries[i]!;
        if (!entry.dead) quantity += Math.max(0, available(entry.order));
      }
      if (quantity > 0) out.push({ price: level.price, quantity });
    }
    return out;
  }

  private swap(i: number, j: number): void {
    const a = this.heap[i]!;
    const b = this.heap[j]!;
    this.heap[i] = b;
    this.heap[j] = a;
    b.heapIndex = i;
    a.heapIndex = j;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      if (!this.better(this.heap[i]!, this.heap[parent]!)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const n = this.heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < n && this.better(this.heap[l]!, this.heap[best]!)) best = l;
      if (r < n && this.better(this.heap[r]!, this.heap[best]!)) best = r;
      if (best === i) return;
      this.swap(i, best);
      i = best;
    }
  }

  private removeFromHeap(level: Level): void {
    const i = level.heapIndex;
    const lastIndex = this.heap.length - 1;
    if (i !== lastIndex) this.swap(i, lastIndex);
    this.heap.pop();
    level.heapIndex = -1;
    const moved = this.heap[i];
    if (moved !== undefined) {
      this.siftUp(i);
      this.siftDown(moved.heapIndex);
    }
  }
}

export type SubmitOptions = {
  /** Put what is left of the incoming order on the book (default true). */
  rest?: boolean;
};

/**
 * An in-memory order book for one community and category. It stores its own copies of orders
 * (callers' objects are never mutated), matches through `matchIncoming` with candidates in
 * priority order, and applies the result to itself.
 */
export class Book {
  private readonly byId = new Map<string, { entry: Entry; side: SideLevels }>();
  private readonly bids = new SideLevels('BUY');
  private readonly asks = new SideLevels('SELL');

  get size(): number {
    return this.byId.size;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get(id: string): BookOrder | undefined {
    const order = this.byId.get(id)?.entry.order;
    return order === undefined ? undefined : { ...order };
  }

  /** Put an order on the book without matching it (e.g. when loading a book from storage). */
  add(order: BookOrder): void {
    if (order.side !== 'BUY' && order.side !== 'SELL') throw new RangeError(`order ${order.id} has no valid side`);
    if (!wellFormed(order)) throw new RangeError(`order ${order.id} must carry safe-integer price, remaining and locked`);
    if (this.byId.has(order.id)) throw new RangeError(`order ${order.id} is already on the book`);
    if (order.remaining <= 0) return;
    const side = order.side === 'BUY' ? this.bids : this.asks;
    const entry: Entry = { order: { ...order }, dead: false };
    side.add(entry);
    this.byId.set(order.id, { entry, side });
  }

  /** Take an order off the book; returns it, or undefined if it was not there. */
  remove(id: string): BookOrder | undefined {
    const found = this.byId.get(id);
    if (found === undefined) return undefined;
    found.side.kill(found.entry);
    this.byId.delete(id);
    return { ...found.entry.order };
  }

  /** Change an order's remaining or locked quantity (price and time priority are kept). */
  update(id: string, change: { remaining?: number; locked?: number }): BookOrder | undefined {
    const found = this.byId.get(id);
    if (found === undefined) return undefined;
    const order = found.entry.order;
    const remaining = change.remaining ?? order.remaining;
    const locked = change.locked ?? order.locked;
    if (!Number.isSafeInteger(remaining) || !Number.isSafeInteger(locked) || locked < 0) {
      throw new RangeError(`order ${id} must carry safe-integer remaining and locked`);
    }
    if (remaining <= 0) {
      this.remove(id);
      return { ...order, remaining, locked };
    }
    // The book owns this copy; nothing outside sees it except through `get`/`orders`, which copy.
    order.remaining = remaining;
    order.locked = locked;
    return { ...order };
  }

  /**
   * Resting orders of the side opposite to `side`, in the priority an incoming `side` order takes
   * them. These are the book's own records: read them, do not keep or change them.
   */
  candidatesFor(side: Side): Iterable<Readonly<BookOrder>> {
    return side === 'BUY' ? this.asks.inPriorityOrder() : this.bids.inPriorityOrder();
  }

  /** Match `incoming` against the book, apply the fills, and rest what is left of it. */
  submit(incoming: BookOrder, options: SubmitOptions = {}): MatchResult {
    if (this.byId.has(incoming.id)) throw new RangeError(`order ${incoming.id} is already on the book`);
    const result = matchIncoming(incoming, this.candidatesFor(incoming.side), { presorted: true });
    for (const id in result.restingRemaining) {
      const found = this.byId.get(id)!;
      const remaining = result.restingRemaining[id]!;
      if (remaining <= 0) this.remove(id);
      else found.entry.order.remaining = remaining;
    }
    if (options.rest !== false && result.incomingRemaining > 0) {
      this.add({ ...incoming, remaining: result.incomingRemaining });
    }
    return result;
  }

  /** A copy of every order on the book, bids then asks, each in priority order. */
  *orders(): Generator<BookOrder, void, undefined> {
    for (const order of this.bids.inPriorityOrder()) yield { ...order };
    for (const order of this.asks.inPriorityOrder()) yield { ...order };
  }

  /** The same as `bestPrices(book.orders())`, without sorting. */
  depth(): Depth {
    return { bids: this.bids.depth(), asks: this.asks.depth() };
  }
}
