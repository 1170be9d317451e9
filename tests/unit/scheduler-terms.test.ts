import { describe, expect, it } from 'vitest';
import { mayServe, type MemJob } from '@/server/compute/feeder';
import { planMemory, MB_US_PER_MB_HOUR } from '@/server/compute/terms';
import { getKernel, type AnyKernel } from '@/workers/kernels';

const job = (over: Partial<Pick<MemJob, 'workingSetMb' | 'memoryPrice' | 'memoryFromContract' | 'onlyMemberId'>> & { price?: number } = {}) => ({
  workingSetMb: over.workingSetMb ?? 0,
  memoryPrice: over.memoryPrice ?? 0,
  memoryFromContract: over.memoryFromContract ?? false,
  onlyMemberId: over.onlyMemberId ?? null,
  order: { price: over.price ?? 2_000 } as MemJob['order'],
});
const donor = { memberId: 'm1' };

describe('the memory gate and a spent contract, in the feeder', () => {
  it('a job with a working set goes only to devices selling at least that much, at a price it pays', () => {
    const j = job({ workingSetMb: 64, memoryPrice: 10 });
    expect(mayServe(j, donor, undefined, 1_000)).toBe(false);
    expect(mayServe(j, donor, { orderId: 'o', mb: 63, price: 1 }, 1_000)).toBe(false);
    expect(mayServe(j, donor, { orderId: 'o', mb: 64, price: 11 }, 1_000)).toBe(false);
    expect(mayServe(j, donor, { orderId: 'o', mb: 64, price: 10 }, 1_000)).toBe(true);
    expect(mayServe(j, donor, { orderId: 'o', mb: 64, price: 10 }, 2_001)).toBe(false); // the work units' floor still holds
  });

  it("a job without a working set ignores memory; a job spending a contract goes to the contract's seller only, at no price per unit", () => {
    expect(mayServe(job(), donor, undefined, 1_000)).toBe(true);
    const funded = job({ onlyMemberId: 'seller', price: 0 });
    expect(mayServe(funded, { memberId: 'seller' }, undefined, 1_000)).toBe(true);
    expect(mayServe(funded, donor, undefined, 1_000)).toBe(false);
  });

  it("a job whose memory a contract pays goes to the seller's devices that sell the working set, at any memory price", () => {
    const j = job({ workingSetMb: 64, memoryFromContract: true, onlyMemberId: 'seller', price: 2_000 });
    expect(mayServe(j, { memberId: 'seller' }, undefined, 1_000)).toBe(false);
    expect(mayServe(j, { memberId: 'seller' }, { orderId: 'o', mb: 63, price: 1 }, 1_000)).toBe(false);
    expect(mayServe(j, { memberId: 'seller' }, { orderId: 'o', mb: 64, price: 999_999 }, 1_000)).toBe(true);
    expect(mayServe(j, donor, { orderId: 'o', mb: 64, price: 1 }, 1_000)).toBe(false);
  });
});

describe("a memory job's hold", () => {
  const hashJoin: AnyKernel = getKernel('hash-join');
  it('covers the most every replica can be paid, in whole MB·hours; none for kernels without a working set', () => {
    const params = hashJoin.paramsSchema.parse({ seed: 1, workingSetMb: 64, probePerBuild: 2 });
    const inputs = hashJoin.split(params, 8);
    const plan = planMemory(hashJoin, params, inputs, 2, 500)!;
    const bound = inputs.reduce((sum: number, u) => sum + 64 * hashJoin.maxCpuUs!(u), 0) * 3;
    expect(plan).toEqual({ workingSetMb: 64, memoryPrice: 500, quantity: Math.ceil(bound / MB_US_PER_MB_HOUR) });
    expect(() => planMemory(hashJoin, params, inputs, 2, undefined)).toThrow(/price you pay per MB·hour/);
    const pi: AnyKernel = getKernel('montecarlo-pi');
    expect(planMemory(pi, { samples: 10, seed: 1 }, [], 2, undefined)).toBeNull();
    expect(() => planMemory(pi, { samples: 10, seed: 1 }, [], 2, 5)).toThrow(/no memory price/);
  });
});

describe("the donor's memory offer", () => {
  it('offers only what the device has, and keeps a stored preference to the allowed steps', async () => {
    const { memoryChoices, normalizePrefs, DEFAULT_PREFS } = await import('@/app/_lib/donor-rules');
    expect(memoryChoices(undefined)).toEqual([0, 128, 256, 512, 1024, 2048]);
    expect(memoryChoices(0.5)).toEqual([0, 128, 256, 512]);
    expect(memoryChoices(0.25)).toEqual([0, 128, 256]);
    expect(normalizePrefs({}).memoryMb).toBe(DEFAULT_PREFS.memoryMb);
    expect(normalizePrefs({ memoryMb: 700 }).memoryMb).toBe(512);
    expect(normalizePrefs({ memoryMb: 'lots' }).memoryMb).toBe(DEFAULT_PREFS.memoryMb);
  });
});
