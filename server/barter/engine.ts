/**
 * The barter engine: pure functions over plain data (no I/O, no clock). A Barter is a trade whose
 * legs are resources, matched on equitable value, possibly among more than two members (DESIGN.md).
 *
 * Offers. A BarterOffer gives 1..4 legs and wants 1..4 legs (a leg is a quantity, a positive integer,
 * of one category in one of its units; MONEY/CREDIT legs are whole credits). A giver hands over
 * exactly what the receiver wants: for each wanted leg, a leg of the wanted quantity drawn from one
 * of the giver's give legs of the same category and unit with at least that quantity (`covers`; each
 * give leg serves at most one wanted leg, quantities never split). So no one ever gives more than a
 * give leg holds, and everyone receives exactly what they asked for. Values are those of the legs
 * actually exchanged, at the community's unit values (`./unit-values.ts`), in integer micro-credits.
 *
 * Equity. Each participant gives some value g and receives some value r; n = r − g is what they are
 * ahead. A deal is equitable when
 *   1. every participant is within their own tolerance: |n| × 10000 ≤ toleranceBps × max(g, r)
 *      (for a pair this is |diff| ≤ the tolerance of BOTH sides × the larger value / 10000), and
 *      then nothing else moves; or else
 *   2. credits settle every imbalance exactly: each participant ahead (n > 0) pays n credits (in µ)
 *      and each one behind (n < 0) is paid −n. Everyone with n ≠ 0 must allow top-ups, and no payer
 *      may pay more than their `creditTopUp.max`. Payers are matched to payees in the cycle's order
 *      (first payer to first payee, …), so there are at most k − 1 top-ups for k participants; they
 *      net to zero and leave every participant exactly even (received + top-ups in = given + top-ups
 *      out). For a pair: the side receiving more pays the whole difference to the other.
 *   Participants are distinct members, and no participant's `excludedMembers` names another
 *   participant of the same deal (for a cycle: any other participant, as top-ups may flow between
 *   members that are not neighbours).
 *
 * Matching (`matchBarter`, prefer 'PAIRS_FIRST', DESIGN.md: "finds the closest matched pairs", then
 * "closes multi-party cycles where no pair exists, preferring the cycle set of greatest total
 * value"):
 *   1. Pairs, greedily, closest value first: every equitable pair (each side's give covers the other's
 *      want) sorted by |value a gives − value b gives|, then the older offer's seq, then the younger's;
 *      a pair is taken when neither offer is taken yet. The result is a maximal set of pairs.
 *   2. Cycles among the offers left: the graph has an edge u → v when u.give covers v.want (u can give
 *      v what v wants) and u, v are different members not excluding each other. Simple cycles of 3..L
 *      offers (L = maxCycleLength, 4 by default) are enumerated (`enumerate`: a bounded DFS, O(n · d^(L−1))
 *      edges for out-degree d, within maxCycles = 10,000 recorded cycles and maxSteps = 1,000,000
 *      examined edges per pass), the equitable ones kept as candidates, and a vertex-disjoint set of
 *      greatest total value chosen (`chooseDisjoint`: exact branch-and-bound up to 40 candidates,
 *      greedy by value beyond, which keeps at least 1/L of the optimum).
 *   With prefer 'GREATEST_VALUE', pairs (2-cycles) and longer cycles compete in one selection instead.
 * A deal's totalValue is the sum of the values given (legs only, not top-ups).
 */
import { MAX_MICRO } from '../money';
import { isCategory, isUnitOf, type Category } from '../valuation/categories';
import type { ValuationRates } from '../valuation/rates';
import { legValue } from './unit-values';

/** A quantity (a positive integer in `unit`) of one category. */
export type Leg = { category: Category; unit: string; quantity: number };

export type BarterOffer = {
  id: string;
  memberId: string;
  /** Arrival order: lower = older. */
  seq: number;
  /** 1..4 legs each; MONEY/CREDIT legs are whole credits. */
  give: Leg[];
  want: Leg[];
  /** How far (basis points of the larger side) the values given and received may differ, 0..10000. */
  toleranceBps: number;
  /** Whether credits may make up a larger difference, and up to how many µ this member will pay. */
  creditTopUp: { allowed: boolean; max: number };
  /** Members this offer never trades with. */
  excludedMembers?: string[];
};

/** What `equity` reads of an offer. */
export type EquityParty = Pick<BarterOffer, 'id' | 'memberId' | 'toleranceBps' | 'creditTopUp'>;

