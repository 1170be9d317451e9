import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Book,
  autoRange,
  available,
  bestPrices,
  comparePriority,
  isEligible,
  matchIncoming,
  type BookOrder,
  type MatchResult,
  type NegotiationMode,
  type OrderConstraints,
  type PartyFacts,
  type Side,
} from '@/server/market/engine';

const HOUR = 3_600_000;

function party(memberId: string, facts: Partial<PartyFacts> = {}): PartyFacts {
  return { memberId, storageMb: 1_000, os: 'android', mips: 2_000, mflops: 1_000, network: 'wifi', ...facts };
}

let nextSeq = 1;
/** An order with sensible defaults: one unit, a 0–100 window, no constraints, no negotiation. */
function order(side: Side, fields: Partial<BookOrder> & { id: string }): BookOrder {
  return {
    side,
    unit: 'MFLOPS_HOUR',
    price: 100,
    remaining: 10,
    locked: 0,
    windowStart: 0,
    windowEnd: 100,
    seq: nextSeq++,
    constraints: {},
    negotiation: { mode: 'NONE', limit: null },
    party: party(side === 'BUY' ? 'buyer' : `seller-${fields.id}`),
    ...fields,
  };
}
const buy = (fields: Partial<BookOrder> & { id: string }) => order('BUY', fields);
const sell = (fields: Partial<BookOrder> & { id: string }) => order('SELL', fields);

// ---------------------------------------------------------------------------------------------
// Generated books

const MEMBERS = ['ann', 'bob', 'cy', 'dee', 'eve', 'fay'] as const;

const partyArb: fc.Arbitrary<PartyFacts> = fc.record({
  memberId: fc.constantFrom(...MEMBERS),
  storageMb: fc.option(fc.integer({ min: 0, max: 1_000 }), { freq: 12 }),
  os: fc.option(fc.constantFrom('android', 'linux', 'iOS'), { freq: 12 }),
  mips: fc.option(fc.integer({ min: 0, max: 1_000 }), { freq: 12 }),
  mflops: fc.option(fc.integer({ min: 0, max: 1_000 }), { freq: 12 }),
  network: fc.option(fc.constantFrom('wifi', 'cellular', 'ethernet'), { freq: 12 }),
});

/** Mostly no constraint; otherwise one or two of each kind, so generated pairs are often eligible. */
const constraintsArb: fc.Arbitrary<OrderConstraints> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({}) },
  {
    weight: 4,
    arbitrary: fc
      .array(
        fc.oneof(
          fc.subarray([...MEMBERS], { minLength: 1 }).map((preferredMembers): OrderConstraints => ({ preferredMembers })),
          fc.subarray([...MEMBERS], { maxLength: 2 }).map((excludedMembers): OrderConstraints => ({ excludedMembers })),
          fc.integer({ min: 0, max: 800 }).map((minStorageMb): OrderConstraints => ({ minStorageMb })),
          fc.subarray(['android', 'linux', 'ios'], { minLength: 1 }).map((os): OrderConstraints => ({ os })),
          fc.integer({ min: 0, max: 800 }).map((minMips): OrderConstraints => ({ minMips })),
          fc.integer({ min: 0, max: 800 }).map((minMflops): OrderConstraints => ({ minMflops })),
          fc.subarray(['wifi', 'cellular', 'ethernet'] as const, { minLength: 1 }).map((networks): OrderConstraints => ({ networks })),
        ),
        { minLength: 1, maxLength: 2 },
      )
      .map((parts) => Object.assign({}, ...parts) as OrderConstraints),
  },
);

type Draft = Omit<BookOrder, 'id' | 'seq'>;

function draftArb(side?: Side): fc.Arbitrary<Draft> {
  return fc
    .record({
      side: side === undefined ? fc.constantFrom<Side>('BUY', 'SELL') : fc.constant(side),
      unit: fc.constantFrom('GFLOP', 'GFLOP', 'GFLOP', 'GFLOP', 'GFLOP', 'GFLOP', 'GFLOP', 'MB_HOUR'),
      price: fc.integer({ min: 90, max: 110 }),
      remaining: fc.integer({ min: 0, max: 20 }),
      lockedShare: fc.integer({ min: 0, max: 4 }),
      windowStart: fc.constantFrom(0, 0, 0, 10, 20),
      windowEnd: fc.constantFrom(100, 100, 100, 60, 50),
      constraints: constraintsArb,
      mode: fc.constantFrom<NegotiationMode>('NONE', 'MANUAL', 'AUTO', 'AUTO'),
      slack: fc.option(fc.integer({ min: 0, max: 15 }), { freq: 4 }),
      party: partyArb,
    })
    .map(({ lockedShare, mode, slack, ...d }) => ({
      ...d,
      locked: lockedShare === 0 ? Math.min(d.remaining, 3) : 0,
      negotiation: {
        mode,
        limit: slack === null ? null : d.side === 'BUY' ? d.price + slack : d.price - slack,
      },
    }));
}

