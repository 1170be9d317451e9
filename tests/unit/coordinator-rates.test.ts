import { describe, expect, it } from 'vitest';
import { RATE_FIELDS, rateMicro, withFigures } from '@/app/communities/[slug]/coordinator/rate-fields';
import { defaultValuationRates, valuationRatesSchema } from '@/server/valuation/rates';

describe('coordinator rate fields', () => {
  it('reads the rates as credits for amounts people know: 1,000 MIPS, a GB', () => {
    const byId = Object.fromEntries(RATE_FIELDS.map((f) => [f.id, rateMicro(defaultValuationRates, f)]));
    expect(byId['compute.perMipsHour']).toBe(100_000); // 100 µ per MIPS-hour = 0.1 credit per 1,000 MIPS
    expect(byId['memory.perMbHour']).toBe(20_480); // 20 µ per MB-hour = 0.02048 credit per GB
    expect(byId['peripheral.perCameraHour']).toBe(20_000);
  });

  it('writes a changed figure back as the rate per unit, keeps the others exactly, bumps the version, and stays valid', () => {
    const next = withFigures(defaultValuationRates, { 'compute.perMipsHour': 250_000, 'memory.perMbHour': 20_480, 'storage.perMbHour': 2048 });
    expect(next.compute.perMipsHour).toBe(250);
    expect(next.memory.perMbHour).toBe(20);
    expect(next.storage.perMbHour).toBe(2);
    expect(next.compute.perMflopsHour).toBe(defaultValuationRates.compute.perMflopsHour);
    expect(next.version).toBe(defaultValuationRates.version + 1);
    expect(defaultValuationRates.compute.perMipsHour).toBe(100);
    expect(valuationRatesSchema.safeParse(next).success).toBe(true);
  });
});

describe('pool offer presets', () => {
  it('are balanced at the community’s rates: the pool gives at least what it asks for, and less than one unit more of either side', async () => {
    const { POOL_PRESETS, legsValue, presetLegs } = await import('@/app/communities/[slug]/coordinator/pool-offers');
    const dear = withFigures(defaultValuationRates, { 'network.perMbpsHour': 50_000 });
    for (const rates of [defaultValuationRates, dear]) {
      for (const preset of POOL_PRESETS) {
        const { give, want } = presetLegs(preset, rates);
        expect(give).toHaveLength(1);
        expect(Number.isInteger(give[0]!.quantity) && give[0]!.quantity >= 1).toBe(true);
        const given = legsValue(give, rates);
        const asked = legsValue(want, rates);
        expect(given).toBeGreaterThanOrEqual(asked);
        if (give[0]!.quantity > 1) expect(legsValue([{ ...give[0]!, quantity: give[0]!.quantity - 1 }], rates)).toBeLessThan(asked);
        const oneEach = Math.max(legsValue([{ ...give[0]!, quantity: 1 }], rates), legsValue([{ ...want[0]!, quantity: 1 }], rates));
        expect(given - asked).toBeLessThan(oneEach);
      }
    }
    // the categories of issue 13: network for compute and memory, credits or network for files and peripherals
    expect(POOL_PRESETS.map((p) => `${p.give.category}>${p.want[0]!.category}`)).toEqual([
      'NETWORK>COMPUTE', 'NETWORK>MEMORY', 'MONEY>FILE', 'NETWORK>FILE', 'MONEY>PERIPHERAL', 'NETWORK>PERIPHERAL',
    ]);
  });
});
