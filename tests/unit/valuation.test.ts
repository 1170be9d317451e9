import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DeviceProfile } from '@/server/device/profile';
import {
  CATEGORIES,
  UNITS_BY_CATEGORY,
  creditsForUsage,
  defaultValuationRates,
  resolveRates,
  valuationRatesFullSchema,
  valuationRatesSchema,
  valueFile,
  valueProfile,
  type DeviceValuation,
  type ValuableProfile,
  type ValuationRates,
} from '@/server/valuation';

/** A mid-range phone on Wi-Fi; every figure picked so the worked examples come out exact. */
function phone(): DeviceProfile {
  return {
    version: 1,
    measuredAt: '2025-01-01T12:00:00.000Z',
    compute: { cores: 8, mips: 2000, mflops: 1000, durationMs: 320 },
    memory: { deviceMemoryGb: 4, readNs: 10, writeNs: 30, testedMb: 32 },
    storage: {
      quotaMb: 10_240,
      usageMb: 240,
      persisted: false,
      readMs: 2,
      writeMs: 8,
      testedBytes: 1024 * 1024,
      method: 'sync-access-handle',
    },
    peripherals: {
      screenWidth: 400,
      screenHeight: 800,
      pixelRatio: 2.5,
      colorDepth: 24,
      refreshHz: 120,
      cameras: 2,
      microphones: 1,
      speakers: 1,
      maxTouchPoints: 5,
    },
    network: {
      effectiveType: '4g',
      downlinkMbps: 10,
      rttMs: 50,
      type: 'wifi',
      saveData: false,
      measuredRttMs: 100,
      measuredThroughputMbps: 20,
      measuredBytes: 1024 * 1024,
    },
    platform: {
      os: 'android',
      browser: 'chrome',
      browserVersion: '126',
      mobile: true,
      battery: { level: 0.8, charging: true },
    },
  };
}

const rates = defaultValuationRates;

function perHour(profile: ValuableProfile, r: ValuationRates = rates) {
  const v = valueProfile(profile, r);
  return Object.fromEntries(CATEGORIES.map((c) => [c, v.categories[c].creditsPerHour]));
}

/** Every number anywhere in a valuation. */
function numbersOf(v: DeviceValuation): number[] {
  return [
    v.totalPerHour,
    v.ratesVersion,
    ...CATEGORIES.flatMap((c) => [v.categories[c].creditsPerHour, ...Object.values(v.categories[c].quantities)]),
  ];
}

describe('categories', () => {
  it('lists the seven categories, each with at least one unit', () => {
    expect(CATEGORIES).toEqual(['COMPUTE', 'MEMORY', 'STORAGE', 'PERIPHERAL', 'FILE', 'NETWORK', 'MONEY']);
    for (const c of CATEGORIES) expect(UNITS_BY_CATEGORY[c].length).toBeGreaterThan(0);
    expect(UNITS_BY_CATEGORY.COMPUTE).toEqual(['GFLOP', 'WORK_UNIT', 'CPU_SECOND']);
    expect(UNITS_BY_CATEGORY.MONEY).toEqual(['CREDIT']);
  });
});