/** A resting book (orders of both sides, some of them junk for the incoming) and an incoming order. */
const scenarioArb = fc
  .record({
    drafts: fc.array(draftArb(), { maxLength: 30, size: 'max' }),
    incoming: draftArb(),
    incomingLocked: fc.boolean(),
    seqs: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 31, maxLength: 31 }),
  })
  .map(({ drafts, incoming, incomingLocked, seqs }) => {
    // seq values are not unique on purpose: ties fall back to id.
    const resting: BookOrder[] = drafts.map((d, i) => ({ ...d, id: `o${i}`, seq: seqs[i]! }));
    const inc: BookOrder = {
      ...incoming,
      remaining: Math.max(incoming.remaining, 1) * 3,
      locked: incomingLocked ? incoming.locked : 0,
      id: 'in',
      seq: 1_000,
    };
    return { incoming: inc, resting };
  });

/** Eligibility written out again from DESIGN.md, independently of the engine, as an oracle. */
function oracleEligible(b: BookOrder, s: BookOrder): boolean {
  const holds = (c: OrderConstraints, p: PartyFacts): boolean => {
    const lower = (xs: string[] | undefined) => xs?.map((x) => x.toLowerCase());
    if (c.preferredMembers?.length && !c.preferredMembers.includes(p.memberId)) return false;
    if (c.excludedMembers?.includes(p.memberId)) return false;
    if (c.minStorageMb !== undefined && (p.storageMb === null || p.storageMb < c.minStorageMb)) return false;
    if (c.minMips !== undefined && (p.mips === null || p.mips < c.minMips)) return false;
    if (c.minMflops !== undefined && (p.mflops === null || p.mflops < c.minMflops)) return false;
    if (c.os?.length && (p.os === null || !lower(c.os)!.includes(p.os.toLowerCase()))) return false;
    if (c.networks?.length && (p.network === null || !lower(c.networks)!.includes(p.network.toLowerCase()))) return false;
    return true;
  };
  return (
    b.side === 'BUY' &&
    s.side === 'SELL' &&
    s.windowStart <= b.windowStart &&
    s.windowEnd >= b.windowEnd &&
    b.remaining - b.locked > 0 &&
    s.remaining - s.locked > 0 &&
    b.unit === s.unit &&
    b.party.memberId !== s.party.memberId &&
    holds(b.constraints, s.party) &&
    holds(s.constraints, b.party)
  );
}

function pair(incoming: BookOrder, other: BookOrder): { buy: BookOrder; sell: BookOrder } {
  return incoming.side === 'BUY' ? { buy: incoming, sell: other } : { buy: other, sell: incoming };
}

function eligibleWith(incoming: BookOrder, other: BookOrder): boolean {
  if (other.side === incoming.side) return false;
  const { buy, sell } = pair(incoming, other);
  return isEligible(buy, sell);
}

function filledPerOrder(result: MatchResult): Map<string, number> {
  const filled = new Map<string, number>();
  for (const f of result.fills) {
    filled.set(f.buyOrderId, (filled.get(f.buyOrderId) ?? 0) + f.quantity);
    filled.set(f.sellOrderId, (filled.get(f.sellOrderId) ?? 0) + f.quantity);
  }
  return filled;
}

