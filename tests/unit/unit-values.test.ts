import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MB_PER_MBPS_HOUR,
  REFERENCE_ITEM_MB,
  legValue,
  unitValue,
} from '@/server/barter/unit-values';
import {
  CATEGORIES,
  UNITS_BY_CATEGORY,
  defaultValuationRates,
  resolveRates,
  valueFile,
  type Category,
  type ValuationRates,
} from '@/server/valuation';

const rates = defaultValuationRates;

/** Every (category, unit) pair. */
const PAIRS: [Category, string][] = CATEGORIES.flatMap((c) => UNITS_BY_CATEGORY[c].map((u): [Category, string] => [c, u]));

/** Paths of every numeric leaf of the rate table (except `version`). */
function numericPaths(obj: unknown, prefix: string[] = []): string[][] {
  if (typeof obj === 'number') return prefix[0] === 'version' ? [] : [prefix];
  if (obj && typeof obj === 'object') {
    return Object.entries(obj).flatMap(([k, v]) => numericPaths(v, [...prefix, k]));
  }
  return [];
}
const PATHS = numericPaths(defaultValuationRates);

function getAt(r: ValuationRates, path: string[]): number {
  return path.reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], r) as number;
}

/** A deep copy of `r` with the leaf at `path` set to `value`. */
function setAt(r: ValuationRates, path: string[], value: number): ValuationRates {
  const copy = structuredClone(r);
  let o = copy as unknown as Record<string, unknown>;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
  o[path[path.length - 1]!] = value;
  return copy;
}

/** Rate tables with every leaf scaled by its own random factor in [0, 4]. */
const ratesArb: fc.Arbitrary<ValuationRates> = fc
  .array(fc.double({ min: 0, max: 4, noNaN: true }), { minLength: PATHS.length, maxLength: PATHS.length })
  .map((factors) =>
    PATHS.reduce((r, path, i) => setAt(r, path, getAt(defaultValuationRates, path) * factors[i]!), defaultValuationRates),
  );

describe('unitValue: worked values at the default rates', () => {
  it('COMPUTE: a reference core (1000 MIPS + 1000 MFLOPS) second, a GFLOP, a 60-core-second work unit', () => {
    // (1000 × 100 + 1000 × 100) / 3600 = 55.6
    expect(unitValue('COMPUTE', 'CPU_SECOND', rates)).toBe(55);
    // 100 µ per MFLOPS-hour / 3.6 GFLOP per MFLOPS-hour = 27.8
    expect(unitValue('COMPUTE', 'GFLOP', rates)).toBe(27);
    // 60 × 55.56 = 3333.3 (rounded once, not 60 × 55)
    expect(unitValue('COMPUTE', 'WORK_UNIT', rates)).toBe(3333);
  });

  it('MEMORY and STORAGE: the per-MB-hour base rates', () => {
    expect(unitValue('MEMORY', 'MB_HOUR', rates)).toBe(20);
    expect(unitValue('STORAGE', 'MB_HOUR', rates)).toBe(1);
  });

  it('PERIPHERAL: (2 MP × 2000 + camera 20000 + microphone 5000 + touch 2000) / 4 devices', () => {
    expect(unitValue('PERIPHERAL', 'DEVICE_HOUR', rates)).toBe(7750);
  });

  it('FILE: a 1 MB reference item (1000 + 1 × 100) and 100 µ per MB', () => {
    expect(unitValue('FILE', 'ITEM', rates)).toBe(1100);
    expect(unitValue('FILE', 'MB', rates)).toBe(100);
  });

  it('NETWORK: 1 Mbit/s for an hour is ≈ 429 MB (450 decimal MB), so 1000 µ / 429.2 per MB; a page view is 2 MB', () => {
    expect(MB_PER_MBPS_HOUR).toBeCloseTo(429.15, 2);
    expect(unitValue('NETWORK', 'MB', rates)).toBe(2); // 2.33
    expect(unitValue('NETWORK', 'PAGE_VIEW', rates)).toBe(4); // 4.66
  });

  it('MONEY: one credit is 1,000,000 µ, whatever the rates', () => {
    expect(unitValue('MONEY', 'CREDIT', rates)).toBe(1_000_000);
    expect(unitValue('MONEY', 'CREDIT', resolveRates({ money: { cashCentsPerCredit: 50 } }))).toBe(1_000_000);
  });

  it('follows community overrides', () => {
    const r = resolveRates({ memory: { perMbHour: 35 }, network: { perMbpsHour: 4292 } });
    expect(unitValue('MEMORY', 'MB_HOUR', r)).toBe(35);
    expect(unitValue('NETWORK', 'MB', r)).toBe(10);
    expect(unitValue('NETWORK', 'PAGE_VIEW', r)).toBe(20);
  });

  it('rejects a unit of another category', () => {
    expect(() => unitValue('MEMORY', 'GFLOP', rates)).toThrow(RangeError);
    expect(() => unitValue('MONEY', 'MB', rates)).toThrow(RangeError);
  });
});