describe('valueProfile: worked example (default rates)', () => {
  const v = valueProfile(phone(), rates);

  it('COMPUTE: (1 + 7 × 0.5) effective cores × (2000 MIPS × 100 µ + 1000 MFLOPS × 100 µ)', () => {
    expect(v.categories.COMPUTE.creditsPerHour).toBe(4.5 * 300_000);
    expect(v.categories.COMPUTE.quantities).toEqual({
      cores: 8,
      mips: 2000,
      mflops: 1000,
      cpuSecondsPerHour: 8 * 3600,
      gflopPerHour: 16_200, // 4.5 × 1000 MFLOP/s × 3600 s / 1000
    });
  });

  it('MEMORY: 4 GB × 25 % offered × 20 µ × (1 + 20 ns reference / 20 ns mean access)', () => {
    expect(v.categories.MEMORY.creditsPerHour).toBe(1024 * 20 * 2);
    expect(v.categories.MEMORY.quantities).toMatchObject({ totalMb: 4096, offeredMb: 1024, readPs: 10_000, writePs: 30_000 });
  });

  it('STORAGE: (10,240 − 240) MB × 50 % × 1 µ × (1 + 5 ms reference / 5 ms per MiB)', () => {
    expect(v.categories.STORAGE.creditsPerHour).toBe(5000 * 1 * 2);
    expect(v.categories.STORAGE.quantities).toMatchObject({ availableMb: 10_000, offeredMb: 5000, readUs: 2000, writeUs: 8000 });
  });

  it('PERIPHERAL: 2 MP × 2000 µ × (24/24 + 120/60)/2 + 2 cameras + 1 microphone + touch', () => {
    expect(v.categories.PERIPHERAL.creditsPerHour).toBe(2 * 2000 * 1.5 + 2 * 20_000 + 5000 + 2000);
    expect(v.categories.PERIPHERAL.quantities).toMatchObject({ widthPx: 1000, heightPx: 2000, devices: 5 });
  });

  it('NETWORK: 20 Mbit/s measured × 1000 µ × Wi-Fi 1 × (1 + 100/(100 + 100 ms))', () => {
    expect(v.categories.NETWORK.creditsPerHour).toBe(30_000);
    expect(v.categories.NETWORK.quantities).toEqual({
      throughputKbps: 20_000,
      rttMs: 100,
      mbPerHour: 8583, // 20e6 bit/s × 3600 s / 8 / 2^20
      pageViewsPerHour: 4291,
    });
  });

  it('FILE: min(5000 MB hostable, 8583 MB/h servable) × 5 µ', () => {
    expect(v.categories.FILE.creditsPerHour).toBe(25_000);
    expect(v.categories.FILE.quantities).toMatchObject({ hostableMb: 5000, servedMbPerHour: 5000 });
  });

  it('MONEY: the unit of account, 1:1, earns nothing per hour', () => {
    expect(v.categories.MONEY.creditsPerHour).toBe(0);
    expect(v.categories.MONEY.quantities).toEqual({ creditsPerCredit: 1, microcreditsPerCredit: 1_000_000, cashCentsPerCredit: 0 });
  });

  it('totals the categories and reports the rates version', () => {
    expect(v.totalPerHour).toBe(1_350_000 + 40_960 + 10_000 + 53_000 + 30_000 + 25_000);
    expect(v.ratesVersion).toBe(1);
    for (const c of CATEGORIES) {
      expect(v.categories[c].category).toBe(c);
      expect(v.categories[c].basis.length).toBeGreaterThan(10);
    }
  });

  it('is plain JSON', () => {
    expect(JSON.parse(JSON.stringify(v))).toEqual(v);
  });

  it('falls back to the reported downlink and RTT when nothing was measured', () => {
    const p = phone();
    p.network.measuredThroughputMbps = null;
    p.network.measuredRttMs = null;
    // 10 Mbit/s × 1000 µ × (1 + 100/150)
    expect(valueProfile(p, rates).categories.NETWORK.creditsPerHour).toBe(Math.floor(10_000 * (1 + 100 / 150)));
  });

  it('discounts cellular and data-saver connections', () => {
    const p = phone();
    p.network.type = 'cellular';
    p.network.saveData = true;
    expect(valueProfile(p, rates).categories.NETWORK.creditsPerHour).toBe(Math.floor(30_000 * 0.5 * 0.25));
  });

  it('uses the benchmarked buffer when the browser hides deviceMemory', () => {
    const p = phone();
    p.memory.deviceMemoryGb = null;
    expect(valueProfile(p, rates).categories.MEMORY.creditsPerHour).toBe(32 * 0.25 * 20 * 2);
  });
});