/** Check every market rule on one result; throws (through expect) on the first broken one. */
function checkRules(incoming: BookOrder, resting: BookOrder[], result: MatchResult): void {
  const byId = new Map(resting.map((o) => [o.id, o]));
  const filled = filledPerOrder(result);
  const incomingFilled = filled.get(incoming.id) ?? 0;

  // Quantity is conserved and nothing overfills.
  expect(incomingFilled + result.incomingRemaining).toBe(incoming.remaining);
  expect(incomingFilled).toBeLessThanOrEqual(Math.max(0, available(incoming)));
  for (const [id, q] of filled) {
    if (id === incoming.id) continue;
    const r = byId.get(id);
    expect(r).toBeDefined();
    expect(q).toBeLessThanOrEqual(available(r!));
    expect(result.restingRemaining[id]).toBe(r!.remaining - q);
  }
  expect(Object.keys(result.restingRemaining).sort()).toEqual([...filled.keys()].filter((id) => id !== incoming.id).sort());

  // Every fill: the incoming against an eligible resting order (window rule, units, constraints,
  // no self-trade), a positive integer quantity, at the right price.
  for (const f of result.fills) {
    const otherId = incoming.side === 'BUY' ? f.sellOrderId : f.buyOrderId;
    expect(incoming.side === 'BUY' ? f.buyOrderId : f.sellOrderId).toBe(incoming.id);
    const other = byId.get(otherId)!;
    const { buy, sell } = pair(incoming, other);
    expect(isEligible(buy, sell)).toBe(true);
    expect(sell.windowStart).toBeLessThanOrEqual(buy.windowStart);
    expect(sell.windowEnd).toBeGreaterThanOrEqual(buy.windowEnd);
    expect(buy.party.memberId).not.toBe(sell.party.memberId);
    expect(Number.isSafeInteger(f.quantity) && f.quantity > 0).toBe(true);
    if (f.how === 'CROSS') {
      expect(buy.price).toBeGreaterThanOrEqual(sell.price);
      expect(f.price).toBe(other.price);
    } else {
      expect(buy.price).toBeLessThan(sell.price);
      expect(buy.negotiation.mode).toBe('AUTO');
      expect(sell.negotiation.mode).toBe('AUTO');
      const range = autoRange(buy, sell)!;
      expect(range).not.toBeNull();
      const ceiling = Math.max(buy.price, buy.negotiation.limit ?? buy.price);
      const floor = Math.min(sell.price, sell.negotiation.limit ?? sell.price);
      expect(f.price).toBeGreaterThanOrEqual(buy.price);
      expect(f.price).toBeLessThanOrEqual(ceiling);
      expect(f.price).toBeGreaterThanOrEqual(floor);
      expect(f.price).toBeLessThanOrEqual(sell.price);
      expect(f.price).toBe(Math.floor((range.lo + range.hi) / 2));
    }
  }

  // Price-time priority: fills come in priority order, and every eligible order ahead of a
  // filled one was used up; crossing fills come before negotiated ones.
  const filledOthers = result.fills.map((f) => byId.get(incoming.side === 'BUY' ? f.sellOrderId : f.buyOrderId)!);
  for (let i = 1; i < filledOthers.length; i++) {
    expect(comparePriority(filledOthers[i - 1]!, filledOthers[i]!)).toBeLessThanOrEqual(0);
    if (result.fills[i - 1]!.how === 'AUTO_NEGOTIATED') expect(result.fills[i]!.how).toBe('AUTO_NEGOTIATED');
  }
  const after = (o: BookOrder): number => available(o) - (filled.get(o.id) ?? 0);
  const eligible = [...byId.values()]
    .filter((o) => o.id !== incoming.id && eligibleWith(incoming, o))
    .sort(comparePriority);
  for (const f of filledOthers) {
    for (const ahead of eligible) {
      if (comparePriority(ahead, f) >= 0) break;
      expect(after(ahead)).toBe(0);
    }
  }

  // The book is not left crossed between the incoming remainder and any eligible order.
  const incomingLeft = available(incoming) - incomingFilled;
  const stillOpen = eligible.filter((o) => after(o) > 0);
  if (incomingLeft > 0) {
    for (const o of stillOpen) {
      const { buy, sell } = pair(incoming, o);
      expect(buy.price).toBeLessThan(sell.price);
    }
  }

  // Negotiation: only with the best eligible order left, and only for the right reasons.
  const best = stillOpen[0];
  if (result.negotiation !== null) {
    expect(incomingLeft).toBeGreaterThan(0);
    expect(best).toBeDefined();
    const { buy, sell } = pair(incoming, best!);
    expect(result.negotiation).toEqual({
      buyOrderId: buy.id,
      sellOrderId: sell.id,
      quantity: Math.min(incomingLeft, after(best!)),
      buyerPrice: buy.price,
      sellerPrice: sell.price,
    });
    const modes = [buy.negotiation.mode, sell.negotiation.mode];
    expect(modes).not.toContain('NONE');
    expect(modes).toContain('MANUAL');
  } else if (incomingLeft > 0 && best !== undefined) {
    // Matching stopped although something eligible is left: it must be a legitimate stop.
    const { buy, sell } = pair(incoming, best);
    const modes = [buy.negotiation.mode, sell.negotiation.mode];
    const bothAutoWithoutOverlap = modes[0] === 'AUTO' && modes[1] === 'AUTO' && autoRange(buy, sell) === null;
    expect(modes.includes('NONE') || bothAutoWithoutOverlap).toBe(true);
  }
}

