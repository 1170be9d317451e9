import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jobCostFits, submitJobInput } from '@/server/compute/job-input';
import { fillAmounts } from '@/server/market/commission';
import { MAX_QUANTITY, orderCostFits, placeOrderInput } from '@/server/market/order-input';
import { holdFor } from '@/server/market/reservation';
import { MAX_COMMISSION_BPS, MAX_MICRO } from '@/server/money';

const window = { windowStart: '2026-12-06T10:00:00Z', windowEnd: '2026-12-06T11:00:00Z' };
const order = (quantity: number, price: number, limit?: number) =>
  placeOrderInput.safeParse({ communityId: 'c', side: 'BUY', category: 'COMPUTE', unit: 'CPU_SECOND', quantity, price, ...window, ...(limit ? { negotiation: { mode: 'AUTO', limit } } : {}) });

describe('amount bounds', () => {
  it('refuses an order whose quantity × price (with commission) passes MAX_MICRO, naming what to lower', () => {
    const refused = order(1e9, 1e15);
    expect(refused.success).toBe(false);
    expect(refused.error?.issues.map((i) => i.message)).toContain(
      'An order can cost at most 1,000,000,000 credits (quantity × price, with commission): lower the quantity or the price.',
    );
    expect(order(2, 1_000_000, 1e15).error?.issues[0]?.message).toMatch(/lower the quantity or the ceiling/);
    expect(order(1_000, 800_000_000_000).success).toBe(true);
    expect(order(1, MAX_MICRO).success).toBe(false);
  });

  it('keeps every hold, fill value and commission of an accepted order a safe integer within 1.25 × MAX_MICRO', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_QUANTITY }), fc.integer({ min: 1, max: MAX_MICRO }), fc.integer({ min: 0, max: MAX_COMMISSION_BPS }), (quantity, price, bps) => {
        fc.pre(orderCostFits(quantity, price));
        const hold = holdFor(quantity, price, bps);
        const fill = fillAmounts(quantity, price, bps);
        expect(hold).toBeLessThanOrEqual(MAX_MICRO);
        expect(fill.buyerPays).toBeLessThanOrEqual(hold);
        expect(Number.isSafeInteger(fill.value + fill.total)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses a job whose price per unit × units × (replication + 1) passes MAX_MICRO', () => {
    const job = { communityId: 'c', kernel: 'mandelbrot', params: {}, units: 4, replication: 2, quorum: 2, deadline: window.windowEnd };
    const refused = submitJobInput.safeParse({ ...job, pricePerUnit: 1e15 });
    expect(refused.error?.issues.map((i) => i.message).join(' ')).toMatch(/A job can cost at most 1,000,000,000 credits/);
    expect(submitJobInput.safeParse({ ...job, pricePerUnit: 1_000 }).success).toBe(true);
    expect(jobCostFits(1024, 5, Math.floor(MAX_MICRO / 1024 / 6 / 1.25) - 1)).toBe(true);
    expect(jobCostFits(1024, 5, Math.ceil(MAX_MICRO / 1024 / 6))).toBe(false);
  });

  it('refuses job parameters nested past the limit or carrying NUL at any depth, without overflowing the stack', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = { a: deep };
    let nul: unknown = 'a\u0000b';
    for (let i = 0; i < 40; i++) nul = [nul];
    const job = { communityId: 'c', kernel: 'custom', units: 1, replication: 2, quorum: 2, deadline: window.windowEnd, pricePerUnit: 1 };
    for (const params of [deep, { code: 'x', inputs: [nul] }, { code: 'x', inputs: [{ ['k\uD800']: 1 }] }]) {
      const result = submitJobInput.safeParse({ ...job, params });
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.path).toEqual(['params']);
    }
  });
});