describe('valueFile', () => {
  it('values an item from its header: (item + MB × rate) × media type × description bonus', () => {
    const v = valueFile(
      { sizeBytes: 10 * 1024 * 1024, mediaType: 'text/plain', title: 'Notes', purpose: 'study', audience: ' ' },
      rates,
    );
    expect(v.credits).toBe((1000 + 10 * 100) * 2 * 1.2);
    expect(v.quantities).toEqual({ items: 1, mb: 10, kb: 10 * 1024 });
  });

  it('caps the size, treats unknown media types as other and never goes below zero', () => {
    const huge = valueFile({ sizeBytes: 1e15, mediaType: 'video/mp4' }, rates);
    expect(huge.credits).toBe(1000 + 4096 * 100);
    expect(valueFile({ sizeBytes: 0, mediaType: 'weird' }, rates).credits).toBe(1000);
    expect(valueFile({ sizeBytes: Number.NaN, mediaType: '' }, rates).credits).toBe(1000);
    expect(valueFile({ sizeBytes: -5, mediaType: 'image/png' }, rates).credits).toBe(1000);
  });

  it('grows with the size and the number of descriptive fields', () => {
    fc.assert(
      fc.property(fc.nat(1e10), fc.nat(1e10), fc.constantFrom('video/webm', 'text/csv', 'x/y'), (a, b, mediaType) => {
        const [small, big] = a <= b ? [a, b] : [b, a];
        expect(valueFile({ sizeBytes: big, mediaType }, rates).credits).toBeGreaterThanOrEqual(
          valueFile({ sizeBytes: small, mediaType }, rates).credits,
        );
        expect(valueFile({ sizeBytes: small, mediaType, title: 't' }, rates).credits).toBeGreaterThanOrEqual(
          valueFile({ sizeBytes: small, mediaType }, rates).credits,
        );
      }),
    );
  });
});

describe('creditsForUsage', () => {
  it('prorates per hour and rounds down', () => {
    expect(creditsForUsage(3600, 1)).toBe(1);
    expect(creditsForUsage(1_000_000, 90)).toBe(25_000);
    expect(creditsForUsage(1000, 1)).toBe(0);
    expect(creditsForUsage(-1000, 60)).toBe(0);
    expect(creditsForUsage(Number.NaN, 60)).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// properties

const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null, freq: 4 });
const real = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });

const profileArb: fc.Arbitrary<DeviceProfile> = fc.record({
  version: fc.constant(1 as const),
  measuredAt: fc.constant('2025-01-01T00:00:00Z'),
  compute: fc.record({
    cores: maybe(fc.integer({ min: 1, max: 1024 })),
    mips: maybe(real(0, 1e6)),
    mflops: maybe(real(0, 1e6)),
    durationMs: maybe(real(0, 60_000)),
  }),
  memory: fc.record({
    deviceMemoryGb: maybe(real(0, 4096)),
    readNs: maybe(real(0, 1e6)),
    writeNs: maybe(real(0, 1e6)),
    testedMb: maybe(real(0, 65_536)),
  }),
  storage: fc.record({
    quotaMb: maybe(real(0, 1e9)),
    usageMb: maybe(real(0, 1e9)),
    persisted: maybe(fc.boolean()),
    readMs: maybe(real(0, 600_000)),
    writeMs: maybe(real(0, 600_000)),
    testedBytes: maybe(fc.integer({ min: 0, max: 64 * 1024 * 1024 })),
    method: maybe(fc.constantFrom('sync-access-handle' as const, 'writable' as const)),
  }),
  peripherals: fc.record({
    screenWidth: maybe(fc.integer({ min: 0, max: 65_536 })),
    screenHeight: maybe(fc.integer({ min: 0, max: 65_536 })),
    pixelRatio: maybe(real(0, 16)),
    colorDepth: maybe(fc.integer({ min: 0, max: 64 })),
    refreshHz: maybe(real(0, 1000)),
    cameras: maybe(fc.integer({ min: 0, max: 64 })),
    microphones: maybe(fc.integer({ min: 0, max: 64 })),
    speakers: maybe(fc.integer({ min: 0, max: 64 })),
    maxTouchPoints: maybe(fc.integer({ min: 0, max: 256 })),
  }),
  network: fc.record({
    effectiveType: maybe(fc.constantFrom('slow-2g' as const, '2g' as const, '3g' as const, '4g' as const)),
    downlinkMbps: maybe(real(0, 100_000)),
    rttMs: maybe(real(0, 60_000)),
    type: maybe(fc.constantFrom('wifi' as const, 'cellular' as const, 'ethernet' as const, 'none' as const)),
    saveData: maybe(fc.boolean()),
    measuredRttMs: maybe(real(0, 60_000)),
    measuredThroughputMbps: maybe(real(0, 100_000)),
    measuredBytes: maybe(fc.integer({ min: 0, max: 4 * 1024 * 1024 })),
  }),
  platform: fc.record({
    os: fc.constantFrom('android' as const, 'ios' as const, 'linux' as const),
    browser: fc.constantFrom('chrome' as const, 'safari' as const),
    browserVersion: maybe(fc.string({ maxLength: 8 })),
    mobile: maybe(fc.boolean()),
    battery: maybe(fc.record({ level: real(0, 1), charging: fc.boolean() })),
  }),
});