describe('matchIncoming — properties over generated books', () => {
  it('keeps every market rule, and never mutates its inputs', () => {
    fc.assert(
      fc.property(scenarioArb, ({ incoming, resting }) => {
        const before = structuredClone({ incoming, resting });
        const result = matchIncoming(incoming, resting);
        expect({ incoming, resting }).toEqual(before);
        for (const o of resting) {
          const { buy, sell } = pair(incoming, o);
          expect(isEligible(buy, sell)).toBe(oracleEligible(buy, sell));
        }
        checkRules(incoming, resting, result);
      }),
      { numRuns: 3_000 },
    );
  });

  it('gives the same result whatever order the resting orders come in', () => {
    const shuffledArb = scenarioArb.chain(({ incoming, resting }) =>
      fc
        .shuffledSubarray(resting, { minLength: resting.length, maxLength: resting.length })
        .map((shuffled) => ({ incoming, resting, shuffled })),
    );
    fc.assert(
      fc.property(shuffledArb, ({ incoming, resting, shuffled }) => {
        expect(matchIncoming(incoming, shuffled)).toEqual(matchIncoming(incoming, resting));
      }),
      { numRuns: 500 },
    );
  });

  it('matches a Book fed the same orders exactly (the fast path)', () => {
    fc.assert(
      fc.property(scenarioArb, ({ incoming, resting }) => {
        const book = new Book();
        for (const o of resting) if (o.remaining > 0) book.add(o);
        const before = structuredClone(incoming);
        const fast = book.submit(incoming);
        expect(incoming).toEqual(before);
        const reference = matchIncoming(incoming, resting);
        expect(fast).toEqual(reference);
      }),
      { numRuns: 2_000 },
    );
  });

  it('keeps a Book equal to a naive array book over a stream of submits, cancels and locks', () => {
    const op = fc.oneof(
      { weight: 6, arbitrary: draftArb().map((d) => ({ kind: 'submit' as const, d })) },
      { weight: 1, arbitrary: fc.nat().map((n) => ({ kind: 'cancel' as const, n })) },
      { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.nat({ max: 5 })).map(([n, l]) => ({ kind: 'lock' as const, n, l })) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const book = new Book();
        let naive: BookOrder[] = [];
        let seq = 0;
        for (const o of ops) {
          if (o.kind === 'submit') {
            seq += 1;
            const incoming: BookOrder = { ...o.d, remaining: Math.max(1, o.d.remaining), id: `s${seq}`, seq };
            const reference = matchIncoming(incoming, naive);
            checkRules(incoming, naive, reference);
            expect(book.submit(incoming)).toEqual(reference);
            naive = naive
              .map((r) => (r.id in reference.restingRemaining ? { ...r, remaining: reference.restingRemaining[r.id]! } : r))
              .filter((r) => r.remaining > 0);
            if (reference.incomingRemaining > 0) naive.push({ ...incoming, remaining: reference.incomingRemaining });
          } else if (naive.length > 0) {
            const target = naive[o.n % naive.length]!;
            if (o.kind === 'cancel') {
              expect(book.remove(target.id)?.id).toBe(target.id);
              naive = naive.filter((r) => r.id !== target.id);
            } else {
              const locked = Math.min(o.l, target.remaining);
              book.update(target.id, { locked });
              naive = naive.map((r) => (r.id === target.id ? { ...r, locked } : r));
            }
          }
          expect(book.size).toBe(naive.length);
          expect(book.depth()).toEqual(bestPrices(naive));
        }
        expect([...book.orders()].sort((a, b) => a.seq - b.seq)).toEqual([...naive].sort((a, b) => a.seq - b.seq));
      }),
      { numRuns: 400 },
    );
  });
});