/** Credits (µ) one participant pays another to even a deal. `from` / `to` are member ids. */
export type TopUp = { from: string; to: string; fromOffer: string; toOffer: string; amount: number };

/** One leg handed from one participant to another. `from` / `to` are member ids. */
export type Transfer = {
  from: string;
  to: string;
  fromOffer: string;
  toOffer: string;
  /** Index in the giver's `give` list of the leg this is drawn from. */
  giveLeg: number;
  /** What moves: the receiver's wanted leg (same category, unit and quantity). */
  leg: Leg;
  /** µ */
  value: number;
};

export type BarterDeal = {
  kind: 'PAIR' | 'CYCLE';
  /** In giving order: offers[i] gives to offers[i + 1], the last gives to the first. */
  offers: BarterOffer[];
  transfers: Transfer[];
  topUps: TopUp[];
  /** Sum of the values given, µ. */
  totalValue: number;
};

export type Equity = { ok: true; topUp: TopUp | null } | { ok: false };

export type CycleOptions = {
  /** Fewest offers in a cycle (2 includes pairs), default 3. */
  minLength?: number;
  /** Most offers in a cycle, default 4, at most MAX_CYCLE_LENGTH. */
  maxLength?: number;
  /** Record at most this many cycles, default 10,000. */
  maxCycles?: number;
  /** Examine at most this many edges, default 1,000,000. */
  maxSteps?: number;
};

export type SelectionOptions = {
  /** Exact branch-and-bound up to this many candidates, greedy beyond; default 40. */
  exactUpTo?: number;
  /** Search nodes the branch-and-bound may visit; default 250,000. */
  nodeBudget?: number;
};

export type MatchOptions = {
  /** Longest cycle, 2..MAX_CYCLE_LENGTH; default 4 (2 = pairs only). */
  maxCycleLength?: number;
  prefer?: 'PAIRS_FIRST' | 'GREATEST_VALUE';
  maxCycles?: number;
  maxSteps?: number;
  exactUpTo?: number;
  nodeBudget?: number;
};

export const MAX_LEGS = 4;
export const MAX_TOLERANCE_BPS = 10_000;
export const DEFAULT_MAX_CYCLE_LENGTH = 4;
/** Longest cycle the engine accepts (keeps the enumeration bounded and sums of values safe). */
export const MAX_CYCLE_LENGTH = 8;
export const DEFAULT_MAX_CYCLES = 10_000;
export const DEFAULT_MAX_STEPS = 1_000_000;
export const EXACT_SELECTION_LIMIT = 40;
export const DEFAULT_NODE_BUDGET = 250_000;

// ---------------------------------------------------------------------------------------------
// Offers and legs

/** Why `offer` is malformed, or null. With `rates`, also checks that what it wants is valuable (≤ MAX_MICRO). */
export function offerProblem(offer: BarterOffer, rates?: ValuationRates): string | null {
  if (typeof offer.id !== 'string' || offer.id.length === 0) return 'offer id missing';
  if (typeof offer.memberId !== 'string' || offer.memberId.length === 0) return `offer ${offer.id}: memberId missing`;
  if (!Number.isSafeInteger(offer.seq)) return `offer ${offer.id}: seq is not an integer`;
  for (const [name, legs] of [
    ['give', offer.give],
    ['want', offer.want],
  ] as const) {
    if (!Array.isArray(legs) || legs.length < 1 || legs.length > MAX_LEGS) {
      return `offer ${offer.id}: ${name} must have 1..${MAX_LEGS} legs`;
    }
    for (const leg of legs) {
      if (!isCategory(leg.category)) return `offer ${offer.id}: unknown category ${String(leg.category)}`;
      if (!isUnitOf(leg.category, leg.unit)) return `offer ${offer.id}: ${leg.unit} is not a unit of ${leg.category}`;
      if (!Number.isSafeInteger(leg.quantity) || leg.quantity < 1) {
        return `offer ${offer.id}: quantity ${leg.quantity} is not a positive integer`;
      }
    }
  }
  if (!Number.isInteger(offer.toleranceBps) || offer.toleranceBps < 0 || offer.toleranceBps > MAX_TOLERANCE_BPS) {
    return `offer ${offer.id}: toleranceBps must be an integer 0..${MAX_TOLERANCE_BPS}`;
  }
  const topUp = offer.creditTopUp;
  if (typeof topUp?.allowed !== 'boolean' || !Number.isSafeInteger(topUp.max) || topUp.max < 0) {
    return `offer ${offer.id}: creditTopUp must be { allowed, max ≥ 0 µ }`;
  }
  if (offer.excludedMembers !== undefined && !Array.isArray(offer.excludedMembers)) {
    return `offer ${offer.id}: excludedMembers must be a list`;
  }
  if (rates) {
    let total = 0;
    for (const leg of offer.want) {
      const value = safeLegValue(leg, rates);
      if (value === null || (total += value) > MAX_MICRO) return `offer ${offer.id}: wants more than ${MAX_MICRO} µ`;
    }
  }
  return null;
}