type Section = 'compute' | 'memory' | 'storage' | 'peripherals' | 'network';
/** A parameter, the category it is valued in, which direction is "better", and its range. */
type Param = { section: Section; field: string; category: (typeof CATEGORIES)[number]; better: 'higher' | 'lower'; arb: fc.Arbitrary<number> };

const PARAMS: Param[] = [
  { section: 'compute', field: 'cores', category: 'COMPUTE', better: 'higher', arb: fc.integer({ min: 1, max: 1024 }) },
  { section: 'compute', field: 'mips', category: 'COMPUTE', better: 'higher', arb: real(0, 1e6) },
  { section: 'compute', field: 'mflops', category: 'COMPUTE', better: 'higher', arb: real(0, 1e6) },
  { section: 'memory', field: 'deviceMemoryGb', category: 'MEMORY', better: 'higher', arb: real(0, 4096) },
  { section: 'memory', field: 'testedMb', category: 'MEMORY', better: 'higher', arb: real(0, 65_536) },
  { section: 'memory', field: 'readNs', category: 'MEMORY', better: 'lower', arb: real(0, 1e6) },
  { section: 'memory', field: 'writeNs', category: 'MEMORY', better: 'lower', arb: real(0, 1e6) },
  { section: 'storage', field: 'quotaMb', category: 'STORAGE', better: 'higher', arb: real(0, 1e9) },
  { section: 'storage', field: 'usageMb', category: 'STORAGE', better: 'lower', arb: real(0, 1e9) },
  { section: 'storage', field: 'readMs', category: 'STORAGE', better: 'lower', arb: real(0, 600_000) },
  { section: 'storage', field: 'writeMs', category: 'STORAGE', better: 'lower', arb: real(0, 600_000) },
  { section: 'storage', field: 'testedBytes', category: 'STORAGE', better: 'higher', arb: fc.integer({ min: 0, max: 64 << 20 }) },
  { section: 'peripherals', field: 'screenWidth', category: 'PERIPHERAL', better: 'higher', arb: fc.integer({ min: 0, max: 65_536 }) },
  { section: 'peripherals', field: 'screenHeight', category: 'PERIPHERAL', better: 'higher', arb: fc.integer({ min: 0, max: 65_536 }) },
  { section: 'peripherals', field: 'pixelRatio', category: 'PERIPHERAL', better: 'higher', arb: real(0, 16) },
  { section: 'peripherals', field: 'colorDepth', category: 'PERIPHERAL', better: 'higher', arb: fc.integer({ min: 0, max: 64 }) },
  { section: 'peripherals', field: 'refreshHz', category: 'PERIPHERAL', better: 'higher', arb: real(0, 1000) },
  { section: 'peripherals', field: 'cameras', category: 'PERIPHERAL', better: 'higher', arb: fc.integer({ min: 0, max: 64 }) },
  { section: 'peripherals', field: 'microphones', category: 'PERIPHERAL', better: 'higher', arb: fc.integer({ min: 0, max: 64 }) },
  { section: 'peripherals', field: 'maxTouchPoints', category: 'PERIPHERAL', better: 'higher', arb: fc.integer({ min: 0, max: 256 }) },
  { section: 'network', field: 'measuredThroughputMbps', category: 'NETWORK', better: 'higher', arb: real(0, 100_000) },
  { section: 'network', field: 'downlinkMbps', category: 'NETWORK', better: 'higher', arb: real(0, 100_000) },
  { section: 'network', field: 'measuredRttMs', category: 'NETWORK', better: 'lower', arb: real(0, 60_000) },
  { section: 'network', field: 'rttMs', category: 'NETWORK', better: 'lower', arb: real(0, 60_000) },
];

function withField(profile: DeviceProfile, section: Section, field: string, value: number): DeviceProfile {
  return { ...profile, [section]: { ...profile[section], [field]: value } };
}

