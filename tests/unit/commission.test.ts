import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fillAmounts, splitCommission } from '@/server/market/commission';

describe('splitCommission', () => {
  it('rounds the total down and gives the odd micro-credit to the buyer', () => {
    expect(splitCommission(1_000_000, 250)).toEqual({ total: 25_000, buyerShare: 12_500, sellerShare: 12_500 });
    expect(splitCommission(999, 100)).toEqual({ total: 9, buyerShare: 5, sellerShare: 4 });
    expect(splitCommission(99, 100)).toEqual({ total: 0, buyerShare: 0, sellerShare: 0 });
    expect(splitCommission(3, 10_000)).toEqual({ total: 3, buyerShare: 2, sellerShare: 1 });
    expect(splitCommission(12_345, 0)).toEqual({ total: 0, buyerShare: 0, sellerShare: 0 });
    expect(splitCommission(0, 500)).toEqual({ total: 0, buyerShare: 0, sellerShare: 0 });
  });

  it('is exact where floating point is not', () => {
    // Math.floor(v * bps / 10000) in floats gives 9007199254740990 and 9006298534799681 here
    expect(splitCommission(Number.MAX_SAFE_INTEGER, 10_000).total).toBe(Number.MAX_SAFE_INTEGER);
    expect(splitCommission(9_007_199_254_725_153, 9_999).total).toBe(9_006_298_534_799_680);
    expect(splitCommission(Number.MAX_SAFE_INTEGER, 3).total).toBe(2_702_159_776_422);
    expect(splitCommission(900_719_925_474, 9_999).total).toBe(900_629_853_481);
  });

  it('matches exact integer arithmetic and sums back to the total', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 0, max: 10_000 }), (value, bps) => {
        const { total, buyerShare, sellerShare } = splitCommission(value, bps);
        expect(BigInt(total)).toBe((BigInt(value) * BigInt(bps)) / 10_000n);
        expect(buyerShare + sellerShare).toBe(total);
        expect(buyerShare - sellerShare).toBe(total % 2);
        expect(sellerShare).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  it('refuses fractions, negatives and out-of-range rates', () => {
    expect(() => splitCommission(1.5, 100)).toThrow(RangeError);
    expect(() => splitCommission(-1, 100)).toThrow(RangeError);
    expect(() => splitCommission(Number.MAX_SAFE_INTEGER + 1, 100)).toThrow(RangeError);
    expect(() => splitCommission(100, 10_001)).toThrow(RangeError);
    expect(() => splitCommission(100, -1)).toThrow(RangeError);
    expect(() => splitCommission(100, 2.5)).toThrow(RangeError);
  });
});

describe('fillAmounts', () => {
  it('escrows value plus the buyer share, and pays the seller value less the seller share', () => {
    // 100 units at 12 credits with 2.5% commission
    expect(fillAmounts(100, 12_000_000, 250)).toEqual({
      value: 1_200_000_000,
      total: 30_000_000,
      buyerShare: 15_000_000,
      sellerShare: 15_000_000,
      buyerPays: 1_215_000_000,
      sellerGets: 1_185_000_000,
    });
    expect(fillAmounts(3, 333, 150)).toEqual({
      value: 999,
      total: 14,
      buyerShare: 7,
      sellerShare: 7,
      buyerPays: 1_006,
      sellerGets: 992,
    });
  });

  it('escrow covers the seller and the community exactly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 1_000_000_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        (quantity, price, bps) => {
          const a = fillAmounts(quantity, price, bps);
          expect(a.value).toBe(quantity * price);
          expect(a.buyerPays).toBe(a.sellerGets + a.total);
          expect(a.buyerPays - a.value).toBe(a.buyerShare);
          expect(a.value - a.sellerGets).toBe(a.sellerShare);
        },
      ),
    );
  });

  it('throws RangeError when the value is not a safe integer', () => {
    expect(() => fillAmounts(2 ** 27, 2 ** 27, 100)).toThrow(RangeError);
    expect(() => fillAmounts(Number.MAX_SAFE_INTEGER, 2, 0)).toThrow(RangeError);
    expect(() => fillAmounts(1.5, 2, 0)).toThrow(RangeError);
    expect(() => fillAmounts(Number.MAX_SAFE_INTEGER, 1, 10_000)).toThrow(RangeError); // value + buyer share overflows
    expect(fillAmounts(Number.MAX_SAFE_INTEGER, 1, 0).value).toBe(Number.MAX_SAFE_INTEGER);
  });
});