function safeLegValue(leg: Leg, rates: ValuationRates): number | null {
  try {
    return legValue(leg, rates);
  } catch {
    return null;
  }
}

/**
 * For each wanted leg, the index of the give leg that serves it (same category and unit, quantity
 * ≥ wanted, each give leg serving at most one want), or null when `give` does not cover `want`.
 * Within one category/unit, matching the largest want to the largest give, the second to the
 * second, … succeeds whenever any assignment does (exchange argument), so this is exact.
 */
export function assignLegs(give: readonly Leg[], want: readonly Leg[]): number[] | null {
  const assignment = new Array<number>(want.length).fill(-1);
  const groups = new Map<string, { wants: number[]; gives: number[] }>();
  const key = (leg: Leg) => `${leg.category}/${leg.unit}`;
  want.forEach((leg, i) => {
    const g = groups.get(key(leg)) ?? { wants: [], gives: [] };
    g.wants.push(i);
    groups.set(key(leg), g);
  });
  give.forEach((leg, i) => groups.get(key(leg))?.gives.push(i));
  for (const { wants, gives } of groups.values()) {
    if (gives.length < wants.length) return null;
    wants.sort((a, b) => want[b]!.quantity - want[a]!.quantity || a - b);
    gives.sort((a, b) => give[b]!.quantity - give[a]!.quantity || a - b);
    for (let i = 0; i < wants.length; i++) {
      const w = wants[i]!;
      const g = gives[i]!;
      if (give[g]!.quantity < want[w]!.quantity) return null;
      assignment[w] = g;
    }
  }
  return assignment;
}

/** Whether `give` meets every leg of `want` (see `assignLegs`). */
export function covers(give: readonly Leg[], want: readonly Leg[]): boolean {
  return assignLegs(give, want) !== null;
}

/** Same member, or either excludes the other. */
function conflicts(a: BarterOffer, b: BarterOffer): boolean {
  return (
    a.memberId === b.memberId ||
    (a.excludedMembers?.includes(b.memberId) ?? false) ||
    (b.excludedMembers?.includes(a.memberId) ?? false)
  );
}

// ---------------------------------------------------------------------------------------------
// Equity

type Position = { party: EquityParty; gives: number; receives: number };

/** The equity rule of the header, for any number of participants (in cycle order). */
function settle(positions: readonly Position[]): { ok: true; topUps: TopUp[] } | { ok: false } {
  const within = positions.every(({ party, gives, receives }) => {
    const diff = BigInt(Math.abs(receives - gives));
    return diff * 10_000n <= BigInt(party.toleranceBps) * BigInt(Math.max(gives, receives));
  });
  if (within) return { ok: true, topUps: [] };
  const payers: { party: EquityParty; left: number }[] = [];
  const payees: { party: EquityParty; left: number }[] = [];
  for (const { party, gives, receives } of positions) {
    const ahead = receives - gives;
    if (ahead === 0) continue;
    if (!party.creditTopUp.allowed) return { ok: false };
    if (ahead > 0) {
      if (ahead > party.creditTopUp.max) return { ok: false };
      payers.push({ party, left: ahead });
    } else {
      payees.push({ party, left: -ahead });
    }
  }
  const topUps: TopUp[] = [];
  let i = 0;
  let j = 0;
  while (i < payers.length && j < payees.length) {
    const payer = payers[i]!;
    const payee = payees[j]!;
    const amount = Math.min(payer.left, payee.left);
    topUps.push({
      from: payer.party.memberId,
      to: payee.party.memberId,
      fromOffer: payer.party.id,
      toOffer: payee.party.id,
      amount,
    });
    payer.left -= amount;
    payee.left -= amount;
    if (payer.left === 0) i++;
    if (payee.left === 0) j++;
  }
  return { ok: true, topUps };
}

