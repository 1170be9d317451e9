import { describe, expect, it } from 'vitest';
import { whyNoMatch, type OfferFacts } from '@/server/barter/no-match';
import { unitValue } from '@/server/barter/unit-values';
import { defaultValuationRates as DEFAULT_RATES } from '@/server/valuation/rates';

const offer = (handle: string, give: OfferFacts['give'], want: OfferFacts['want'], toleranceBps = 1_000, topUp = false): OfferFacts => ({
  memberId: `id-${handle}`,
  handle,
  give,
  want,
  toleranceBps,
  topUp: { allowed: topUp, max: topUp ? 1e12 : 0 },
});
const files = (quantity: number) => [{ category: 'FILE' as const, unit: 'ITEM', quantity }];
const compute = (quantity: number) => [{ category: 'COMPUTE' as const, unit: 'GFLOP', quantity }];

describe('why a barter offer has not matched', () => {
  // as many GFLOP as one file is worth, so that values can be set equal or apart
  const gflopPerItem = Math.round(unitValue('FILE', 'ITEM', DEFAULT_RATES) / unitValue('COMPUTE', 'GFLOP', DEFAULT_RATES));
  const mine = offer('me', files(1), compute(gflopPerItem));

  it('says so when nobody else has an offer', () => {
    expect(whyNoMatch(mine, [mine], DEFAULT_RATES)).toMatchObject({ kind: 'ALONE' });
  });

  it('says nobody offers what I want', () => {
    const other = offer('bob', files(2), files(1));
    expect(whyNoMatch(mine, [mine, other], DEFAULT_RATES)).toEqual({ kind: 'NOBODY_GIVES', text: 'Nobody offers the compute you want yet: your offer waits for someone who does.' });
  });

  it('names who gives what I want but wants something else', () => {
    const other = offer('bob', compute(gflopPerItem), [{ category: 'STORAGE', unit: 'MB_HOUR', quantity: 10 }]);
    expect(whyNoMatch(mine, [other], DEFAULT_RATES).text).toBe('@bob gives what you want, but wants storage, not what you give.');
  });

  it('gives the difference in value against both tolerances, closest first, and suggests credits', () => {
    // I give up to 3 files for 4 files' worth of compute: @far takes 1 file (75% apart), @near 2 (50% apart)
    const far = offer('far', compute(gflopPerItem * 4), files(1), 1_000);
    const near = offer('near', compute(gflopPerItem * 4), files(2), 500);
    const reason = whyNoMatch({ ...mine, give: files(3), want: compute(gflopPerItem * 4) }, [far, near], DEFAULT_RATES);
    const iGive = 2 * unitValue('FILE', 'ITEM', DEFAULT_RATES);
    const theyGive = gflopPerItem * 4 * unitValue('COMPUTE', 'GFLOP', DEFAULT_RATES);
    const differenceBps = Math.round((Math.abs(iGive - theyGive) * 10_000) / Math.max(iGive, theyGive));
    expect(differenceBps).toBeGreaterThan(4_900);
    expect(differenceBps).toBeLessThan(5_100);
    expect(reason).toMatchObject({ kind: 'VALUES_DIFFER', handle: 'near', differenceBps });
    expect(reason.text).toBe(
      `@near swaps what you want for what you give, but the values differ by ${(differenceBps / 100).toFixed(1)}%, beyond your ±10% and @near's ±5%. Let credits even out the difference, or change the quantities.`,
    );
  });

  it('says a swap fits when values are within both tolerances', () => {
    const other = offer('bob', compute(gflopPerItem), files(1));
    expect(whyNoMatch(mine, [other], DEFAULT_RATES)).toMatchObject({ kind: 'POSSIBLE', handle: 'bob' });
  });
});
