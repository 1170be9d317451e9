import { describe, expect, it } from 'vitest';
import { checkComputeSells } from '@/server/compute/donation';
import { resultsTitle } from '@/server/compute/results-device';
import { DomainError } from '@/server/errors';
import { placementInput, EMPTY_PLACEMENT } from '@/app/jobs/new/placement-fields';

describe("a donor's standing sells by measure", () => {
  it('takes one sell per unit, each within the bounds of any order', () => {
    expect(() => checkComputeSells([{ unit: 'GFLOP', quantity: 10, price: 1_000_000 }, { unit: 'CPU_SECOND', quantity: 3600, price: 10_000 }])).not.toThrow();
    expect(() => checkComputeSells([])).not.toThrow();
    const twice = () => checkComputeSells([{ unit: 'GFLOP', quantity: 1, price: 1 }, { unit: 'GFLOP', quantity: 2, price: 1 }]);
    expect(twice).toThrow(DomainError);
    expect(twice).toThrow(/once each/);
    expect(() => checkComputeSells([{ unit: 'GFLOP', quantity: 1_000_000_000, price: 1_000_000_000_000 }])).toThrow(/at most/);
  });
});

describe('results sent to a device', () => {
  it("names the item after the job, shortened to fit an item's title", () => {
    expect(resultsTitle('Pi')).toBe('Results of job "Pi"');
    const long = resultsTitle('x'.repeat(200));
    expect(long.length).toBeLessThanOrEqual(120);
    expect(long.endsWith('…"')).toBe(true);
  });

  it('the new-job form sends the chosen device with the results, and nothing when none is chosen', () => {
    expect(placementInput(EMPTY_PLACEMENT, 'mandelbrot')).toEqual({});
    expect(placementInput({ ...EMPTY_PLACEMENT, toDeviceId: 'dev1' }, 'mandelbrot')).toEqual({ results: { keepFile: true, toDeviceId: 'dev1' } });
    expect(placementInput({ ...EMPTY_PLACEMENT, keepFile: false, toDeviceId: 'dev1', url: 'https://example.org/r' }, 'mandelbrot')).toEqual({ results: { keepFile: false, url: 'https://example.org/r', toDeviceId: 'dev1' } });
  });
});