describe('unitValue properties', () => {
  it('is a non-negative safe integer for every unit and any rates', () => {
    fc.assert(
      fc.property(ratesArb, (r) => {
        for (const [c, u] of PAIRS) {
          const v = unitValue(c, u, r);
          expect(Number.isSafeInteger(v)).toBe(true);
          expect(v).toBeGreaterThanOrEqual(0);
        }
      }),
    );
  });

  it('never decreases when any one rate goes up', () => {
    fc.assert(
      fc.property(
        ratesArb,
        fc.integer({ min: 0, max: PATHS.length - 1 }),
        fc.double({ min: 0, max: 1e4, noNaN: true }),
        (r, p, bump) => {
          const path = PATHS[p]!;
          const higher = setAt(r, path, getAt(r, path) + bump);
          for (const [c, u] of PAIRS) expect(unitValue(c, u, higher)).toBeGreaterThanOrEqual(unitValue(c, u, r));
        },
      ),
    );
  });

  it('scales with the relevant money rates: k × the rates gives k × the value, to within the rounding', () => {
    const relevant: Record<Category, string[][]> = {
      COMPUTE: [['compute', 'perMipsHour'], ['compute', 'perMflopsHour']],
      MEMORY: [['memory', 'perMbHour']],
      STORAGE: [['storage', 'perMbHour']],
      PERIPHERAL: [
        ['peripheral', 'perMegapixelHour'],
        ['peripheral', 'perCameraHour'],
        ['peripheral', 'perMicrophoneHour'],
        ['peripheral', 'touchHour'],
      ],
      FILE: [['file', 'perItem'], ['file', 'perMb']],
      NETWORK: [['network', 'perMbpsHour']],
      MONEY: [],
    };
    fc.assert(
      fc.property(ratesArb, fc.integer({ min: 2, max: 50 }), (r, k) => {
        for (const [c, u] of PAIRS) {
          if (c === 'MONEY') continue;
          const scaled = relevant[c].reduce((acc, path) => setAt(acc, path, getAt(acc, path) * k), r);
          const before = unitValue(c, u, r);
          const after = unitValue(c, u, scaled);
          // floor(k·x) lies in [k·floor(x), k·floor(x) + k − 1]; allow one more µ for float error
          expect(after).toBeGreaterThanOrEqual(k * before - 1);
          expect(after).toBeLessThanOrEqual(k * before + k);
        }
      }),
    );
  });

  it('values a FILE ITEM as valueFile values a 1 MB item of media type "other" without description', () => {
    fc.assert(
      fc.property(ratesArb, (r) => {
        const item = valueFile({ sizeBytes: REFERENCE_ITEM_MB * 1024 * 1024, mediaType: 'chemical/x-pdb' }, r);
        expect(unitValue('FILE', 'ITEM', r)).toBe(item.credits);
      }),
    );
  });
});

describe('legValue', () => {
  it('is quantity × unit value', () => {
    expect(legValue({ category: 'COMPUTE', unit: 'CPU_SECOND', quantity: 1000 }, rates)).toBe(55_000);
    expect(legValue({ category: 'MONEY', unit: 'CREDIT', quantity: 3 }, rates)).toBe(3_000_000);
    expect(legValue({ category: 'NETWORK', unit: 'MB', quantity: 0 }, rates)).toBe(0);
    fc.assert(
      fc.property(fc.constantFrom(...PAIRS), fc.integer({ min: 0, max: 1_000_000 }), ([c, u], q) => {
        expect(legValue({ category: c, unit: u, quantity: q }, rates)).toBe(q * unitValue(c, u, rates));
      }),
    );
  });

  it('rejects negative or fractional quantities, unknown units and products beyond a safe integer', () => {
    expect(() => legValue({ category: 'MEMORY', unit: 'MB_HOUR', quantity: -1 }, rates)).toThrow(RangeError);
    expect(() => legValue({ category: 'MEMORY', unit: 'MB_HOUR', quantity: 1.5 }, rates)).toThrow(RangeError);
    expect(() => legValue({ category: 'MEMORY', unit: 'ITEM', quantity: 1 }, rates)).toThrow(RangeError);
    expect(() => legValue({ category: 'MONEY', unit: 'CREDIT', quantity: 10_000_000_000 }, rates)).toThrow(RangeError);
    expect(legValue({ category: 'MONEY', unit: 'CREDIT', quantity: 9_000_000_000 }, rates)).toBe(9e15);
  });
});
