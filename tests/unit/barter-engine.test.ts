import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assignLegs,
  bestPairFor,
  chooseDisjoint,
  covers,
  cycleCandidates,
  equity,
  evaluateCycle,
  findCycles,
  matchBarter,
  offerProblem,
  type BarterDeal,
  type BarterOffer,
  type Leg,
} from '@/server/barter/engine';
import { legValue, unitValue } from '@/server/barter/unit-values';
import { attachCredits } from '@/server/barter/deals';
import { defaultValuationRates, type Category } from '@/server/valuation';

const rates = defaultValuationRates;

const leg = (category: Category, unit: string, quantity: number): Leg => ({ category, unit, quantity });

let nextSeq = 1;
function offer(
  id: string,
  memberId: string,
  give: Leg[],
  want: Leg[],
  extra: Partial<BarterOffer> = {},
): BarterOffer {
  return {
    id,
    memberId,
    seq: nextSeq++,
    give,
    want,
    toleranceBps: 100,
    creditTopUp: { allowed: false, max: 0 },
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------------
// Independent checks (they do not use the engine's own equity or covering code)

type Totals = { gives: number; receives: number; topUpIn: number; topUpOut: number };

/** Throws (through expect) unless `deal` is a well-formed, equitable deal over its offers. */
function checkDeal(deal: BarterDeal): void {
  const k = deal.offers.length;
  expect(k).toBeGreaterThanOrEqual(2);
  expect(deal.kind).toBe(k === 2 ? 'PAIR' : 'CYCLE');
  // distinct offers and members, no exclusions among participants
  expect(new Set(deal.offers.map((o) => o.id)).size).toBe(k);
  expect(new Set(deal.offers.map((o) => o.memberId)).size).toBe(k);
  for (const a of deal.offers) {
    for (const b of deal.offers) if (a !== b) expect(a.excludedMembers ?? []).not.toContain(b.memberId);
  }
  const byId = new Map(deal.offers.map((o) => [o.id, o]));
  const totals = new Map<string, Totals>(deal.offers.map((o) => [o.id, { gives: 0, receives: 0, topUpIn: 0, topUpOut: 0 }]));
  const usedGiveLegs = new Map<string, Set<number>>();
  const received = new Map<string, Leg[]>();
  let sum = 0;
  for (const t of deal.transfers) {
    const from = byId.get(t.fromOffer)!;
    const to = byId.get(t.toOffer)!;
    expect(from).toBeDefined();
    expect(to).toBeDefined();
    expect(t.from).toBe(from.memberId);
    expect(t.to).toBe(to.memberId);
    // giving order: offers[i] gives offers[i + 1]
    const i = deal.offers.indexOf(from);
    expect(deal.offers[(i + 1) % k]).toBe(to);
    // drawn from one give leg of the same kind, never beyond its quantity, each give leg once
    const source = from.give[t.giveLeg]!;
    expect(source).toBeDefined();
    expect(source.category).toBe(t.leg.category);
    expect(source.unit).toBe(t.leg.unit);
    expect(t.leg.quantity).toBeLessThanOrEqual(source.quantity);
    const used = usedGiveLegs.get(from.id) ?? new Set<number>();
    expect(used.has(t.giveLeg)).toBe(false);
    used.add(t.giveLeg);
    usedGiveLegs.set(from.id, used);
    // valued at the unit values
    expect(t.value).toBe(legValue(t.leg, rates));
    totals.get(from.id)!.gives += t.value;
    totals.get(to.id)!.receives += t.value;
    received.set(to.id, [...(received.get(to.id) ?? []), t.leg]);
    sum += t.value;
  }
  expect(deal.totalValue).toBe(sum);
  // everyone receives exactly what they wanted
  const key = (l: Leg) => `${l.category}/${l.unit}/${l.quantity}`;
  for (const o of deal.offers) expect((received.get(o.id) ?? []).map(key).sort()).toEqual(o.want.map(key).sort());
  // equity
  for (const u of deal.topUps) {
    expect(Number.isSafeInteger(u.amount) && u.amount > 0).toBe(true);
    const from = byId.get(u.fromOffer)!;
    const to = byId.get(u.toOffer)!;
    expect(u.from).toBe(from.memberId);
    expect(u.to).toBe(to.memberId);
    totals.get(from.id)!.topUpOut += u.amount;
    totals.get(to.id)!.topUpIn += u.amount;
  }
  let net = 0;
  for (const o of deal.offers) {
    const t = totals.get(o.id)!;
    net += t.topUpIn - t.topUpOut;
    if (deal.topUps.length === 0) {
      expect(Math.abs(t.receives - t.gives) * 10_000).toBeLessThanOrEqual(o.toleranceBps * Math.max(t.gives, t.receives));
    } else {
      // credits make every participant exactly even, within what each payer allowed
      expect(t.receives + t.topUpIn - t.topUpOut).toBe(t.gives);
      if (t.topUpIn > 0 || t.topUpOut > 0) expect(o.creditTopUp.allowed).toBe(true);
      expect(t.topUpOut).toBeLessThanOrEqual(o.creditTopUp.max);
    }
  }
  expect(net).toBe(0);
}

/** Every offer in at most one deal, every deal valid. */
function checkDeals(deals: BarterDeal[]): void {
  const seen = new Set<string>();
  for (const deal of deals) {
    checkDeal(deal);
    for (const o of deal.offers) {
      expect(seen.has(o.id)).toBe(false);
      seen.add(o.id);
    }
  }
}

/** Offers in the engine's order: seq, then id. */
const bySeq = (a: BarterOffer, b: BarterOffer) => a.seq - b.seq || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Does `give` cover `want`? Brute force over every injective assignment. */
function coversBrute(give: Leg[], want: Leg[], used: boolean[] = give.map(() => false), w = 0): boolean {
  if (w === want.length) return true;
  return give.some((g, i) => {
    if (used[i] || g.category !== want[w]!.category || g.unit !== want[w]!.unit || g.quantity < want[w]!.quantity) {
      return false;
    }
    used[i] = true;
    const ok = coversBrute(give, want, used, w + 1);
    used[i] = false;
    return ok;
  });
}

/** Whether two offers may sit in one deal. */
const compatible = (a: BarterOffer, b: BarterOffer) =>
  a.memberId !== b.memberId &&
  !(a.excludedMembers ?? []).includes(b.memberId) &&
  !(b.excludedMembers ?? []).includes(a.memberId);

/** Every simple cycle of minLength..maxLength offers, by brute force, as id lists from the oldest offer. */
function cyclesBrute(offers: BarterOffer[], minLength: number, maxLength: number): string[][] {
  const sorted = [...offers].sort(bySeq);
  const out: string[][] = [];
  const extend = (path: number[]) => {
    const k = path.length;
    if (k >= minLength) {
      const closes =
        path.every((p, i) => coversBrute(sorted[p]!.give, sorted[path[(i + 1) % k]!]!.want)) &&
        path.every((p, i) => path.every((q, j) => i === j || compatible(sorted[p]!, sorted[q]!)));
      if (closes) out.push(path.map((p) => sorted[p]!.id));
    }
    if (k === maxLength) return;
    for (let v = path[0]! + 1; v < sorted.length; v++) if (!path.includes(v)) extend([...path, v]);
  };
  for (let s = 0; s < sorted.length; s++) extend([s]);
  return out;
}

/** Greatest total value of a set of candidates sharing no offer, by dynamic programming over offer subsets. */
function maxDisjointValue(candidates: { offers: { id: string }[]; totalValue: number }[]): number {
  const ids = [...new Set(candidates.flatMap((c) => c.offers.map((o) => o.id)))];
  const index = new Map(ids.map((id, i) => [id, i]));
  const masked = candidates.map((c) => ({
    mask: c.offers.reduce((m, o) => m | (1 << index.get(o.id)!), 0),
    value: c.totalValue,
  }));
  const memo = new Map<number, number>();
  const best = (mask: number): number => {
    if (mask === 0) return 0;
    const hit = memo.get(mask);
    if (hit !== undefined) return hit;
    const low = mask & -mask;
    let r = best(mask & ~low);
    for (const c of masked) {
      if (c.mask & low && (c.mask & mask) === c.mask) r = Math.max(r, c.value + best(mask & ~c.mask));
    }
    memo.set(mask, r);
    return r;
  };
  return best((1 << ids.length) - 1);
}

const total = (deals: { totalValue: number }[]) => deals.reduce((s, d) => s + d.totalValue, 0);

// ---------------------------------------------------------------------------------------------
// Random books

/** Kinds of legs, with a quantity that makes one "lot" worth about 1,000–1,100 µ at the default rates. */
const KINDS: { category: Category; unit: string; lot: number }[] = [
  { category: 'NETWORK', unit: 'MB', lot: 500 }, // 2 µ
  { category: 'COMPUTE', unit: 'CPU_SECOND', lot: 19 }, // 55 µ
  { category: 'STORAGE', unit: 'MB_HOUR', lot: 1000 }, // 1 µ
  { category: 'MEMORY', unit: 'MB_HOUR', lot: 50 }, // 20 µ
  { category: 'FILE', unit: 'ITEM', lot: 1 }, // 1100 µ
];
const MEMBERS = ['m0', 'm1', 'm2', 'm3', 'm4', 'm5'];

const legArb = (minLots: number, maxLots: number) =>
  fc
    .record({ kind: fc.integer({ min: 0, max: KINDS.length - 1 }), lots: fc.integer({ min: minLots, max: maxLots }) })
    .map(({ kind, lots }) => leg(KINDS[kind]!.category, KINDS[kind]!.unit, KINDS[kind]!.lot * lots));

const offerArb = fc.record({
  member: fc.integer({ min: 0, max: MEMBERS.length - 1 }),
  seq: fc.integer({ min: 0, max: 20 }),
  give: fc.array(legArb(1, 6), { minLength: 1, maxLength: 3 }),
  want: fc.array(legArb(1, 3), { minLength: 1, maxLength: 2 }),
  toleranceBps: fc.constantFrom(0, 100, 1000, 2500, 5000, 10_000),
  topUp: fc.record({ allowed: fc.boolean(), max: fc.constantFrom(0, 300, 2000, 1_000_000) }),
  excluded: fc.option(fc.subarray(MEMBERS, { maxLength: 2 }), { nil: undefined, freq: 4 }),
});

const bookArb = (maxLength: number) =>
  fc.array(offerArb, { maxLength }).map((list) =>
    list.map(
      (o, i): BarterOffer => ({
        id: `o${i}`,
        memberId: MEMBERS[o.member]!,
        seq: o.seq,
        give: o.give,
        want: o.want,
        toleranceBps: o.toleranceBps,
        creditTopUp: o.topUp,
        ...(o.excluded ? { excludedMembers: o.excluded } : {}),
      }),
    ),
  );

/**
 * Books rich in cycles: one leg each way among three kinds, most offers wanting the kind after the one
 * they give (x gives k, wants k + 1), where pairs are rare and three-party cycles common.
 */
const cyclicOfferArb = fc.record({
  member: fc.integer({ min: 0, max: MEMBERS.length - 1 }),
  seq: fc.integer({ min: 0, max: 20 }),
  giveKind: fc.integer({ min: 0, max: 2 }),
  shift: fc.constantFrom(1, 1, 1, 1, 2),
  giveLots: fc.integer({ min: 3, max: 6 }),
  wantLots: fc.constantFrom(2, 2, 1, 3),
  toleranceBps: fc.constantFrom(0, 2500, 5000, 10_000, 10_000),
  topUp: fc.record({ allowed: fc.boolean(), max: fc.constantFrom(0, 2000, 1_000_000) }),
  excluded: fc.option(fc.subarray(MEMBERS, { maxLength: 1 }), { nil: undefined, freq: 6 }),
});

const cyclicBookArb = (maxLength: number) =>
  fc.array(cyclicOfferArb, { minLength: Math.min(4, maxLength), maxLength, size: 'max' }).map((list) =>
    list.map((o, i): BarterOffer => {
      const g = KINDS[o.giveKind]!;
      const w = KINDS[(o.giveKind + o.shift) % 3]!;
      return {
        id: `c${i}`,
        memberId: MEMBERS[o.member]!,
        seq: o.seq,
        give: [leg(g.category, g.unit, g.lot * o.giveLots)],
        want: [leg(w.category, w.unit, w.lot * o.wantLots)],
        toleranceBps: o.toleranceBps,
        creditTopUp: o.topUp,
        ...(o.excluded ? { excludedMembers: o.excluded } : {}),
      };
    }),
  );

/** Either kind of random book. */
const anyBookArb = (maxLength: number) =>
  fc.oneof({ arbitrary: cyclicBookArb(maxLength), weight: 2 }, { arbitrary: bookArb(maxLength), weight: 1 });

// ---------------------------------------------------------------------------------------------

describe('covers / assignLegs', () => {
  it('meets each wanted leg with its own give leg of the same kind and at least the quantity', () => {
    const cpu = (q: number) => leg('COMPUTE', 'CPU_SECOND', q);
    expect(covers([cpu(10)], [cpu(5)])).toBe(true);
    expect(covers([cpu(4)], [cpu(5)])).toBe(false);
    expect(covers([cpu(10)], [cpu(5), cpu(5)])).toBe(false); // quantities don't split across wants
    expect(covers([cpu(10)], [leg('COMPUTE', 'GFLOP', 1)])).toBe(false); // units must agree
    expect(covers([leg('STORAGE', 'MB_HOUR', 9)], [leg('MEMORY', 'MB_HOUR', 1)])).toBe(false); // so must categories
    // first-fit would give the 10 to the 3 and fail the 9
    expect(assignLegs([cpu(10), cpu(4)], [cpu(3), cpu(9)])).toEqual([1, 0]);
    expect(covers([leg('NETWORK', 'MB', 1), cpu(1)], [cpu(1), leg('NETWORK', 'MB', 1)])).toBe(true);
  });

  it('agrees with a brute-force search over assignments', () => {
    const small = fc
      .record({ kind: fc.integer({ min: 0, max: 1 }), q: fc.integer({ min: 1, max: 6 }) })
      .map(({ kind, q }) => (kind ? leg('COMPUTE', 'CPU_SECOND', q) : leg('NETWORK', 'MB', q)));
    fc.assert(
      fc.property(fc.array(small, { minLength: 1, maxLength: 4 }), fc.array(small, { minLength: 1, maxLength: 4 }), (give, want) => {
        expect(covers(give, want)).toBe(coversBrute(give, want));
        const a = assignLegs(give, want);
        if (a) {
          expect(new Set(a).size).toBe(want.length);
          a.forEach((g, w) => {
            expect(give[g]!.unit).toBe(want[w]!.unit);
            expect(give[g]!.quantity).toBeGreaterThanOrEqual(want[w]!.quantity);
          });
        }
      }),
    );
  });
});

describe('equity', () => {
  const party = (id: string, toleranceBps: number, allowed = false, max = 0) => ({
    id,
    memberId: `member-${id}`,
    toleranceBps,
    creditTopUp: { allowed, max },
  });

  it('accepts a difference within the tolerance of both sides (of the larger value)', () => {
    expect(equity(10_000, 9_900, party('a', 100), party('b', 100))).toEqual({ ok: true, topUp: null });
    expect(equity(10_000, 9_899, party('a', 100), party('b', 100))).toEqual({ ok: false });
    // the stricter side decides
    expect(equity(10_000, 9_900, party('a', 100), party('b', 50))).toEqual({ ok: false });
    expect(equity(0, 0, party('a', 0), party('b', 0))).toEqual({ ok: true, topUp: null });
  });

  it('lets the side receiving more pay the whole difference in credits, up to its max', () => {
    // a gives 10,000 and receives 8,000: b receives more, b pays 2,000
    expect(equity(10_000, 8_000, party('a', 100, true, 0), party('b', 100, true, 2_000))).toEqual({
      ok: true,
      topUp: { from: 'member-b', to: 'member-a', fromOffer: 'b', toOffer: 'a', amount: 2_000 },
    });
    expect(equity(10_000, 8_000, party('a', 100, true), party('b', 100, true, 1_999))).toEqual({ ok: false });
    expect(equity(10_000, 8_000, party('a', 100, false), party('b', 100, true, 1e6))).toEqual({ ok: false });
    expect(equity(8_000, 10_000, party('a', 100, true, 2_000), party('b', 100, true))).toMatchObject({
      ok: true,
      topUp: { from: 'member-a', to: 'member-b', amount: 2_000 },
    });
  });

  it('rejects values that are not non-negative integers', () => {
    expect(() => equity(-1, 0, party('a', 0), party('b', 0))).toThrow(RangeError);
    expect(() => equity(1.5, 0, party('a', 0), party('b', 0))).toThrow(RangeError);
  });
});

describe('worked examples (the patent\'s barters, default rates)', () => {
  it('(1) network access for compute power and memory: the closest pair, valued on what is exchanged', () => {
    expect(unitValue('NETWORK', 'MB', rates)).toBe(2);
    expect(unitValue('COMPUTE', 'CPU_SECOND', rates)).toBe(55);
    expect(unitValue('MEMORY', 'MB_HOUR', rates)).toBe(20);
    // Alice offers 60,000 MB of network access for 1,000 CPU-seconds (55,000 µ) and 2,250 MB-hours of memory (45,000 µ)
    const alice = offer('alice-net', 'alice', [leg('NETWORK', 'MB', 60_000)], [
      leg('COMPUTE', 'CPU_SECOND', 1_000),
      leg('MEMORY', 'MB_HOUR', 2_250),
    ], { toleranceBps: 2_000 });
    // Carol wants 45,000 MB (90,000 µ): 10 % off, within Alice's 20 % but a worse match
    const carol = offer('carol-cpu', 'carol', [leg('COMPUTE', 'CPU_SECOND', 5_000), leg('MEMORY', 'MB_HOUR', 8_000)], [
      leg('NETWORK', 'MB', 45_000),
    ], { toleranceBps: 2_000 });
    // Bob wants 49,900 MB (99,800 µ): 0.2 % off
    const bob = offer('bob-cpu', 'bob', [leg('MEMORY', 'MB_HOUR', 4_096), leg('COMPUTE', 'CPU_SECOND', 3_600)], [
      leg('NETWORK', 'MB', 49_900),
    ], { toleranceBps: 50 });

    const deal = bestPairFor(alice, [carol, bob], rates)!;
    expect(deal).toMatchObject({ kind: 'PAIR', offers: [alice, bob], topUps: [], totalValue: 99_800 + 100_000 });
    expect(deal.transfers).toEqual([
      { from: 'alice', to: 'bob', fromOffer: 'alice-net', toOffer: 'bob-cpu', giveLeg: 0, leg: leg('NETWORK', 'MB', 49_900), value: 99_800 },
      { from: 'bob', to: 'alice', fromOffer: 'bob-cpu', toOffer: 'alice-net', giveLeg: 1, leg: leg('COMPUTE', 'CPU_SECOND', 1_000), value: 55_000 },
      { from: 'bob', to: 'alice', fromOffer: 'bob-cpu', toOffer: 'alice-net', giveLeg: 0, leg: leg('MEMORY', 'MB_HOUR', 2_250), value: 45_000 },
    ]);
    checkDeal(deal);
    // without Bob, Carol is acceptable; the whole book pairs Alice with Bob
    expect(bestPairFor(alice, [carol], rates)?.offers).toEqual([alice, carol]);
    const deals = matchBarter([alice, carol, bob], rates);
    expect(deals.map((d) => d.offers.map((o) => o.id))).toEqual([['alice-net', 'bob-cpu']]);
  });

  it('(2) money for files and peripherals', () => {
    // 500 items × 1,100 µ + 58 device-hours × 7,750 µ = 999,500 µ against one credit
    const alice = offer('alice-money', 'alice', [leg('MONEY', 'CREDIT', 2)], [
      leg('FILE', 'ITEM', 500),
      leg('PERIPHERAL', 'DEVICE_HOUR', 58),
    ], { toleranceBps: 10 });
    const bob = offer('bob-files', 'bob', [leg('FILE', 'ITEM', 800), leg('PERIPHERAL', 'DEVICE_HOUR', 60)], [
      leg('MONEY', 'CREDIT', 1),
    ], { toleranceBps: 10 });
    const [deal, ...rest] = matchBarter([alice, bob], rates);
    expect(rest).toEqual([]);
    expect(deal!.topUps).toEqual([]);
    expect(deal!.totalValue).toBe(1_000_000 + 999_500);
    // Alice (the older offer) gives Bob the one credit he wants, drawn from her two; Bob gives her what she wants
    expect(deal!.transfers.map((t) => [t.from, t.giveLeg, t.leg, t.value])).toEqual([
      ['alice', 0, leg('MONEY', 'CREDIT', 1), 1_000_000],
      ['bob', 0, leg('FILE', 'ITEM', 500), 550_000],
      ['bob', 1, leg('PERIPHERAL', 'DEVICE_HOUR', 58), 449_500],
    ]);
    checkDeal(deal!);
    // 5 bps apart: a 1 bps tolerance on either side refuses it
    expect(matchBarter([alice, { ...bob, toleranceBps: 1 }], rates)).toEqual([]);
  });

  it('(3) network access plus money for files and peripherals', () => {
    const alice = offer('alice', 'alice', [leg('NETWORK', 'MB', 200_000), leg('MONEY', 'CREDIT', 3)], [
      leg('FILE', 'ITEM', 500), // 550,000
      leg('PERIPHERAL', 'DEVICE_HOUR', 84), // 651,000
    ], { toleranceBps: 10 });
    const bob = offer('bob', 'bob', [leg('FILE', 'ITEM', 600), leg('PERIPHERAL', 'DEVICE_HOUR', 100)], [
      leg('NETWORK', 'MB', 100_000), // 200,000
      leg('MONEY', 'CREDIT', 1), // 1,000,000
    ], { toleranceBps: 10 });
    const deals = matchBarter([bob, alice], rates);
    expect(deals).toHaveLength(1);
    const deal = deals[0]!;
    expect(deal.kind).toBe('PAIR');
    expect(deal.totalValue).toBe(1_200_000 + 1_201_000);
    const aliceGives = deal.transfers.filter((t) => t.from === 'alice');
    expect(aliceGives.map((t) => [t.leg, t.giveLeg, t.value])).toEqual([
      [leg('NETWORK', 'MB', 100_000), 0, 200_000],
      [leg('MONEY', 'CREDIT', 1), 1, 1_000_000],
    ]);
    checkDeal(deal);
  });

  it('(4) a three-party cycle where no pair exists: A → B → C → A', () => {
    // A gives network and wants compute; B gives storage and wants network; C gives compute and wants storage
    const a = offer('A', 'ann', [leg('NETWORK', 'MB', 10_000)], [leg('COMPUTE', 'CPU_SECOND', 400)], { toleranceBps: 1_000 });
    const b = offer('B', 'ben', [leg('STORAGE', 'MB_HOUR', 50_000)], [leg('NETWORK', 'MB', 10_000)], { toleranceBps: 1_000 });
    const c = offer('C', 'cat', [leg('COMPUTE', 'CPU_SECOND', 1_000)], [leg('STORAGE', 'MB_HOUR', 21_000)], { toleranceBps: 1_000 });
    for (const o of [a, b, c]) expect(bestPairFor(o, [a, b, c], rates)).toBeNull();
    expect(findCycles([c, b, a], rates).cycles).toEqual([[a, b, c]]);
    const deals = matchBarter([c, a, b], rates);
    expect(deals).toHaveLength(1);
    const deal = deals[0]!;
    expect(deal.kind).toBe('CYCLE');
    expect(deal.offers.map((o) => o.id)).toEqual(['A', 'B', 'C']);
    // A gives 20,000 and gets 22,000 (9.1 %), B gives 21,000 and gets 20,000, C gives 22,000 and gets 21,000
    expect(deal.transfers.map((t) => `${t.from}->${t.to}:${t.value}`)).toEqual([
      'ann->ben:20000',
      'ben->cat:21000',
      'cat->ann:22000',
    ]);
    expect(deal.topUps).toEqual([]);
    expect(deal.totalValue).toBe(63_000);
    checkDeal(deal);
    // 9.1 % is beyond a 9 % tolerance for A: no deal; the cycle is also refused if maxCycleLength is 2
    expect(matchBarter([{ ...a, toleranceBps: 900 }, b, c], rates)).toEqual([]);
    expect(matchBarter([a, b, c], rates, { maxCycleLength: 2 })).toEqual([]);
    // and when C excludes A, even though they are not neighbours in the giving order
    expect(matchBarter([a, b, { ...c, excludedMembers: ['ann'] }], rates)).toEqual([]);
  });

  it('credits top up a difference beyond tolerance', () => {
    // Dan gives 5,000 CPU-seconds (275,000 µ) for 300,000 MB-hours of storage (300,000 µ): 8.3 % apart
    const dan = offer('dan', 'dan', [leg('COMPUTE', 'CPU_SECOND', 10_000)], [leg('STORAGE', 'MB_HOUR', 300_000)], {
      toleranceBps: 100,
      creditTopUp: { allowed: true, max: 30_000 },
    });
    const eve = offer('eve', 'eve', [leg('STORAGE', 'MB_HOUR', 500_000)], [leg('COMPUTE', 'CPU_SECOND', 5_000)], {
      toleranceBps: 100,
      creditTopUp: { allowed: true, max: 0 },
    });
    const [deal] = matchBarter([dan, eve], rates);
    expect(deal!.topUps).toEqual([{ from: 'dan', to: 'eve', fromOffer: 'dan', toOffer: 'eve', amount: 25_000 }]);
    expect(deal!.totalValue).toBe(575_000);
    checkDeal(deal!);
    // Dan would pay at most 20,000; Eve does not take credits
    expect(matchBarter([{ ...dan, creditTopUp: { allowed: true, max: 20_000 } }, eve], rates)).toEqual([]);
    expect(matchBarter([dan, { ...eve, creditTopUp: { allowed: false, max: 0 } }], rates)).toEqual([]);
  });

  it('credits settle a cycle: the participant ahead pays those behind', () => {
    const topUp = { allowed: true, max: 10_000 };
    // A receives 1,500 memory MB-hours (30,000 µ) and gives 10,000 network MB (20,000 µ): 10,000 ahead
    const a = offer('A', 'ann', [leg('NETWORK', 'MB', 10_000)], [leg('MEMORY', 'MB_HOUR', 1_500)], { creditTopUp: topUp });
    // B receives 20,000 and gives 25,000 storage MB-hours: 5,000 behind
    const b = offer('B', 'ben', [leg('STORAGE', 'MB_HOUR', 25_000)], [leg('NETWORK', 'MB', 10_000)], { creditTopUp: topUp });
    // C receives 25,000 and gives 30,000: 5,000 behind
    const c = offer('C', 'cat', [leg('MEMORY', 'MB_HOUR', 2_000)], [leg('STORAGE', 'MB_HOUR', 25_000)], { creditTopUp: topUp });
    const [deal] = matchBarter([a, b, c], rates);
    expect(deal!.topUps).toEqual([
      { from: 'ann', to: 'ben', fromOffer: 'A', toOffer: 'B', amount: 5_000 },
      { from: 'ann', to: 'cat', fromOffer: 'A', toOffer: 'C', amount: 5_000 },
    ]);
    checkDeal(deal!);
    expect(matchBarter([{ ...a, creditTopUp: { allowed: true, max: 9_999 } }, b, c], rates)).toEqual([]);
  });
});

describe('offers', () => {
  const good = offer('ok', 'm', [leg('NETWORK', 'MB', 1)], [leg('COMPUTE', 'GFLOP', 1)]);

  it('validates legs, tolerance and top-up', () => {
    expect(offerProblem(good, rates)).toBeNull();
    expect(offerProblem({ ...good, give: [] })).toMatch(/1\.\.4 legs/);
    expect(offerProblem({ ...good, want: Array(5).fill(leg('NETWORK', 'MB', 1)) })).toMatch(/1\.\.4 legs/);
    expect(offerProblem({ ...good, give: [leg('NETWORK', 'GFLOP', 1)] })).toMatch(/not a unit/);
    expect(offerProblem({ ...good, give: [leg('NETWORK', 'MB', 0)] })).toMatch(/positive integer/);
    expect(offerProblem({ ...good, toleranceBps: 10_001 })).toMatch(/toleranceBps/);
    expect(offerProblem({ ...good, creditTopUp: { allowed: true, max: -1 } })).toMatch(/creditTopUp/);
    expect(offerProblem({ ...good, want: [leg('MONEY', 'CREDIT', 2_000_000_000)] }, rates)).toMatch(/wants more/);
  });

  it('matchBarter refuses malformed books', () => {
    expect(() => matchBarter([good, good], rates)).toThrow(/twice/);
    expect(() => matchBarter([{ ...good, seq: 0.5 }], rates)).toThrow(RangeError);
    expect(() => matchBarter([good], rates, { maxCycleLength: 9 })).toThrow(RangeError);
  });
});

describe('cycle enumeration', () => {
  it('finds every simple cycle of 2..4 offers exactly once (brute force, books of ≤ 8)', () => {
    fc.assert(
      fc.property(anyBookArb(8), fc.integer({ min: 2, max: 4 }), (book, minLength) => {
        const { cycles, truncated } = findCycles(book, rates, { minLength, maxLength: 4 });
        expect(truncated).toBe(false);
        const found = cycles.map((c) => c.map((o) => o.id).join('>'));
        expect(new Set(found).size).toBe(found.length);
        expect([...found].sort()).toEqual(cyclesBrute(book, minLength, 4).map((c) => c.join('>')).sort());
      }),
      { numRuns: 300 },
    );
  });

  it('under any caps: distinct true cycles, at most maxCycles, all of them unless truncated', () => {
    fc.assert(
      fc.property(anyBookArb(8), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 200 }), (book, maxCycles, maxSteps) => {
        const brute = cyclesBrute(book, 2, 4).map((c) => c.join('>'));
        const keys = (r: { cycles: BarterOffer[][] }) => r.cycles.map((c) => c.map((o) => o.id).join('>'));
        const capped = findCycles(book, rates, { minLength: 2, maxLength: 4, maxCycles, maxSteps });
        const found = keys(capped);
        expect(new Set(found).size).toBe(found.length);
        expect(found.length).toBeLessThanOrEqual(maxCycles);
        for (const k of found) expect(brute).toContain(k);
        if (!capped.truncated) expect([...found].sort()).toEqual([...brute].sort());
        // a cycle cap that the book fits in cuts nothing
        const roomy = findCycles(book, rates, { minLength: 2, maxLength: 4, maxCycles: brute.length });
        expect(roomy.truncated).toBe(false);
        expect(keys(roomy).sort()).toEqual([...brute].sort());
      }),
      { numRuns: 300 },
    );
  });

  it('stops at the caps, shares them fairly among start offers, and says so', () => {
    // six members who each give network and want network: every ordering is a cycle
    const book = Array.from({ length: 6 }, (_, i) =>
      offer(`x${i}`, `x${i}`, [leg('NETWORK', 'MB', 100)], [leg('NETWORK', 'MB', 10)]),
    );
    const all = findCycles(book, rates, { maxLength: 4 });
    // C(6,3) × 2 directed 3-cycles + C(6,4) × 3! directed 4-cycles
    expect(all.truncated).toBe(false);
    expect(all.cycles).toHaveLength(20 * 2 + 15 * 6);
    const key = (c: BarterOffer[]) => c.map((o) => o.id).join('>');
    const allKeys = new Set(all.cycles.map(key));

    const capped = findCycles(book, rates, { maxLength: 4, maxCycles: 7 });
    expect(capped.truncated).toBe(true);
    expect(capped.cycles.length).toBeGreaterThan(0);
    expect(capped.cycles.length).toBeLessThanOrEqual(7);
    expect(new Set(capped.cycles.map(key)).size).toBe(capped.cycles.length);
    for (const c of capped.cycles) expect(allKeys.has(key(c))).toBe(true);
    // the oldest offer does not take the whole budget
    expect(new Set(capped.cycles.map((c) => c[0]!.id)).size).toBeGreaterThan(1);

    const stepped = findCycles(book, rates, { maxLength: 4, maxSteps: 40 });
    expect(stepped.truncated).toBe(true);
    expect(stepped.cycles.length).toBeLessThan(all.cycles.length);
    expect(findCycles(book, rates, { maxSteps: 0 })).toEqual({ cycles: [], truncated: true });
    // a cap of exactly the number of cycles truncates nothing
    expect(findCycles(book, rates, { maxLength: 4, maxCycles: 130 }).truncated).toBe(false);
  });

  it('never caps pairs', () => {
    const a = offer('a', 'ann', [leg('NETWORK', 'MB', 100)], [leg('STORAGE', 'MB_HOUR', 200)]);
    const b = offer('b', 'ben', [leg('STORAGE', 'MB_HOUR', 200)], [leg('NETWORK', 'MB', 100)]);
    for (const prefer of ['PAIRS_FIRST', 'GREATEST_VALUE'] as const) {
      expect(matchBarter([a, b], rates, { prefer, maxCycles: 0, maxSteps: 0 })).toHaveLength(1);
    }
  });
});

