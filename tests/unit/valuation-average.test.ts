import { describe, expect, it } from 'vitest';
import { addMeasurement, averageValuation, MEASUREMENTS_KEPT, median, parseHistory, type Measurement } from '@/app/device/valuation-average';
import { categoryFigure, sizeText } from '@/app/device/valuation-figures';

const at = (minute: number) => new Date(Date.UTC(2026, 11, 6, 12, minute)).toISOString();
const measured = (minute: number, compute: number, network = 100_000, mips = 2000): Measurement => ({
  at: at(minute),
  categories: {
    COMPUTE: { creditsPerHour: compute, quantities: { cores: 8, mips, cpuSecondsPerHour: 28_800 } },
    NETWORK: { creditsPerHour: network, quantities: { throughputKbps: 12_500, rttMs: 40 } },
  },
});

describe('median', () => {
  it('takes the middle value, the mean of the middle two for an even count, rounded down, ignoring non-finite values', () => {
    expect(median([])).toBe(0);
    expect(median([7])).toBe(7);
    expect(median([5, 1, 3])).toBe(3);
    expect(median([1, 2, 3, 10])).toBe(2);
    expect(median([4, 5])).toBe(4);
    expect(median([3, Number.NaN, 1, Number.POSITIVE_INFINITY, 2])).toBe(2);
  });
});

describe('averageValuation', () => {
  it('steadies the figures that jumped 4.67 → 2.69 → 3.39 → 3.88 credits/h: the median per category, and how many measurements', () => {
    let history: Measurement[] = [];
    for (const [i, micro] of [4_670_000, 2_690_000, 3_390_000, 3_880_000].entries()) history = addMeasurement(history, measured(i, micro, 0));
    const averaged = averageValuation(history);
    expect(averaged.count).toBe(4);
    expect(averaged.categories.COMPUTE?.creditsPerHour).toBe(3_635_000);
    expect(averaged.totalPerHour).toBe(3_635_000);
    expect(averaged.range).toEqual({ low: 2_690_000, high: 4_670_000 });
    expect(averaged.latestAt).toBe(at(3));
    // one wild run moves it by one place in the order, not by its size
    const wild = averageValuation(addMeasurement(history, measured(4, 40_000_000, 0)));
    expect(wild.categories.COMPUTE?.creditsPerHour).toBe(3_880_000);
  });

  it('takes the median of each quantity too, and sums the categories for the total', () => {
    const history = [measured(0, 1_000_000, 100_000, 1000), measured(1, 2_000_000, 300_000, 3000), measured(2, 3_000_000, 200_000, 2000)];
    const averaged = averageValuation(history);
    expect(averaged.categories.COMPUTE?.quantities).toEqual({ cores: 8, mips: 2000, cpuSecondsPerHour: 28_800 });
    expect(averaged.categories.NETWORK?.creditsPerHour).toBe(200_000);
    expect(averaged.totalPerHour).toBe(2_200_000);
    expect(averaged.categories.MEMORY).toBeUndefined();
  });

  it(`rests on the newest ${MEASUREMENTS_KEPT} measurements only`, () => {
    let history: Measurement[] = [];
    for (let i = 0; i < 8; i++) history = addMeasurement(history, measured(i, (i + 1) * 1_000_000, 0));
    expect(history.map((m) => m.at)).toEqual([3, 4, 5, 6, 7].map(at));
    expect(averageValuation(history).categories.COMPUTE?.creditsPerHour).toBe(6_000_000);
    expect(averageValuation(history, 3).categories.COMPUTE?.creditsPerHour).toBe(7_000_000);
  });

  it('with no measurement says so: nothing averaged, zero total', () => {
    expect(averageValuation([])).toEqual({ categories: {}, totalPerHour: 0, count: 0, range: null, latestAt: null });
  });
});

describe('addMeasurement and parseHistory', () => {
  it('keeps one entry per measurement time (the same measurement seen twice counts once), oldest first', () => {
    const history = addMeasurement(addMeasurement([measured(2, 1)], measured(0, 2)), measured(2, 3));
    expect(history.map((m) => [m.at, m.categories.COMPUTE?.creditsPerHour])).toEqual([[at(0), 2], [at(2), 3]]);
  });

  it('reads back what was stored and drops what is not a measurement', () => {
    const stored = JSON.stringify([measured(0, 5), { at: 'yesterday', categories: {} }, { at: at(1) }, 7, null]);
    expect(parseHistory(stored)).toEqual([measured(0, 5)]);
    expect(parseHistory('{not json')).toEqual([]);
    expect(parseHistory(null)).toEqual([]);
    expect(parseHistory('{"at":1}')).toEqual([]);
  });
});

describe('categoryFigure', () => {
  it('says each category in familiar units, never the raw keys', () => {
    const figures = [
      categoryFigure('COMPUTE', { cores: 8, mips: 2000, mflops: 900, cpuSecondsPerHour: 28_800, gflopPerHour: 14_580 }),
      categoryFigure('MEMORY', { totalMb: 8192, offeredMb: 2048, readPs: 4000, writePs: 5000 }),
      categoryFigure('STORAGE', { quotaMb: 10_000, usageMb: 0, availableMb: 10_000, offeredMb: 512, readUs: 1, writeUs: 1 }),
      categoryFigure('PERIPHERAL', { widthPx: 1080, heightPx: 2400, colorDepth: 24, refreshHz: 60, cameras: 2, microphones: 1, touchPoints: 5, devices: 5 }),
      categoryFigure('FILE', { hostableMb: 512, servableMbPerHour: 5000, servedMbPerHour: 512 }),
      categoryFigure('NETWORK', { throughputKbps: 12_500, rttMs: 40, mbPerHour: 5364, pageViewsPerHour: 2682 }),
      categoryFigure('MONEY', { creditsPerCredit: 1, microcreditsPerCredit: 1_000_000, cashCentsPerCredit: 0 }),
    ];
    expect(figures).toEqual([
      '8 cores · 2,000 MIPS · 14,580 GFLOP/h',
      '2 GB of 8 GB offered',
      '512 MB offered',
      'screen 1,080×2,400 · 2 cameras · 1 microphone · touch',
      '512 MB/h of files served',
      '12.5 Mbit/s · 40 ms round trip',
      'Credits earn nothing by the hour',
    ]);
    for (const text of figures) expect(text).not.toMatch(/PerHour|Mb\b|Kbps|Px\b|[a-z][A-Z]/);
    expect(categoryFigure('COMPUTE', { cores: 1 })).toBe('1 core');
    expect(categoryFigure('NETWORK', {})).toBe('Not measured');
    expect(sizeText(1536)).toBe('1.5 GB');
  });
});