describe('the worked example of the capacity marketplace', () => {
  // Saturday 4 January 2025, 00:00–24:00 UTC.
  const saturday = Date.UTC(2025, 0, 4);
  const ask = 12_000_000; // 12 credits per MFLOPS-hour
  const offer = sell({
    id: 'saturday-offer',
    unit: 'MFLOPS_HOUR',
    price: ask,
    remaining: 100,
    windowStart: saturday,
    windowEnd: saturday + 24 * HOUR,
    negotiation: { mode: 'MANUAL', limit: null },
    party: party('seller'),
  });
  const need = (id: string, price: number): BookOrder =>
    buy({
      id,
      unit: 'MFLOPS_HOUR',
      price,
      remaining: 100,
      windowStart: saturday + 12 * HOUR,
      windowEnd: saturday + 18 * HOUR,
      negotiation: { mode: 'MANUAL', limit: null },
      party: party('buyer'),
    });

  it('a bid below the ask opens a negotiation; raising the bid to the ask matches in full', () => {
    const low = need('need-low', 9_000_000);
    expect(isEligible(low, offer)).toBe(true);
    expect(matchIncoming(low, [offer])).toEqual({
      fills: [],
      incomingRemaining: 100,
      restingRemaining: {},
      negotiation: {
        buyOrderId: 'need-low',
        sellOrderId: 'saturday-offer',
        quantity: 100,
        buyerPrice: 9_000_000,
        sellerPrice: ask,
      },
    });

    const raised = need('need-raised', ask);
    expect(matchIncoming(raised, [offer])).toEqual({
      fills: [{ buyOrderId: 'need-raised', sellOrderId: 'saturday-offer', quantity: 100, price: ask, how: 'CROSS' }],
      incomingRemaining: 0,
      restingRemaining: { 'saturday-offer': 0 },
      negotiation: null,
    });
  });

  it('plays out the same on a Book', () => {
    const book = new Book();
    book.add(offer);
    const first = book.submit(need('need-low', 9_000_000), { rest: false });
    expect(first.negotiation?.quantity).toBe(100);
    expect(book.size).toBe(1);
    const second = book.submit(need('need-raised', ask));
    expect(second.fills).toEqual([
      { buyOrderId: 'need-raised', sellOrderId: 'saturday-offer', quantity: 100, price: ask, how: 'CROSS' },
    ]);
    expect(book.size).toBe(0);
    expect(book.depth()).toEqual({ bids: [], asks: [] });
  });

  it('a need outside the Saturday is not served by the Saturday offer', () => {
    const sunday = buy({
      id: 'sunday',
      unit: 'MFLOPS_HOUR',
      price: ask,
      remaining: 100,
      windowStart: saturday + 23 * HOUR,
      windowEnd: saturday + 25 * HOUR,
    });
    expect(isEligible(sunday, offer)).toBe(false);
    expect(matchIncoming(sunday, [offer]).fills).toEqual([]);
  });
});

describe('eligibility', () => {
  const b = buy({ id: 'b', party: party('buyer') });
  const s = sell({ id: 's', party: party('seller') });

  it('accepts a plain pair and is stated buy-first', () => {
    expect(isEligible(b, s)).toBe(true);
    expect(isEligible(s, b)).toBe(false);
  });

  it('requires the sell window to cover the whole buy window', () => {
    expect(isEligible(buy({ id: 'b', windowStart: 10, windowEnd: 20 }), sell({ id: 's', windowStart: 10, windowEnd: 20 }))).toBe(true);
    expect(isEligible(buy({ id: 'b', windowStart: 10, windowEnd: 20 }), sell({ id: 's', windowStart: 11, windowEnd: 30 }))).toBe(false);
    expect(isEligible(buy({ id: 'b', windowStart: 10, windowEnd: 20 }), sell({ id: 's', windowStart: 0, windowEnd: 19 }))).toBe(false);
    expect(isEligible(buy({ id: 'b', windowStart: 0, windowEnd: 100 }), sell({ id: 's', windowStart: 10, windowEnd: 20 }))).toBe(false);
  });

  it('requires quantity available on both sides, net of locks', () => {
    expect(isEligible({ ...b, remaining: 0 }, s)).toBe(false);
    expect(isEligible(b, { ...s, remaining: 5, locked: 5 })).toBe(false);
    expect(isEligible(b, { ...s, remaining: 5, locked: 4 })).toBe(true);
  });

  it('requires equal units and different members', () => {
    expect(isEligible(b, { ...s, unit: 'MB_HOUR' })).toBe(false);
    expect(isEligible(b, { ...s, party: party('buyer') })).toBe(false);
  });

  it('rejects malformed numbers', () => {
    expect(isEligible(b, { ...s, remaining: 2.5 })).toBe(false);
    expect(isEligible(b, { ...s, locked: -1 })).toBe(false);
    expect(isEligible({ ...b, price: Number.NaN }, s)).toBe(false);
  });

  const cases: { name: string; constraint: OrderConstraints; pass: Partial<PartyFacts>; fail: Partial<PartyFacts> }[] = [
    { name: 'preferred members', constraint: { preferredMembers: ['cpty', 'x'] }, pass: {}, fail: { memberId: 'y' } },
    { name: 'excluded members', constraint: { excludedMembers: ['y'] }, pass: {}, fail: { memberId: 'y' } },
    { name: 'minimum storage', constraint: { minStorageMb: 500 }, pass: { storageMb: 500 }, fail: { storageMb: 499 } },
    { name: 'operating system', constraint: { os: ['linux', 'android'] }, pass: { os: 'Android' }, fail: { os: 'ios' } },
    { name: 'minimum MIPS', constraint: { minMips: 1_500 }, pass: { mips: 1_500 }, fail: { mips: 1_499 } },
    { name: 'minimum MFLOPS', constraint: { minMflops: 800 }, pass: { mflops: 900 }, fail: { mflops: 799 } },
    { name: 'network interface', constraint: { networks: ['ethernet', 'wifi'] }, pass: { network: 'ethernet' }, fail: { network: 'cellular' } },
  ];
  for (const c of cases) {
    it(`holds the buyer's ${c.name} constraint against the seller, and the seller's against the buyer`, () => {
      const constrainedBuy = { ...b, constraints: c.constraint };
      expect(isEligible(constrainedBuy, { ...s, party: party('cpty', c.pass) })).toBe(true);
      expect(isEligible(constrainedBuy, { ...s, party: party('cpty', c.fail) })).toBe(false);
      const constrainedSell = { ...s, constraints: c.constraint };
      expect(isEligible({ ...b, party: party('cpty', c.pass) }, constrainedSell)).toBe(true);
      expect(isEligible({ ...b, party: party('cpty', c.fail) }, constrainedSell)).toBe(false);
    });
  }

  it('treats an unknown fact as failing any constraint on it', () => {
    const facts: (keyof PartyFacts)[] = ['storageMb', 'os', 'mips', 'mflops', 'network'];
    const constraint: OrderConstraints = { minStorageMb: 1, os: ['android'], minMips: 1, minMflops: 1, networks: ['wifi'] };
    expect(isEligible({ ...b, constraints: constraint }, s)).toBe(true);
    for (const fact of facts) {
      expect(isEligible({ ...b, constraints: constraint }, { ...s, party: { ...s.party, [fact]: null } })).toBe(false);
    }
  });

  it('treats empty lists as no constraint', () => {
    expect(isEligible({ ...b, constraints: { preferredMembers: [], os: [], networks: [], excludedMembers: [] } }, s)).toBe(true);
  });
});