describe('chooseDisjoint', () => {
  const candidateArb = fc.record({
    members: fc.uniqueArray(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 4 }),
    totalValue: fc.integer({ min: 0, max: 1000 }),
  });
  const asCandidates = (list: { members: number[]; totalValue: number }[]) =>
    list.map((c) => ({ offers: c.members.map((m) => ({ id: `v${m}` })), totalValue: c.totalValue }));
  const disjoint = (chosen: { offers: { id: string }[] }[]) => {
    const ids = chosen.flatMap((c) => c.offers.map((o) => o.id));
    return new Set(ids).size === ids.length;
  };

  it('is exact up to 40 candidates (against dynamic programming)', () => {
    fc.assert(
      fc.property(fc.array(candidateArb, { maxLength: 40 }), (list) => {
        const candidates = asCandidates(list);
        const chosen = chooseDisjoint(candidates);
        expect(disjoint(chosen)).toBe(true);
        expect(total(chosen)).toBe(maxDisjointValue(candidates));
      }),
      { numRuns: 300 },
    );
  });

  it('is greedy by value beyond, keeping at least 1/4 of the optimum for sets of ≤ 4', () => {
    fc.assert(
      fc.property(fc.array(candidateArb, { minLength: 41, maxLength: 60 }), (list) => {
        const candidates = asCandidates(list);
        const chosen = chooseDisjoint(candidates);
        expect(disjoint(chosen)).toBe(true);
        expect(total(chosen) * 4).toBeGreaterThanOrEqual(maxDisjointValue(candidates));
        // greedy: no left-out candidate fits beside the chosen ones
        const used = new Set(chosen.flatMap((c) => c.offers.map((o) => o.id)));
        for (const c of candidates) if (!chosen.includes(c)) expect(c.offers.some((o) => used.has(o.id))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('prefers the set of greatest total value to the single most valuable candidate', () => {
    const c = asCandidates([
      { members: [0, 1, 2, 3], totalValue: 100 },
      { members: [0, 1, 2], totalValue: 60 },
      { members: [3, 4, 5], totalValue: 60 },
    ]);
    expect(chooseDisjoint(c)).toEqual([c[1], c[2]]);
    expect(chooseDisjoint(c, { exactUpTo: 0 })).toEqual([c[0]]);
  });
});

describe('matchBarter properties (random books of ≤ 8 offers)', () => {
  it('every deal is covered, equitable, among distinct members, and uses each offer once', () => {
    const seen = { PAIR: 0, CYCLE: 0, topUps: 0, cycleTopUps: 0 };
    fc.assert(
      fc.property(anyBookArb(8), fc.constantFrom('PAIRS_FIRST' as const, 'GREATEST_VALUE' as const), (book, prefer) => {
        const deals = matchBarter(book, rates, { prefer });
        checkDeals(deals);
        for (const d of deals) {
          seen[d.kind]++;
          if (d.topUps.length > 0) seen[d.kind === 'PAIR' ? 'topUps' : 'cycleTopUps']++;
        }
      }),
      { numRuns: 400 },
    );
    // the generators exercise every path
    expect(seen.PAIR).toBeGreaterThan(50);
    expect(seen.CYCLE).toBeGreaterThan(10);
    expect(seen.topUps).toBeGreaterThan(5);
    expect(seen.cycleTopUps).toBeGreaterThan(0);
  });

  it('PAIRS_FIRST: pairs are maximal, then the cycle set has the greatest total value among the cycles found', () => {
    let cyclesSeen = 0;
    fc.assert(
      fc.property(anyBookArb(8), (book) => {
        for (const exactUpTo of [undefined, Number.POSITIVE_INFINITY]) {
          const deals = matchBarter(book, rates, { exactUpTo });
          const paired = new Set(deals.filter((d) => d.kind === 'PAIR').flatMap((d) => d.offers.map((o) => o.id)));
          const rest = book.filter((o) => !paired.has(o.id));
          // no equitable pair is left
          for (const a of rest) for (const b of rest) if (a !== b) expect(evaluateCycle([a, b], rates)).toBeNull();
          // the cycles: every acceptable cycle of the rest (brute force), then the best disjoint set
          const acceptable = cyclesBrute(rest, 3, 4)
            .map((ids) => evaluateCycle(ids.map((id) => rest.find((o) => o.id === id)!), rates))
            .filter((d): d is BarterDeal => d !== null);
          const candidates = cycleCandidates(rest, rates).deals;
          expect(candidates.map((d) => d.offers.map((o) => o.id).join('>')).sort()).toEqual(
            acceptable.map((d) => d.offers.map((o) => o.id).join('>')).sort(),
          );
          const cycleDeals = deals.filter((d) => d.kind === 'CYCLE');
          cyclesSeen += cycleDeals.length;
          if (exactUpTo !== undefined || candidates.length <= 40) {
            expect(total(cycleDeals)).toBe(maxDisjointValue(acceptable));
          }
        }
      }),
      { numRuns: 300 },
    );
    expect(cyclesSeen).toBeGreaterThan(15); // the generators do produce cycles
  });

  it('GREATEST_VALUE: the deal set has the greatest total value over all pairs and cycles', () => {
    fc.assert(
      fc.property(anyBookArb(7), (book) => {
        const deals = matchBarter(book, rates, { prefer: 'GREATEST_VALUE', exactUpTo: Number.POSITIVE_INFINITY });
        const acceptable = cyclesBrute(book, 2, 4)
          .map((ids) => evaluateCycle(ids.map((id) => book.find((o) => o.id === id)!), rates))
          .filter((d): d is BarterDeal => d !== null);
        expect(total(deals)).toBe(maxDisjointValue(acceptable));
      }),
      { numRuns: 200 },
    );
  });

  it('bestPairFor picks the smallest value difference, then the oldest counterparty', () => {
    fc.assert(
      fc.property(anyBookArb(8), (book) => {
        for (const o of book) {
          const deal = bestPairFor(o, book, rates);
          const options = book
            .filter((b) => b.id !== o.id)
            .map((b) => ({ b, deal: evaluateCycle([o, b], rates) }))
            .filter((x) => x.deal !== null)
            .map(({ b, deal: d }) => {
              const given = d!.transfers.filter((t) => t.fromOffer === o.id).reduce((s, t) => s + t.value, 0);
              return { b, diff: Math.abs(d!.totalValue - 2 * given) };
            })
            .sort((x, y) => x.diff - y.diff || bySeq(x.b, y.b));
          if (options.length === 0) {
            expect(deal).toBeNull();
          } else {
            expect(deal!.offers).toEqual([o, options[0]!.b]);
            checkDeal(deal!);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('is deterministic and does not depend on the order offers are given in', () => {
    fc.assert(
      fc.property(anyBookArb(8), fc.array(fc.double({ noNaN: true }), { minLength: 8, maxLength: 8 }), (book, keys) => {
        const shuffled = book.map((o, i) => ({ o, key: keys[i]! })).sort((a, b) => a.key - b.key).map(({ o }) => o);
        const ids = (deals: BarterDeal[]) => deals.map((d) => d.offers.map((o) => o.id));
        expect(ids(matchBarter(shuffled, rates))).toEqual(ids(matchBarter(book, rates)));
      }),
      { numRuns: 100 },
    );
  });
});

describe('attachCredits: credits wait on the resource legs they pay for', () => {
  const t = (fromOffer: string, toOffer: string, category: Leg['category'], quantity: number, value: number) => ({
    from: fromOffer, to: toOffer, fromOffer, toOffer, giveLeg: 0, leg: { category, unit: category === 'MONEY' ? 'CREDIT' : 'MB_HOUR', quantity }, value,
  });

  it('spreads credits from X to Y over the legs Y gives X, by value, to the micro-credit', () => {
    const deal = {
      transfers: [t('y', 'x', 'STORAGE', 10, 300), t('y', 'x', 'MEMORY', 10, 100), t('x', 'y', 'MONEY', 1, 1_000_000)],
      topUps: [{ from: 'x', to: 'y', fromOffer: 'x', toOffer: 'y', amount: 7 }],
    };
    const { legCredits, immediate } = attachCredits(deal);
    expect(immediate).toEqual([]);
    expect(legCredits.get(0)).toBe(750_005);
    expect(legCredits.get(1)).toBe(250_002);
    expect((legCredits.get(0) ?? 0) + (legCredits.get(1) ?? 0)).toBe(1_000_007);
  });

  it('moves credits with no resource coming back at once', () => {
    const deal = {
      // a cycle a → b → c → a, with c topping up a (a gives nothing to c)
      transfers: [t('a', 'b', 'STORAGE', 1, 10), t('b', 'c', 'MEMORY', 1, 10), t('c', 'a', 'FILE', 1, 10)],
      topUps: [{ from: 'c', to: 'b', fromOffer: 'c', toOffer: 'b', amount: 5 }, { from: 'a', to: 'c', fromOffer: 'a', toOffer: 'c', amount: 3 }],
    };
    const { legCredits, immediate } = attachCredits(deal as never);
    // c pays b for the memory b gives c; a pays c for the file c gives a
    expect(legCredits.get(1)).toBe(5);
    expect(legCredits.get(2)).toBe(3);
    expect(immediate).toEqual([]);
    const swap = attachCredits({ transfers: [t('p', 'q', 'MONEY', 2, 2_000_000)], topUps: [] } as never);
    expect(swap.legCredits.size).toBe(0);
    expect(swap.immediate).toEqual([{ fromOffer: 'p', toOffer: 'q', amount: 2_000_000, kind: 'BARTER_CREDITS' }]);
  });
});
