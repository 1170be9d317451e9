/**
 * Why an open barter offer has not matched (pure): what a person reads under their offer instead of
 * silence. Looks at the other members' open offers the way the engine pairs them (`covers`, `equity`,
 * server/barter/engine.ts) and names the closest miss. Multi-party cycles are not searched here: a
 * cycle the engine could close is found when offers are matched, and this only explains the pairs.
 */
import { covers, equity, type Leg } from './engine';
import { legValue } from './unit-values';
import type { ValuationRates } from '../valuation/rates';
import type { Category } from '../valuation/categories';

export type OfferFacts = {
  memberId: string;
  handle: string;
  give: Leg[];
  want: Leg[];
  toleranceBps: number;
  topUp: { allowed: boolean; max: number };
};

export type NoMatch =
  | { kind: 'ALONE'; text: string }
  | { kind: 'NOBODY_GIVES'; text: string }
  | { kind: 'NOBODY_WANTS'; text: string }
  | { kind: 'VALUES_DIFFER'; text: string; differenceBps: number; handle: string }
  | { kind: 'POSSIBLE'; text: string; handle: string };

const CATEGORY_WORDS: Record<Category, string> = {
  COMPUTE: 'compute', MEMORY: 'memory', STORAGE: 'storage', PERIPHERAL: 'peripherals', FILE: 'files', NETWORK: 'network', MONEY: 'credits',
};
/** How far apart two values are, in basis points of the larger (the engine's tolerance measures the same). */
export function differenceBps(a: number, b: number): number {
  const larger = Math.max(a, b);
  return larger === 0 ? 0 : Math.round((Math.abs(a - b) * 10_000) / larger);
}

const value = (legs: readonly Leg[], rates: ValuationRates) => legs.reduce((sum, leg) => sum + legValue(leg, rates), 0);
const percent = (bps: number) => `${(bps / 100).toFixed(bps % 100 === 0 ? 0 : 1)}%`;
const what = (legs: readonly Leg[]) => [...new Set(legs.map((l) => CATEGORY_WORDS[l.category]))].join(' and ');

export function whyNoMatch(mine: OfferFacts, open: readonly OfferFacts[], rates: ValuationRates): NoMatch {
  const others = open.filter((o) => o.memberId !== mine.memberId);
  if (others.length === 0) return { kind: 'ALONE', text: 'No other member has an open offer yet: yours waits for one.' };
  const giving = others.filter((o) => covers(o.give, mine.want));
  if (giving.length === 0) return { kind: 'NOBODY_GIVES', text: `Nobody offers the ${what(mine.want)} you want yet: your offer waits for someone who does.` };
  const mirrors = giving.filter((o) => covers(mine.give, o.want));
  if (mirrors.length === 0) {
    const first = giving[0]!;
    return {
      kind: 'NOBODY_WANTS',
      text: `@${first.handle} gives what you want, but wants ${what(first.want)}${giving.length > 1 ? ` (and ${giving.length - 1} more want other things)` : ''}, not what you give.`,
    };
  }
  // a mirror: what would change hands is exactly what each side wants
  let closest: { handle: string; differenceBps: number; other: OfferFacts } | null = null;
  for (const other of mirrors) {
    const iGive = value(other.want, rates);
    const theyGive = value(mine.want, rates);
    const a = { id: 'mine', memberId: mine.memberId, toleranceBps: mine.toleranceBps, creditTopUp: mine.topUp };
    const b = { id: 'theirs', memberId: other.memberId, toleranceBps: other.toleranceBps, creditTopUp: other.topUp };
    if (equity(iGive, theyGive, a, b).ok) {
      return { kind: 'POSSIBLE', handle: other.handle, text: `A swap with @${other.handle} fits both of you: it is proposed at the next matching.` };
    }
    const apart = differenceBps(iGive, theyGive);
    if (!closest || apart < closest.differenceBps) closest = { handle: other.handle, differenceBps: apart, other };
  }
  const c = closest!;
  const theirs = c.other.toleranceBps < mine.toleranceBps ? ` and @${c.handle}'s ±${percent(c.other.toleranceBps)}` : '';
  const hint = mine.topUp.allowed ? '' : ' Let credits even out the difference, or change the quantities.';
  return {
    kind: 'VALUES_DIFFER',
    handle: c.handle,
    differenceBps: c.differenceBps,
    text: `@${c.handle} swaps what you want for what you give, but the values differ by ${percent(c.differenceBps)}, beyond your ±${percent(mine.toleranceBps)}${theirs}.${hint}`,
  };
}