describe('matchIncoming — examples', () => {
  it('fills partially across several sellers, best price then oldest, at each resting price', () => {
    const resting = [
      sell({ id: 'young-100', price: 100, remaining: 10, seq: 2 }),
      sell({ id: 'old-100', price: 100, remaining: 10, seq: 1 }),
      sell({ id: 'at-101', price: 101, remaining: 10, seq: 0 }),
      sell({ id: 'at-105', price: 105, remaining: 10, seq: 0 }),
    ];
    const result = matchIncoming(buy({ id: 'b', price: 103, remaining: 25 }), resting);
    expect(result.fills).toEqual([
      { buyOrderId: 'b', sellOrderId: 'old-100', quantity: 10, price: 100, how: 'CROSS' },
      { buyOrderId: 'b', sellOrderId: 'young-100', quantity: 10, price: 100, how: 'CROSS' },
      { buyOrderId: 'b', sellOrderId: 'at-101', quantity: 5, price: 101, how: 'CROSS' },
    ]);
    expect(result.incomingRemaining).toBe(0);
    expect(result.restingRemaining).toEqual({ 'old-100': 0, 'young-100': 0, 'at-101': 5 });
    expect(result.negotiation).toBeNull();
  });

  it('an incoming SELL takes the highest bids first and stops where prices stop crossing', () => {
    const resting = [
      buy({ id: 'b99', price: 99, remaining: 4, party: party('p1') }),
      buy({ id: 'b104', price: 104, remaining: 3, party: party('p2') }),
      buy({ id: 'b101', price: 101, remaining: 3, party: party('p3') }),
    ];
    const result = matchIncoming(sell({ id: 's', price: 100, remaining: 10 }), resting);
    expect(result.fills.map((f) => [f.buyOrderId, f.quantity, f.price])).toEqual([
      ['b104', 3, 104],
      ['b101', 3, 101],
    ]);
    expect(result.incomingRemaining).toBe(4);
  });

  it('skips ineligible orders, the same member, other units and junk on the same side', () => {
    const resting = [
      sell({ id: 'mine', price: 90, party: party('buyer') }),
      sell({ id: 'other-unit', price: 90, unit: 'MB_HOUR' }),
      buy({ id: 'same-side', price: 50 }),
      sell({ id: 'short-window', price: 90, windowEnd: 50 }),
      sell({ id: 'ok', price: 95 }),
    ];
    const result = matchIncoming(buy({ id: 'b', price: 100, remaining: 20 }), resting);
    expect(result.fills).toEqual([{ buyOrderId: 'b', sellOrderId: 'ok', quantity: 10, price: 95, how: 'CROSS' }]);
  });

  it('never fills locked quantity', () => {
    const result = matchIncoming(buy({ id: 'b', remaining: 20 }), [sell({ id: 's', remaining: 10, locked: 7 })]);
    expect(result.fills[0]?.quantity).toBe(3);
    expect(result.restingRemaining).toEqual({ s: 7 });
  });

  it('AUTO on both sides trades at the midpoint of the overlap, rounded down, then goes on', () => {
    const resting = [
      sell({ id: 'auto-1', price: 106, remaining: 5, seq: 1, negotiation: { mode: 'AUTO', limit: 96 } }),
      sell({ id: 'auto-2', price: 107, remaining: 5, seq: 2, negotiation: { mode: 'AUTO', limit: 104 } }),
      sell({ id: 'manual', price: 108, remaining: 50, seq: 3, negotiation: { mode: 'MANUAL', limit: null } }),
    ];
    const incoming = buy({ id: 'b', price: 100, remaining: 30, negotiation: { mode: 'AUTO', limit: 110 } });
    const result = matchIncoming(incoming, resting);
    expect(result.fills).toEqual([
      // overlap [100, 106] → 103; overlap [104, 107] → 105 (105.5 rounded down)
      { buyOrderId: 'b', sellOrderId: 'auto-1', quantity: 5, price: 103, how: 'AUTO_NEGOTIATED' },
      { buyOrderId: 'b', sellOrderId: 'auto-2', quantity: 5, price: 105, how: 'AUTO_NEGOTIATED' },
    ]);
    expect(result.negotiation).toEqual({ buyOrderId: 'b', sellOrderId: 'manual', quantity: 20, buyerPrice: 100, sellerPrice: 108 });
    expect(result.incomingRemaining).toBe(20);
  });

  it('crosses first, then negotiates', () => {
    const resting = [
      sell({ id: 'cross', price: 99, remaining: 5, negotiation: { mode: 'AUTO', limit: 90 } }),
      sell({ id: 'auto', price: 104, remaining: 5, negotiation: { mode: 'AUTO', limit: 100 } }),
    ];
    const result = matchIncoming(buy({ id: 'b', price: 100, remaining: 8, negotiation: { mode: 'AUTO', limit: 102 } }), resting);
    expect(result.fills).toEqual([
      { buyOrderId: 'b', sellOrderId: 'cross', quantity: 5, price: 99, how: 'CROSS' },
      { buyOrderId: 'b', sellOrderId: 'auto', quantity: 3, price: 101, how: 'AUTO_NEGOTIATED' },
    ]);
  });

  it('stops when AUTO ranges do not overlap, or either side does not negotiate', () => {
    const incoming = buy({ id: 'b', price: 100, negotiation: { mode: 'AUTO', limit: 102 } });
    const noOverlap = sell({ id: 's', price: 110, negotiation: { mode: 'AUTO', limit: 103 } });
    expect(matchIncoming(incoming, [noOverlap])).toEqual({ fills: [], incomingRemaining: 10, restingRemaining: {}, negotiation: null });
    const none = sell({ id: 's', price: 101, negotiation: { mode: 'NONE', limit: 90 } });
    expect(matchIncoming(incoming, [none]).negotiation).toBeNull();
    expect(matchIncoming({ ...incoming, negotiation: { mode: 'NONE', limit: null } }, [{ ...noOverlap, negotiation: { mode: 'MANUAL', limit: null } }]).negotiation).toBeNull();
    // and the next order behind the stop is not looked at
    const behind = sell({ id: 'behind', price: 102, seq: 99, negotiation: { mode: 'AUTO', limit: 95 } });
    expect(matchIncoming(incoming, [none, behind]).fills).toEqual([]);
  });

  it('one MANUAL side with the other AUTO or MANUAL opens a negotiation for the available quantity', () => {
    const s = sell({ id: 's', price: 105, remaining: 10, locked: 4, negotiation: { mode: 'AUTO', limit: 95 } });
    const result = matchIncoming(buy({ id: 'b', price: 100, remaining: 20, negotiation: { mode: 'MANUAL', limit: null } }), [s]);
    expect(result.negotiation).toEqual({ buyOrderId: 'b', sellOrderId: 's', quantity: 6, buyerPrice: 100, sellerPrice: 105 });
    expect(result.fills).toEqual([]);
  });

  it('an incoming order with nothing available fills nothing', () => {
    const result = matchIncoming(buy({ id: 'b', remaining: 5, locked: 5, price: 200 }), [sell({ id: 's', price: 1 })]);
    expect(result).toEqual({ fills: [], incomingRemaining: 5, restingRemaining: {}, negotiation: null });
  });

  it('refuses a malformed incoming order and out-of-order presorted candidates', () => {
    expect(() => matchIncoming(buy({ id: 'b', remaining: 1.5 }), [])).toThrow(RangeError);
    const incoming = buy({ id: 'b', price: 200, remaining: 100 });
    const worse = sell({ id: 'worse', price: 120 });
    const better = sell({ id: 'better', price: 110 });
    expect(() => matchIncoming(incoming, [worse, better], { presorted: true })).toThrow(/priority order/);
    expect(matchIncoming(incoming, [better, worse], { presorted: true })).toEqual(matchIncoming(incoming, [worse, better]));
  });
});