/**
 * Whether a pair is equitable when `a` gives `aGivesValue` µ to `b` and `b` gives `bGivesValue` µ to
 * `a`: within both tolerances → no top-up; else, when both allow top-ups and the side receiving more
 * can pay the whole difference (≤ its max), that top-up; else not ok.
 */
export function equity(aGivesValue: number, bGivesValue: number, a: EquityParty, b: EquityParty): Equity {
  for (const v of [aGivesValue, bGivesValue]) {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`value ${v} is not a non-negative integer of µ`);
  }
  const result = settle([
    { party: a, gives: aGivesValue, receives: bGivesValue },
    { party: b, gives: bGivesValue, receives: aGivesValue },
  ]);
  return result.ok ? { ok: true, topUp: result.topUps[0] ?? null } : { ok: false };
}

// ---------------------------------------------------------------------------------------------
// Deals

/** An offer with its wanted legs valued once. */
type Prepared = {
  offer: BarterOffer;
  wantValues: number[];
  wantValue: number;
  /** Quantities by category/unit, largest first (for `coversPrepared`). */
  gives: Map<string, number[]>;
  wants: Map<string, number[]>;
};

const legKey = (leg: Leg) => `${leg.category}/${leg.unit}`;

function byKey(legs: readonly Leg[]): Map<string, number[]> {
  const map = new Map<string, number[]>();
  for (const leg of legs) map.set(legKey(leg), [...(map.get(legKey(leg)) ?? []), leg.quantity]);
  for (const quantities of map.values()) quantities.sort((a, b) => b - a);
  return map;
}

/** `covers(u.give, v.want)` on the prepared quantities, without allocating. */
function coversPrepared(u: Prepared, v: Prepared): boolean {
  for (const [key, wanted] of v.wants) {
    const given = u.gives.get(key);
    if (!given || given.length < wanted.length) return false;
    for (let i = 0; i < wanted.length; i++) if (given[i]! < wanted[i]!) return false;
  }
  return true;
}

/** Throws a RangeError for a malformed offer or an offer id given twice. */
function validate(offers: readonly BarterOffer[], rates: ValuationRates): void {
  const ids = new Set<string>();
  for (const offer of offers) {
    const problem = offerProblem(offer, rates);
    if (problem) throw new RangeError(problem);
    if (ids.has(offer.id)) throw new RangeError(`offer ${offer.id} appears twice`);
    ids.add(offer.id);
  }
}

function prepOne(offer: BarterOffer, rates: ValuationRates): Prepared {
  const wantValues = offer.want.map((leg) => legValue(leg, rates));
  return {
    offer,
    wantValues,
    wantValue: wantValues.reduce((s, v) => s + v, 0),
    gives: byKey(offer.give),
    wants: byKey(offer.want),
  };
}

