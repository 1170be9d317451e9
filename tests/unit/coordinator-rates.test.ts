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