describe('bestPrices', () => {
  it('aggregates available quantity per level, best first, leaving out empty levels', () => {
    const depth = bestPrices([
      buy({ id: 'b1', price: 99, remaining: 5 }),
      buy({ id: 'b2', price: 101, remaining: 5, locked: 2 }),
      buy({ id: 'b3', price: 99, remaining: 1 }),
      buy({ id: 'b4', price: 120, remaining: 3, locked: 3 }),
      sell({ id: 's1', price: 105, remaining: 4 }),
      sell({ id: 's2', price: 103, remaining: 2 }),
      sell({ id: 's3', price: 105, remaining: 0 }),
    ]);
    expect(depth).toEqual({
      bids: [
        { price: 101, quantity: 3 },
        { price: 99, quantity: 6 },
      ],
      asks: [
        { price: 103, quantity: 2 },
        { price: 105, quantity: 4 },
      ],
    });
  });
});

describe('Book', () => {
  it('rests the remainder, keeps price-time priority and refuses duplicate ids', () => {
    const book = new Book();
    book.submit(sell({ id: 's1', price: 100, remaining: 5, seq: 1 }));
    book.submit(sell({ id: 's2', price: 100, remaining: 5, seq: 2 }));
    book.submit(sell({ id: 's3', price: 99, remaining: 5, seq: 3 }));
    expect(() => book.add(sell({ id: 's1' }))).toThrow(RangeError);
    const result = book.submit(buy({ id: 'b1', price: 100, remaining: 12, seq: 4 }));
    expect(result.fills.map((f) => [f.sellOrderId, f.quantity, f.price])).toEqual([
      ['s3', 5, 99],
      ['s1', 5, 100],
      ['s2', 2, 100],
    ]);
    expect(book.get('s2')?.remaining).toBe(3);
    expect(book.has('s1')).toBe(false);
    expect(book.depth()).toEqual({ bids: [], asks: [{ price: 100, quantity: 3 }] });
    book.submit(buy({ id: 'b2', price: 98, remaining: 2, seq: 5 }));
    expect(book.depth().bids).toEqual([{ price: 98, quantity: 2 }]);
    expect(book.remove('b2')?.id).toBe('b2');
    expect(book.remove('b2')).toBeUndefined();
    expect(book.size).toBe(1);
  });

  it('stays correct with many price levels and orders arriving out of seq order', () => {
    const book = new Book();
    const naive: BookOrder[] = [];
    for (let i = 0; i < 500; i++) {
      const o = sell({ id: `s${i}`, price: 1_000 + ((i * 7919) % 211), remaining: 1 + (i % 5), seq: (i * 104_729) % 1_009 });
      book.add(o);
      naive.push(o);
    }
    expect([...book.candidatesFor('BUY')]).toEqual([...naive].sort(comparePriority));
    const incoming = buy({ id: 'big', price: 1_100, remaining: 700, seq: 5_000 });
    expect(book.submit(incoming)).toEqual(matchIncoming(incoming, naive));
    expect(book.depth()).toEqual(bestPrices([...book.orders()]));
  });

  it('keeps its own copies: callers can neither change the book nor be changed by it', () => {
    const book = new Book();
    const mine = sell({ id: 's', price: 100, remaining: 10 });
    book.add(mine);
    mine.remaining = 999;
    const seen = book.get('s')!;
    seen.remaining = 555;
    expect(book.get('s')?.remaining).toBe(10);
    book.submit(buy({ id: 'b', price: 100, remaining: 4 }));
    expect(seen.remaining).toBe(555);
    expect(book.get('s')?.remaining).toBe(6);
    expect(book.update('s', { locked: 2 })?.locked).toBe(2);
    expect(book.depth().asks).toEqual([{ price: 100, quantity: 4 }]);
    expect(() => book.update('s', { locked: -1 })).toThrow(RangeError);
    expect(book.update('s', { remaining: 0 })?.remaining).toBe(0);
    expect(book.has('s')).toBe(false);
  });
});