/** Validated offers in seq order (then id), valued. */
function prepare(offers: readonly BarterOffer[], rates: ValuationRates): Prepared[] {
  validate(offers, rates);
  return [...offers]
    .sort((a, b) => a.seq - b.seq || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((offer) => prepOne(offer, rates));
}

/**
 * The deal in which cycle[i] gives cycle[i + 1] what it wants (the last gives the first), or null if
 * some giver does not cover its receiver's want, two participants conflict (same member or an
 * exclusion), or equity fails.
 */
function buildDeal(cycle: readonly Prepared[]): BarterDeal | null {
  const settled = settlement(cycle);
  if (!settled) return null;
  const k = cycle.length;
  const transfers: Transfer[] = [];
  for (let i = 0; i < k; i++) {
    const giver = cycle[i]!;
    const receiver = cycle[(i + 1) % k]!;
    const assignment = assignLegs(giver.offer.give, receiver.offer.want)!; // covered: checked by settlement
    receiver.offer.want.forEach((leg, w) => {
      transfers.push({
        from: giver.offer.memberId,
        to: receiver.offer.memberId,
        fromOffer: giver.offer.id,
        toOffer: receiver.offer.id,
        giveLeg: assignment[w]!,
        leg: { category: leg.category, unit: leg.unit, quantity: leg.quantity },
        value: receiver.wantValues[w]!,
      });
    });
  }
  return {
    kind: k === 2 ? 'PAIR' : 'CYCLE',
    offers: cycle.map((p) => p.offer),
    transfers,
    topUps: settled.topUps,
    totalValue: cycle.reduce((sum, p) => sum + p.wantValue, 0),
  };
}

/** The top-ups that make `cycle` equitable, or null when it is not acceptable (see `buildDeal`). */
function settlement(cycle: readonly Prepared[]): { topUps: TopUp[] } | null {
  const k = cycle.length;
  if (k < 2) return null;
  for (let i = 0; i < k; i++) {
    for (let j = i + 1; j < k; j++) if (conflicts(cycle[i]!.offer, cycle[j]!.offer)) return null;
    if (!coversPrepared(cycle[i]!, cycle[(i + 1) % k]!)) return null;
  }
  // participant i gives what i + 1 wants and receives what it wants itself
  const settled = settle(
    cycle.map((p, i) => ({ party: p.offer, gives: cycle[(i + 1) % k]!.wantValue, receives: p.wantValue })),
  );
  return settled.ok ? { topUps: settled.topUps } : null;
}

/**
 * The deal closing `cycle` (offers in giving order: each gives the next what it wants, the last gives
 * the first), or null when it is not acceptable. Two offers make a PAIR, more a CYCLE.
 */
export function evaluateCycle(cycle: readonly BarterOffer[], rates: ValuationRates): BarterDeal | null {
  validate(cycle, rates);
  return buildDeal(cycle.map((offer) => prepOne(offer, rates)));
}

// ---------------------------------------------------------------------------------------------
// Pairs

/**
 * The best counterparty in `book` for `offer`: a.give covers b.want and b.give covers a.want,
 * different members, neither excludes the other, equity ok; the smallest value difference first,
 * then the oldest (seq), then the smallest id. Returns the PAIR deal [offer, counterparty], or null.
 */
export function bestPairFor(
  offer: BarterOffer,
  book: readonly BarterOffer[],
  rates: ValuationRates,
): BarterDeal | null {
  const problem = offerProblem(offer, rates);
  if (problem) throw new RangeError(problem);
  const me = prepOne(offer, rates);
  let best: { deal: BarterDeal; diff: number; other: BarterOffer } | null = null;
  for (const other of book) {
    if (other.id === offer.id || conflicts(offer, other)) continue;
    const otherProblem = offerProblem(other, rates);
    if (otherProblem) throw new RangeError(otherProblem);
    const them = prepOne(other, rates);
    if (!coversPrepared(me, them) || !coversPrepared(them, me)) continue;
    const deal = buildDeal([me, them]);
    if (!deal) continue;
    const diff = Math.abs(them.wantValue - me.wantValue);
    if (
      best === null ||
      diff < best.diff ||
      (diff === best.diff && (other.seq < best.other.seq || (other.seq === best.other.seq && other.id < best.other.id)))
    ) {
      best = { deal, diff, other };
    }
  }
  return best?.deal ?? null;
}

/**
 * Out-neighbours of each offer (ascending): u → v when u.give covers v.want and they do not
 * conflict. Only offers giving the rarest category/unit that v wants are tried as its givers, so
 * the cost is O(Σ_v givers of v's rarest wanted kind) covering checks, O(n²) at worst.
 */
function buildGraph(prepared: readonly Prepared[]): number[][] {
  const giversByKey = new Map<string, number[]>();
  prepared.forEach((u, i) => {
    for (const key of u.gives.keys()) giversByKey.set(key, [...(giversByKey.get(key) ?? []), i]);
  });
  const out: number[][] = prepared.map(() => []);
  prepared.forEach((v, j) => {
    let rarest: number[] | null = null;
    for (const key of v.wants.keys()) {
      const givers = giversByKey.get(key) ?? [];
      if (rarest === null || givers.length < rarest.length) rarest = givers;
    }
    for (const i of rarest ?? []) {
      const u = prepared[i]!;
      if (i !== j && !conflicts(u.offer, v.offer) && coversPrepared(u, v)) out[i]!.push(j);
    }
  });
  return out; // j ascending in the outer loop, so each list is ascending
}

type PairCandidate = { i: number; j: number; diff: number };

/** Every equitable pair i < j (each covers the other's want, no conflict, equity ok). */
function allPairs(prepared: readonly Prepared[], out: readonly number[][]): PairCandidate[] {
  const outSets = out.map((o) => new Set(o));
  const candidates: PairCandidate[] = [];
  for (let i = 0; i < prepared.length; i++) {
    for (const j of out[i]!) {
      if (j <= i || !outSets[j]!.has(i) || !settlement([prepared[i]!, prepared[j]!])) continue;
      candidates.push({ i, j, diff: Math.abs(prepared[i]!.wantValue - prepared[j]!.wantValue) });
    }
  }
  return candidates;
}

const pairDeal = (prepared: readonly Prepared[], p: PairCandidate) => buildDeal([prepared[p.i]!, prepared[p.j]!])!;

/** Greedy pairs, closest value first (then older offers first); returns the deals and the offers used. */
function greedyPairs(prepared: readonly Prepared[], out: readonly number[][]): { deals: BarterDeal[]; used: Set<number> } {
  const candidates = allPairs(prepared, out);
  candidates.sort((a, b) => a.diff - b.diff || a.i - b.i || a.j - b.j);
  const used = new Set<number>();
  const deals: BarterDeal[] = [];
  for (const c of candidates) {
    if (used.has(c.i) || used.has(c.j)) continue;
    used.add(c.i);
    used.add(c.j);
    deals.push(pairDeal(prepared, c));
  }
  return { deals, used };
}

// ---------------------------------------------------------------------------------------------
// Cycles

/**
 * Simple cycles of minLength..maxLength vertices, each found once, as vertex lists in giving order
 * starting from the cycle's lowest index, listed by that index.
 *
 * Algorithm: vertices are the offers in seq order (index 0 = oldest). From each start s, a
 * depth-first search follows edges to vertices of higher index than s only, not on the path, whose
 * member is distinct from and not excluded by/excluding any member on the path, to a depth of
 * maxLength vertices; an edge back to s closes a cycle. A cycle is thus found only from its lowest
 * vertex and, the path being determined by its edges from there, exactly once.
 * Bound: each start explores at most d + d² + … + d^(L−1) paths for out-degree d, so
 * O(n · d^(L−1)) edges are explored in all (each with an O(L) path check), plus the graph's
 * construction (`buildGraph`) — and never more than 2 × maxSteps edges, see below.
 * Caps: at most maxCycles cycles are recorded and maxSteps edges examined per pass. In a first
 * pass each start gets a fair share of what is left of either budget (what is left ÷ the starts
 * left, rounded up), so a dense corner of the book among the oldest offers cannot use it all; in a
 * second pass the starts that were stopped, oldest first, search again (skipping the cycles they
 * already recorded) with everything left. So nothing is cut while the book holds at most maxCycles
 * cycles within the step budget, and `truncated` says whether any search stopped short.
 */
function enumerate(
  prepared: readonly Prepared[],
  out: readonly number[][],
  limits: { minLength: number; maxLength: number; maxCycles: number; maxSteps: number },
): { cycles: number[][]; truncated: boolean } {
  const { minLength, maxLength, maxCycles, maxSteps } = limits;
  const n = prepared.length;
  const cycles: number[][] = [];
  const onPath = new Uint8Array(n);
  const path: number[] = [];
  const clashes = (w: number) => path.some((p) => conflicts(prepared[p]!.offer, prepared[w]!.offer));
  let usedSteps = 0;

  /** Searches from `s`, skipping the first `skip` cycles found; `done` is false if a budget stopped it. */
  const search = (s: number, skip: number, cycleBudget: number, stepBudget: number): { done: boolean; found: number } => {
    let found = 0;
    let recorded = 0;
    let steps = 0;
    let stopped = false;
    const visit = (v: number): void => {
      for (const w of out[v]!) {
        if (stopped) return;
        if (steps >= stepBudget) {
          stopped = true;
          return;
        }
        steps++;
        if (w === s) {
          if (path.length < minLength) continue;
          if (found++ < skip) continue;
          if (recorded >= cycleBudget) {
            stopped = true;
            return;
          }
          cycles.push([...path]);
          recorded++;
          continue;
        }
        if (w < s || onPath[w] || path.length >= maxLength || clashes(w)) continue;
        path.push(w);
        onPath[w] = 1;
        visit(w);
        path.pop();
        onPath[w] = 0;
      }
    };
    path.push(s);
    onPath[s] = 1;
    visit(s);
    path.pop();
    onPath[s] = 0;
    usedSteps += steps;
    return { done: !stopped, found: recorded };
  };

  const stoppedStarts: { s: number; recorded: number }[] = [];
  for (let s = 0; s < n; s++) {
    const cycleShare = Math.ceil((maxCycles - cycles.length) / (n - s));
    const stepShare = Math.ceil((maxSteps - usedSteps) / (n - s));
    const { done, found } = search(s, 0, cycleShare, stepShare);
    if (!done) stoppedStarts.push({ s, recorded: found });
  }
  const firstPassSteps = usedSteps;
  let truncated = false;
  for (const { s, recorded } of stoppedStarts) {
    const { done } = search(s, recorded, maxCycles - cycles.length, maxSteps - (usedSteps - firstPassSteps));
    if (!done) truncated = true;
  }
  // list by start (stable: each start's cycles stay in the order found)
  cycles.sort((a, b) => a[0]! - b[0]!);
  return { cycles, truncated };
}

type Limits = { minLength: number; maxLength: number; maxCycles: number; maxSteps: number };

function cycleOptions(options: CycleOptions): Limits {
  const minLength = options.minLength ?? 3;
  const maxLength = options.maxLength ?? DEFAULT_MAX_CYCLE_LENGTH;
  const maxCycles = options.maxCycles ?? DEFAULT_MAX_CYCLES;
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  if (!Number.isInteger(minLength) || minLength < 2) throw new RangeError('minLength must be an integer ≥ 2');
  if (!Number.isInteger(maxLength) || maxLength > MAX_CYCLE_LENGTH) {
    throw new RangeError(`maxLength must be an integer ≤ ${MAX_CYCLE_LENGTH}`);
  }
  if (!Number.isInteger(maxCycles) || maxCycles < 0) throw new RangeError('maxCycles must be a non-negative integer');
  if (!Number.isInteger(maxSteps) || maxSteps < 0) throw new RangeError('maxSteps must be a non-negative integer');
  return { minLength, maxLength, maxCycles, maxSteps };
}

/**
 * Every simple cycle of the giving graph (u → v when u.give covers v.want, different members, no
 * exclusion; members distinct and not excluding each other along the whole cycle) with
 * minLength..maxLength offers, each once, in giving order from its oldest offer; acceptability
 * (equity) is not checked here. See `enumerate` for the algorithm and its bound.
 */
export function findCycles(
  offers: readonly BarterOffer[],
  rates: ValuationRates,
  options: CycleOptions = {},
): { cycles: BarterOffer[][]; truncated: boolean } {
  const limits = cycleOptions(options);
  const prepared = prepare(offers, rates);
  const { cycles, truncated } = enumerate(prepared, buildGraph(prepared), limits);
  return { cycles: cycles.map((c) => c.map((i) => prepared[i]!.offer)), truncated };
}

/** The acceptable (equitable) cycles of `findCycles`, as deals, in enumeration order. */
export function cycleCandidates(
  offers: readonly BarterOffer[],
  rates: ValuationRates,
  options: CycleOptions = {},
): { deals: BarterDeal[]; truncated: boolean } {
  const limits = cycleOptions(options);
  const prepared = prepare(offers, rates);
  return candidatesOf(prepared, buildGraph(prepared), limits);
}

function candidatesOf(
  prepared: readonly Prepared[],
  out: readonly number[][],
  limits: Limits,
): { deals: BarterDeal[]; truncated: boolean } {
  const { cycles, truncated } = enumerate(prepared, out, limits);
  const deals: BarterDeal[] = [];
  for (const cycle of cycles) {
    const deal = buildDeal(cycle.map((i) => prepared[i]!));
    if (deal) deals.push(deal);
  }
  return { deals, truncated };
}

// ---------------------------------------------------------------------------------------------
// Selection

/**
 * A set of candidates sharing no offer, of greatest total value, returned by decreasing value.
 *
 * Candidates are sorted by value, greatest first (stable, so ties keep their given order). Up to
 * `exactUpTo` (40) candidates: exact branch-and-bound — include the next candidate that fits, then
 * exclude it, pruning a branch when its value plus the values of all remaining candidates that
 * still fit cannot beat the best set found. The first set it reaches is the greedy one, so even if
 * the search stopped at `nodeBudget` (250,000 nodes; worst case 2^40 without it) the result is
 * never worse than greedy. Beyond `exactUpTo`: greedy by value, which keeps at least 1/L of the
 * optimum for cycles of at most L offers (each chosen cycle blocks at most L cycles of an optimal
 * set, none worth more than it).
 */
export function chooseDisjoint<T extends { offers: readonly { id: string }[]; totalValue: number }>(
  candidates: readonly T[],
  options: SelectionOptions = {},
): T[] {
  const exactUpTo = options.exactUpTo ?? EXACT_SELECTION_LIMIT;
  const nodeBudget = options.nodeBudget ?? DEFAULT_NODE_BUDGET;
  const sorted = [...candidates].sort((a, b) => b.totalValue - a.totalValue);
  const vertexIds = new Map<string, number>();
  const sets = sorted.map((c) =>
    c.offers.map((o) => {
      let v = vertexIds.get(o.id);
      if (v === undefined) vertexIds.set(o.id, (v = vertexIds.size));
      return v;
    }),
  );
  const used = new Uint8Array(vertexIds.size);
  const fits = (c: number) => sets[c]!.every((v) => !used[v]);
  const mark = (c: number, to: 0 | 1) => sets[c]!.forEach((v) => (used[v] = to));

  const greedy = (): number[] => {
    used.fill(0);
    const chosen: number[] = [];
    sorted.forEach((_, c) => {
      if (fits(c)) {
        mark(c, 1);
        chosen.push(c);
      }
    });
    return chosen;
  };

  let chosen: number[];
  if (sorted.length > exactUpTo) {
    chosen = greedy();
  } else {
    const m = sorted.length;
    let best = -1;
    let bestSet: number[] = [];
    const current: number[] = [];
    let nodes = 0;
    const visit = (i: number, value: number): void => {
      if (++nodes > nodeBudget) return;
      let bound = value;
      let next = -1;
      for (let j = i; j < m; j++) {
        if (fits(j)) {
          bound += sorted[j]!.totalValue;
          if (next < 0) next = j;
        }
      }
      if (bound <= best) return;
      if (next < 0) {
        best = value; // bound === value > best
        bestSet = [...current];
        return;
      }
      mark(next, 1);
      current.push(next);
      visit(next + 1, value + sorted[next]!.totalValue);
      current.pop();
      mark(next, 0);
      visit(next + 1, value);
    };
    visit(0, 0);
    chosen = best < 0 ? greedy() : bestSet;
  }
  return chosen.map((c) => sorted[c]!);
}

// ---------------------------------------------------------------------------------------------
// The whole book

/**
 * Matches a book of barter offers (see the header). 'PAIRS_FIRST' (default): greedy closest pairs,
 * then the best disjoint set of 3..maxCycleLength cycles among the offers left. 'GREATEST_VALUE':
 * the best disjoint set among every equitable pair and the 3..maxCycleLength cycles. Pairs are found
 * by a scan of the graph's edges, never capped; cycles by `enumerate`, within maxCycles / maxSteps.
 * Returns the deals (pairs first, then cycles by decreasing value); each offer is in at most one.
 */
export function matchBarter(
  offers: readonly BarterOffer[],
  rates: ValuationRates,
  options: MatchOptions = {},
): BarterDeal[] {
  const maxLength = options.maxCycleLength ?? DEFAULT_MAX_CYCLE_LENGTH;
  if (!Number.isInteger(maxLength) || maxLength < 2 || maxLength > MAX_CYCLE_LENGTH) {
    throw new RangeError(`maxCycleLength must be an integer 2..${MAX_CYCLE_LENGTH}`);
  }
  const limits = cycleOptions({
    minLength: 3,
    maxLength: Math.max(maxLength, 3),
    maxCycles: options.maxCycles,
    maxSteps: options.maxSteps,
  });
  const selection = { exactUpTo: options.exactUpTo, nodeBudget: options.nodeBudget };
  const prepared = prepare(offers, rates);
  const graph = buildGraph(prepared);
  if ((options.prefer ?? 'PAIRS_FIRST') === 'GREATEST_VALUE') {
    const pairs = allPairs(prepared, graph).map((p) => pairDeal(prepared, p));
    const cycles = maxLength < 3 ? [] : candidatesOf(prepared, graph, limits).deals;
    const chosen = chooseDisjoint([...pairs, ...cycles], selection);
    return [...chosen.filter((d) => d.kind === 'PAIR'), ...chosen.filter((d) => d.kind === 'CYCLE')];
  }
  const pairs = greedyPairs(prepared, graph);
  if (maxLength < 3) return pairs.deals;
  const rest = prepared.filter((_, i) => !pairs.used.has(i));
  const { deals } = candidatesOf(rest, buildGraph(rest), limits);
  return [...pairs.deals, ...chooseDisjoint(deals, selection)];
}