describe('valueProfile properties', () => {
  it.each(PARAMS.map((p) => [`${p.section}.${p.field} (${p.better} is better)`, p] as const))(
    'a better %s never lowers its category, nor the total',
    (_, param) => {
      fc.assert(
        fc.property(profileArb, param.arb, param.arb, (profile, a, b) => {
          const [low, high] = a <= b ? [a, b] : [b, a];
          const [worse, better] = param.better === 'higher' ? [low, high] : [high, low];
          const vWorse = valueProfile(withField(profile, param.section, param.field, worse), rates);
          const vBetter = valueProfile(withField(profile, param.section, param.field, better), rates);
          expect(vBetter.categories[param.category].creditsPerHour).toBeGreaterThanOrEqual(
            vWorse.categories[param.category].creditsPerHour,
          );
          expect(vBetter.totalPerHour).toBeGreaterThanOrEqual(vWorse.totalPerHour);
        }),
        { numRuns: 150 },
      );
    },
  );

  it('gives non-negative integers everywhere, for any profile', () => {
    fc.assert(
      fc.property(profileArb, (profile) => {
        for (const n of numbersOf(valueProfile(profile, rates))) {
          expect(Number.isInteger(n)).toBe(true);
          expect(n).toBeGreaterThanOrEqual(0);
        }
      }),
    );
  });

  it('clamps absurd and broken inputs instead of producing NaN or negatives', () => {
    const junk = fc.oneof(
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1, -1e300, 1e300, Number.MAX_VALUE),
      fc.double(),
    );
    const junkSection = (fields: readonly string[]) =>
      fc.record(Object.fromEntries(fields.map((f) => [f, fc.option(junk, { nil: null })])) as Record<string, fc.Arbitrary<number | null>>);
    const junkProfile = fc.record({
      compute: junkSection(['cores', 'mips', 'mflops']),
      memory: junkSection(['deviceMemoryGb', 'readNs', 'writeNs', 'testedMb']),
      storage: junkSection(['quotaMb', 'usageMb', 'readMs', 'writeMs', 'testedBytes']),
      peripherals: junkSection(['screenWidth', 'screenHeight', 'pixelRatio', 'colorDepth', 'refreshHz', 'cameras', 'microphones', 'maxTouchPoints']),
      network: junkSection(['downlinkMbps', 'rttMs', 'measuredRttMs', 'measuredThroughputMbps']),
    });
    fc.assert(
      fc.property(junkProfile, (profile) => {
        const v = valueProfile(profile as ValuableProfile, rates);
        for (const n of numbersOf(v)) {
          expect(Number.isInteger(n)).toBe(true);
          expect(n).toBeGreaterThanOrEqual(0);
        }
        expect(JSON.parse(JSON.stringify(v))).toEqual(v);
      }),
    );
  });

  it('scales with the rates: k × every rate of a category gives k × the value (to the µ)', () => {
    fc.assert(
      fc.property(profileArb, fc.integer({ min: 2, max: 10 }), (profile, k) => {
        const base = perHour(profile);
        const scaled = perHour(
          profile,
          resolveRates({
            compute: { perMipsHour: 100 * k, perMflopsHour: 100 * k },
            memory: { perMbHour: 20 * k },
            storage: { perMbHour: 1 * k },
            peripheral: { perMegapixelHour: 2000 * k, perCameraHour: 20_000 * k, perMicrophoneHour: 5000 * k, touchHour: 2000 * k },
            network: { perMbpsHour: 1000 * k },
            file: { perMbServedHour: 5 * k },
          }),
        );
        for (const c of CATEGORIES) {
          const b = base[c] ?? 0;
          const s = scaled[c] ?? 0;
          // floor(k·x) lies in [k·floor(x), k·floor(x) + k); one µ of slack for float rounding
          expect(s).toBeGreaterThanOrEqual(k * b - 1);
          expect(s).toBeLessThanOrEqual(k * b + k);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('missing measurements', () => {
  it('an empty profile is worth 0 in every category, without NaN', () => {
    const v = valueProfile({}, rates);
    for (const c of CATEGORIES) expect(v.categories[c].creditsPerHour).toBe(0);
    expect(v.totalPerHour).toBe(0);
    for (const n of numbersOf(v)) expect(Number.isInteger(n)).toBe(true);
    expect(v.categories.COMPUTE.quantities.cores).toBe(0);
  });

  it('a profile whose every nullable field is null is worth 0', () => {
    const p = phone();
    const nulls = (o: object) => Object.fromEntries(Object.keys(o).map((k) => [k, null]));
    const empty = {
      compute: nulls(p.compute),
      memory: nulls(p.memory),
      storage: nulls(p.storage),
      peripherals: nulls(p.peripherals),
      network: nulls(p.network),
    } as ValuableProfile;
    expect(valueProfile(empty, rates).totalPerHour).toBe(0);
  });

  it('a missing speed measurement drops only its bonus', () => {
    const p = phone();
    p.memory.readNs = null;
    p.memory.writeNs = null;
    p.storage.readMs = null;
    p.storage.writeMs = null;
    p.peripherals.refreshHz = null;
    p.network.measuredRttMs = null;
    p.network.rttMs = null;
    const v = perHour(p);
    expect(v.MEMORY).toBe(1024 * 20);
    expect(v.STORAGE).toBe(5000);
    expect(v.PERIPHERAL).toBe(2 * 2000 * 0.5 + 47_000);
    expect(v.NETWORK).toBe(20_000);
  });

  it('unknown cores count as one', () => {
    const p = phone();
    p.compute.cores = null;
    expect(perHour(p).COMPUTE).toBe(300_000);
  });
});

describe('rates', () => {
  it('the defaults are a complete, valid rate table', () => {
    expect(valuationRatesFullSchema.parse(defaultValuationRates)).toEqual(defaultValuationRates);
    expect(resolveRates()).toEqual(defaultValuationRates);
    expect(resolveRates(null)).toEqual(defaultValuationRates);
  });

  it('overrides lay over the defaults, nested tables included', () => {
    const r = resolveRates({ version: 7, compute: { perMipsHour: 300 }, network: { connectionTypeFactors: { cellular: 2 } } });
    expect(r.version).toBe(7);
    expect(r.compute).toEqual({ ...defaultValuationRates.compute, perMipsHour: 300 });
    expect(r.network.connectionTypeFactors).toEqual({ ...defaultValuationRates.network.connectionTypeFactors, cellular: 2 });
    expect(r.network.perMbpsHour).toBe(defaultValuationRates.network.perMbpsHour);
    const v = valueProfile(phone(), r);
    expect(v.ratesVersion).toBe(7);
    expect(v.categories.COMPUTE.creditsPerHour).toBe(4.5 * (2000 * 300 + 1000 * 100));
  });

  it('doubling the compute rates doubles the worked example', () => {
    const r = resolveRates({ compute: { perMipsHour: 200, perMflopsHour: 200 } });
    expect(valueProfile(phone(), r).categories.COMPUTE.creditsPerHour).toBe(2_700_000);
    expect(valueProfile(phone(), resolveRates({ money: { cashCentsPerCredit: 5 } })).categories.MONEY.quantities.cashCentsPerCredit).toBe(5);
  });

  it('the overrides schema accepts partial tables and rejects unbounded, negative or unknown rates', () => {
    expect(valuationRatesSchema.safeParse({}).success).toBe(true);
    expect(valuationRatesSchema.safeParse({ storage: { perMbHour: 3 } }).success).toBe(true);
    expect(valuationRatesSchema.safeParse({ file: { mediaTypeFactors: { video: 2 } } }).success).toBe(true);
    expect(valuationRatesSchema.safeParse({ storage: { perMbHour: -1 } }).success).toBe(false);
    expect(valuationRatesSchema.safeParse({ compute: { perMipsHour: 1e12 } }).success).toBe(false);
    expect(valuationRatesSchema.safeParse({ compute: { extraCoreWeight: 2 } }).success).toBe(false);
    expect(valuationRatesSchema.safeParse({ compute: { perMipsHour: Number.POSITIVE_INFINITY } }).success).toBe(false);
    expect(valuationRatesSchema.safeParse({ compute: { perMipHour: 5 } }).success).toBe(false);
    expect(valuationRatesSchema.safeParse({ bogus: {} }).success).toBe(false);
    expect(valuationRatesSchema.safeParse({ version: 1.5 }).success).toBe(false);
  });

  it('stored JSON that does not parse gives the defaults', () => {
    expect(resolveRates({ compute: { perMipsHour: 'lots' } })).toEqual(defaultValuationRates);
    expect(resolveRates('garbage')).toEqual(defaultValuationRates);
  });
});
