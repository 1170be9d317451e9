import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KERNELS, KERNEL_NAMES, KernelError, findKernel, getKernel, type AnyKernel } from '@/workers/kernels';
import {
  customCodeHash,
  customKernel,
  MAX_CODE_BYTES,
  MAX_INPUTS,
  MAX_OUTPUT_BYTES,
} from '@/workers/kernels/custom';
import {
  MAX_TILE,
  decodeCounts,
  escapeCount,
  mandelbrotKernel,
  pixelPoint,
  renderTile,
  type MandelbrotParams,
} from '@/workers/kernels/mandelbrot';
import {
  MAX_UNIT_SAMPLES,
  counterAt,
  countHits,
  montecarloPiKernel,
  splitmix64Mix,
} from '@/workers/kernels/montecarlo-pi';
import { MAX_UNIT_SPAN, isqrt, primeSieveKernel, sieveRange } from '@/workers/kernels/prime-sieve';
import { sha256, sha256Hex } from '@/workers/kernels/sha256';
import {
  MAX_NONCES_PER_UNIT,
  MAX_UNIT_NONCES,
  prefixBytes,
  searchNonces,
  sha256NonceKernel,
} from '@/workers/kernels/sha256-nonce';
import { checkJson, decodeBase64, encodeBase64, isBase64OfLength, stableStringify, utf8Length } from '@/workers/kernels/shared';
import type { Json } from '@/workers/kernels/types';

/** Runs a whole job through a kernel: parse, split, run each unit, check outputs, assemble. */
function runJob(kernel: AnyKernel, rawParams: unknown, units: number): Json {
  const params = kernel.paramsSchema.parse(rawParams);
  const outputs = kernel.split(params, units).map((u) => {
    const wire: unknown = JSON.parse(JSON.stringify(kernel.run(u)));
    return kernel.outputSchema.parse(wire);
  });
  return kernel.assemble(params, outputs);
}

/** Why `ranges` do not partition [lo, hi) in order into non-empty pieces of at most `max`, or null. */
function partitionProblem(ranges: Array<{ lo: number; hi: number }>, lo: number, hi: number, max: number): string | null {
  let next = lo;
  for (const [i, r] of ranges.entries()) {
    if (r.lo !== next) return `unit ${i} starts at ${r.lo}, expected ${next}`;
    if (r.hi <= r.lo || r.hi - r.lo > max) return `unit ${i} has size ${r.hi - r.lo}`;
    next = r.hi;
  }
  return next === hi ? null : `units end at ${next}, expected ${hi}`;
}

const nodeSha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

describe('kernel catalog', () => {
  it('has one kernel per name, under its own name', () => {
    expect(Object.keys(KERNELS).sort()).toEqual([...KERNEL_NAMES].sort());
    for (const name of KERNEL_NAMES) {
      expect(getKernel(name).name).toBe(name);
      expect(findKernel(name)).toBe(KERNELS[name]);
    }
  });

  it('rejects unknown names', () => {
    expect(findKernel('bitcoin')).toBeNull();
    expect(() => getKernel('bitcoin')).toThrow(KernelError);
  });

  it('keeps the types of a kernel named by a literal', () => {
    const k = getKernel('prime-sieve');
    const units = k.split({ upTo: 1000, segmentSize: 4096 }, 2);
    expect(units[0]?.segmentSize).toBe(4096);
    expect(k.run(units[0]!).count).toBe(168);
  });
});

describe('sha256', () => {
  it('matches the FIPS 180-4 examples', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('matches node:crypto on every length around the block and padding boundaries', () => {
    const data = new Uint8Array(300).map((_, i) => (i * 131 + 7) & 255);
    for (let n = 0; n <= data.length; n++) {
      const slice = data.subarray(0, n);
      expect(sha256Hex(slice), `length ${n}`).toBe(nodeSha256(slice));
    }
  });

  it('matches node:crypto on random messages and strings', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => sha256Hex(bytes) === nodeSha256(bytes)),
      { numRuns: 300 },
    );
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 100 }), (s) => sha256Hex(s) === nodeSha256(s)));
  });

  it('hashes a megabyte', () => {
    const big = new Uint8Array(1 << 20).map((_, i) => i ^ (i >>> 8));
    expect(Buffer.from(sha256(big)).toString('hex')).toBe(nodeSha256(big));
  });
});

describe('mandelbrot', () => {
  const view = (over: Partial<MandelbrotParams> = {}): MandelbrotParams => ({
    width: 200,
    height: 120,
    maxIterations: 300,
    view: { centerX: -0.6, centerY: 0.1, scale: 2.8 },
    ...over,
  });

  it('knows points inside and outside the set', () => {
    expect(escapeCount(0, 0, 1000)).toBe(1000);
    expect(escapeCount(-1, 0, 1000)).toBe(1000); // the period-2 bulb's centre
    expect(escapeCount(0, 1, 1000)).toBe(1000); // 0 -> i -> -1+i -> -i -> -1+i ...
    expect(escapeCount(-2, 0, 1000)).toBe(1000); // the tip: z stays at 2
    expect(escapeCount(2, 2, 1000)).toBe(1);
    expect(escapeCount(0.5, 0, 1000)).toBe(5); // 0, .5, .75, 1.0625, 1.6289..., 3.15...
    expect(escapeCount(-2.1, 0, 1000)).toBe(1); // |z1|^2 = 4.41
    expect(escapeCount(1, 0, 1000)).toBe(3); // 0, 1, 2, 5
    expect(escapeCount(0.5, 0, 4)).toBe(4); // capped at maxIterations
  });

  it('maps the image centre to the view centre', () => {
    const image = { width: 64, height: 48, centerX: 0.25, centerY: -0.5, scale: 2 };
    expect(pixelPoint(32, 24, image)).toEqual({ cr: 0.25, ci: -0.5 });
    expect(pixelPoint(0, 0, image)).toEqual({ cr: 0.25 - 1, ci: -0.5 + 24 * (2 / 64) });
  });

  it('renders the pixel at the view centre and a far corner as the point formula says', () => {
    const p = view({ width: 64, height: 64, view: { centerX: 0, centerY: 0, scale: 8 } });
    const [tile] = mandelbrotKernel.split(p, 1);
    const counts = decodeCounts(mandelbrotKernel.run(tile!).counts);
    expect(counts[32 * 64 + 32]).toBe(p.maxIterations); // (0, 0) is inside
    // pixel (48, 16) is the point 2 + 2i: it escapes at iteration 1
    expect(pixelPoint(48, 16, { width: 64, height: 64, centerX: 0, centerY: 0, scale: 8 })).toEqual({ cr: 2, ci: 2 });
    expect(counts[16 * 64 + 48]).toBe(1);
    for (let py = 0; py < 64; py += 5) {
      for (let px = 0; px < 64; px += 3) {
        const { cr, ci } = pixelPoint(px, py, { width: 64, height: 64, centerX: 0, centerY: 0, scale: 8 });
        expect(counts[py * 64 + px]).toBe(escapeCount(cr, ci, p.maxIterations));
      }
    }
  });

  it('is symmetric about the real axis, bit for bit', () => {
    const p = view({ width: 96, height: 64, view: { centerX: -0.75, centerY: 0, scale: 3 } });
    const unit = { ...mandelbrotKernel.split(p, 1)[0]!, x: 0, y: 0, w: 96, h: 64 };
    const counts = decodeCounts(mandelbrotKernel.run(unit).counts);
    for (let py = 1; py < 64; py++) {
      for (let px = 0; px < 96; px++) expect(counts[py * 96 + px]).toBe(counts[(64 - py) * 96 + px]);
    }
  });

  it('assembles tiles into the image computed as one unit, whatever the number of tiles', () => {
    const p = view();
    const whole = mandelbrotKernel.run({
      x: 0,
      y: 0,
      w: p.width,
      h: p.height,
      width: p.width,
      height: p.height,
      maxIterations: p.maxIterations,
      ...p.view,
    }).counts;
    for (const units of [1, 2, 5, 12, 30, 1000]) {
      const result = runJob(mandelbrotKernel, p, units);
      expect(result).toMatchObject({ width: 200, height: 120, maxIterations: 300 });
      expect((result as { counts: string }).counts, `${units} units`).toBe(whole);
    }
  });

  it('rejects outputs that leave gaps, overlap or overflow', () => {
    const p = view();
    const outputs = mandelbrotKernel.split(p, 12).map((u) => mandelbrotKernel.run(u));
    expect(() => mandelbrotKernel.assemble(p, outputs.slice(1))).toThrow(KernelError);
    expect(() => mandelbrotKernel.assemble(p, [...outputs, outputs[0]!])).toThrow(/twice/);
    const bytes = decodeBase64(outputs[0]!.counts);
    bytes[0] = 255;
    bytes[1] = 255;
    const forged = { ...outputs[0]!, counts: encodeBase64(bytes) };
    expect(() => mandelbrotKernel.assemble(p, [forged, ...outputs.slice(1)])).toThrow(/maxIterations/);
  });

  it('splits any image into square-ish tiles covering each pixel exactly once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 16, max: 2048 }),
        fc.integer({ min: 16, max: 2048 }),
        fc.integer({ min: 1, max: 5000 }),
        (width, height, units) => {
          const units_ = mandelbrotKernel.split(view({ width, height }), units);
          const seen = new Uint8Array(width * height);
          for (const u of units_) {
            for (let j = 0; j < u.h; j++) for (let i = 0; i < u.w; i++) seen[(u.y + j) * width + u.x + i]! += 1;
          }
          // square tiles of one side, cut short only at the right and bottom edges
          const side = Math.max(...units_.map((u) => Math.max(u.w, u.h)));
          expect(side).toBeLessThanOrEqual(MAX_TILE);
          expect(
            units_.every(
              (u) =>
                u.x + u.w <= width &&
                u.y + u.h <= height &&
                (u.w === side || u.x + u.w === width) &&
                (u.h === side || u.y + u.h === height),
            ),
          ).toBe(true);
          expect(seen.every((v) => v === 1)).toBe(true);
          expect(units_.length).toBeLessThanOrEqual(4096);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('rejects parameters out of bounds', () => {
    const bad: unknown[] = [
      { ...view(), width: 15 },
      { ...view(), height: 2049 },
      { ...view(), width: 100.5 },
      { ...view(), maxIterations: 5001 },
      { ...view(), maxIterations: 15 },
      { ...view(), view: { centerX: Infinity, centerY: 0, scale: 3 } },
      { ...view(), view: { centerX: 0, centerY: Number.NaN, scale: 3 } },
      { ...view(), view: { centerX: 5, centerY: 0, scale: 3 } },
      { ...view(), view: { centerX: 0, centerY: 0, scale: 0 } },
      { ...view(), view: { centerX: 0, centerY: 0, scale: 17 } },
      { ...view(), extra: 1 },
      { width: 100, height: 100, maxIterations: 100 },
    ];
    for (const p of bad) expect(mandelbrotKernel.paramsSchema.safeParse(p).success, JSON.stringify(p)).toBe(false);
    expect(mandelbrotKernel.paramsSchema.safeParse(view()).success).toBe(true);
  });

  it('rejects unit outputs that do not fit their tile', () => {
    const o = mandelbrotKernel.run(mandelbrotKernel.split(view(), 12)[0]!);
    const schema = mandelbrotKernel.outputSchema;
    expect(schema.safeParse(o).success).toBe(true);
    expect(schema.safeParse({ ...o, w: o.w + 1 }).success).toBe(false);
    expect(schema.safeParse({ ...o, counts: o.counts.slice(4) }).success).toBe(false);
    expect(schema.safeParse({ ...o, counts: `!${o.counts.slice(1)}` }).success).toBe(false);
    expect(schema.safeParse({ ...o, x: 2040, w: 9 }).success).toBe(false);
  });

  it('rejects unit inputs outside their image', () => {
    const u = mandelbrotKernel.split(view(), 12)[0]!;
    expect(() => mandelbrotKernel.run({ ...u, x: 190, w: 20 })).toThrow();
    expect(() => mandelbrotKernel.run({ ...u, w: 257 })).toThrow();
  });

  it('renders the same bytes twice', () => {
    const u = mandelbrotKernel.split(view(), 3)[1]!;
    expect(Buffer.from(renderTile(u)).equals(Buffer.from(renderTile(u)))).toBe(true);
  });
});

/** SplitMix64 with BigInt, straight from the published algorithm. */
const MASK64 = (1n << 64n) - 1n;
const GAMMA = 0x9e3779b97f4a7c15n;
function mixBig(z: bigint): bigint {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}
function hitsBig(seed: number, offset: number, count: number): number {
  let hits = 0;
  for (let i = offset; i < offset + count; i++) {
    const z = mixBig((BigInt(seed) + BigInt(i + 1) * GAMMA) & MASK64);
    const x = z >> 38n;
    const y = (z & 0xffffffffn) >> 6n;
    if (x * x + y * y < 1n << 52n) hits++;
  }
  return hits;
}
const toBig = ([hi, lo]: [number, number]) => (BigInt(hi) << 32n) | BigInt(lo);

describe('montecarlo-pi', () => {
  it('does SplitMix64 exactly on 32-bit halves', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MASK64 }), (z) => {
        const mixed = splitmix64Mix(Number(z >> 32n), Number(z & 0xffffffffn));
        return toBig(mixed) === mixBig(z);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.integer({ min: 0, max: 2 ** 32 }), (seed, n) => {
        return toBig(counterAt(seed, n)) === ((BigInt(seed) + BigInt(n) * GAMMA) & MASK64);
      }),
      { numRuns: 2000 },
    );
    // the first outputs of SplitMix64 seeded with 1234567 (the reference implementation's test vector)
    expect(toBig(splitmix64Mix(...counterAt(1234567, 1)))).toBe(6457827717110365317n);
    expect(toBig(splitmix64Mix(...counterAt(1234567, 2)))).toBe(3203168211198807973n);
  });

  it('counts hits like the BigInt reference, at any seed and offset', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.integer({ min: 0, max: 2 ** 32 - 300 }), fc.integer({ min: 1, max: 300 }), (seed, offset, count) =>
        countHits(seed, offset, count) === hitsBig(seed, offset, count),
      ),
      { numRuns: 100 },
    );
  });

  it('estimates pi within five standard errors', () => {
    const samples = 1 << 22;
    const sigma = 4 * Math.sqrt(((Math.PI / 4) * (1 - Math.PI / 4)) / samples);
    for (const seed of [1, 2, 2 ** 53 - 1]) {
      const r = runJob(montecarloPiKernel, { samples, seed }, 4) as { estimate: number; samples: number; hits: number };
      expect(r.samples).toBe(samples);
      expect(r.estimate).toBe((4 * r.hits) / samples);
      expect(Math.abs(r.estimate - Math.PI)).toBeLessThan(5 * sigma);
    }
  });

  it('gives the same result however the samples are split', () => {
    const p = { samples: 100_003, seed: 99 };
    const one = runJob(montecarloPiKernel, p, 1);
    for (const units of [2, 7, 64, 1000]) expect(runJob(montecarloPiKernel, p, units)).toEqual(one);
  });

  it('splits the samples into contiguous units of bounded size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 32 }), fc.integer({ min: 1, max: 20_000 }), (samples, units) => {
        const parts = montecarloPiKernel.split({ samples, seed: 5 }, units);
        const ranges = parts.map((u) => ({ lo: u.offset, hi: u.offset + u.count }));
        expect(partitionProblem(ranges, 0, samples, MAX_UNIT_SAMPLES)).toBeNull();
        expect(parts.length).toBeLessThanOrEqual(10_000);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects parameters and outputs out of bounds', () => {
    for (const p of [
      { samples: 0, seed: 1 },
      { samples: 2 ** 32 + 1, seed: 1 },
      { samples: 10, seed: -1 },
      { samples: 10, seed: 2 ** 53 },
      { samples: 1.5, seed: 1 },
      { samples: 10 },
    ]) {
      expect(montecarloPiKernel.paramsSchema.safeParse(p).success, JSON.stringify(p)).toBe(false);
    }
    expect(montecarloPiKernel.outputSchema.safeParse({ count: 10, hits: 11 }).success).toBe(false);
    expect(() => montecarloPiKernel.assemble({ samples: 20, seed: 1 }, [{ count: 10, hits: 5 }])).toThrow(KernelError);
  });
});

/** Brute force with node:crypto. */
function nonceBrute(prefix: string, difficulty: number, start: number, count: number): number[] {
  const out: number[] = [];
  for (let n = start; n < start + count; n++) {
    const d = createHash('sha256').update(prefix + String(n)).digest();
    if (d.readUInt32BE(0) >>> (32 - difficulty) === 0) out.push(n);
  }
  return out;
}

describe('sha256-nonce', () => {
  it('finds exactly the nonces node:crypto finds, across digit-length and block boundaries', () => {
    const cases: Array<[string, number, number, number]> = [
      ['swapmesh', 6, 0, 3000],
      ['x'.repeat(50), 5, 990, 2000], // tail grows from 53 to 54 bytes: one block then two
      ['y'.repeat(64), 5, 95, 1000], // prefix is exactly one block
      ['z'.repeat(55), 4, 0, 200], // 55 + digits always needs two blocks
      ['héllo→🚀', 5, 9_999_990, 100],
      ['', 4, 2 ** 53 - 300, 299],
    ];
    for (const [prefix, difficulty, start, count] of cases) {
      const got = searchNonces(prefixBytes(prefix), difficulty, start, count, 10_000);
      const want = nonceBrute(prefix, difficulty, start, count);
      expect(got.nonces, prefix).toEqual(want);
      expect(got.found).toBe(want.length);
    }
  });

  it('matches node:crypto on random prefixes and ranges', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 64 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 1e12 }),
        fc.integer({ min: 1, max: 200 }),
        (prefix, difficulty, start, count) => {
          expect(searchNonces(prefixBytes(prefix), difficulty, start, count, 1000).nonces).toEqual(
            nonceBrute(prefix, difficulty, start, count),
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  it('assembles all nonces found, sorted, however the range is split', () => {
    const p = { prefix: 'job-17:', difficulty: 10, start: 5000, end: 40_000 };
    const want = nonceBrute(p.prefix, p.difficulty, p.start, p.end - p.start);
    expect(want.length).toBeGreaterThan(10);
    for (const units of [1, 3, 16, 100]) {
      expect(runJob(sha256NonceKernel, p, units)).toEqual({ nonces: want, found: want.length, hashes: 35_000, truncated: false });
    }
  });

  it('caps the nonces a unit lists but counts them all', () => {
    const u = { prefix: 'p', difficulty: 1, start: 0, count: 4000 };
    const o = sha256NonceKernel.run(u);
    expect(o.nonces).toHaveLength(MAX_NONCES_PER_UNIT);
    expect(o.found).toBe(nonceBrute('p', 1, 0, 4000).length);
    expect(sha256NonceKernel.outputSchema.safeParse(o).success).toBe(true);
    const r = sha256NonceKernel.assemble({ prefix: 'p', difficulty: 1, start: 0, end: 4000 }, [o]);
    expect(r.truncated).toBe(true);
    expect(r.found).toBe(o.found);
  });

  it('splits the range into contiguous bounded units', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 52 }),
        fc.integer({ min: 1, max: 2 ** 32 }),
        fc.integer({ min: 1, max: 20_000 }),
        (start, size, units) => {
          const parts = sha256NonceKernel.split({ prefix: 'a', difficulty: 20, start, end: start + size }, units);
          const ranges = parts.map((u) => ({ lo: u.start, hi: u.start + u.count }));
          expect(partitionProblem(ranges, start, start + size, MAX_UNIT_NONCES)).toBeNull();
          expect(parts.length).toBeLessThanOrEqual(10_000);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects parameters and outputs out of bounds', () => {
    const ok = { prefix: 'abc', difficulty: 20, start: 0, end: 1000 };
    for (const p of [
      { ...ok, prefix: 'x'.repeat(65) },
      { ...ok, difficulty: 0 },
      { ...ok, difficulty: 33 },
      { ...ok, start: -1 },
      { ...ok, end: 0 },
      { ...ok, start: 10, end: 10 },
      { ...ok, end: 2 ** 32 + 1 },
      { ...ok, end: 2 ** 53 },
    ]) {
      expect(sha256NonceKernel.paramsSchema.safeParse(p).success, JSON.stringify(p)).toBe(false);
    }
    expect(sha256NonceKernel.paramsSchema.safeParse(ok).success).toBe(true);
    const schema = sha256NonceKernel.outputSchema;
    expect(schema.safeParse({ start: 10, hashes: 5, found: 1, nonces: [15] }).success).toBe(false);
    expect(schema.safeParse({ start: 10, hashes: 5, found: 2, nonces: [12, 11] }).success).toBe(false);
    expect(schema.safeParse({ start: 10, hashes: 5, found: 2, nonces: [11] }).success).toBe(false);
    expect(schema.safeParse({ start: 10, hashes: 5, found: 2, nonces: [11, 12] }).success).toBe(true);
  });
});

/** Primes in [lo, hi) by trial division. */
function primesBrute(lo: number, hi: number) {
  let count = 0;
  let checksum = 0;
  let last = 0;
  for (let n = Math.max(lo, 2); n < hi; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) {
      count++;
      checksum = (checksum + n) >>> 0;
      last = n;
    }
  }
  return { count, checksum, last };
}

describe('prime-sieve', () => {
  it('counts pi(10^6) and pi(10^7)', () => {
    expect(runJob(primeSieveKernel, { upTo: 1_000_000 }, 4)).toEqual({
      upTo: 1_000_000,
      count: 78_498,
      checksum: 37_550_402_023 % 2 ** 32, // the sum of the primes below a million
      largest: 999_983,
    });
    expect(runJob(primeSieveKernel, { upTo: 10_000_000, segmentSize: 1 << 15 }, 7)).toMatchObject({
      count: 664_579,
      checksum: 3_203_324_994_356 % 2 ** 32,
      largest: 9_999_991,
    });
  });

  it('counts small bounds exactly', () => {
    const table: Array<[number, number]> = [[2, 1], [3, 2], [4, 2], [10, 4], [100, 25], [1000, 168], [7919, 1000]];
    for (const [upTo, count] of table) expect(runJob(primeSieveKernel, { upTo }, 1)).toMatchObject({ count });
  });

  it('agrees with trial division on any range and segment size', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200_000 }),
        fc.integer({ min: 1, max: 20_000 }),
        fc.integer({ min: 4096, max: 10_000 }),
        (lo, span, segmentSize) => {
          expect(sieveRange(lo, lo + span, segmentSize)).toEqual(primesBrute(lo, lo + span));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('sieves ranges far from zero', () => {
    const lo = 999_900_000;
    expect(sieveRange(lo, lo + 5000, 4096)).toEqual(primesBrute(lo, lo + 5000));
    expect(sieveRange(999_999_000, 1_000_000_001, 4096)).toEqual(primesBrute(999_999_000, 1_000_000_001));
  });

  it('splits [0, upTo] into contiguous, segment-aligned, bounded units', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 1_000_000_000 }),
        fc.integer({ min: 4096, max: 1 << 22 }),
        fc.integer({ min: 1, max: 20_000 }),
        (upTo, segmentSize, units) => {
          const parts = primeSieveKernel.split({ upTo, segmentSize }, units);
          expect(partitionProblem(parts, 0, upTo + 1, MAX_UNIT_SPAN)).toBeNull();
          expect(parts.every((u) => u.lo % (2 * segmentSize) === 0 && u.segmentSize === segmentSize)).toBe(true);
          expect(parts.length).toBeLessThanOrEqual(10_000);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('computes integer square roots exactly', () => {
    for (const n of [0, 1, 2, 3, 4, 15, 16, 17, 999_999_999, 1_000_000_000, 2 ** 52 - 1]) {
      const r = isqrt(n);
      expect(r * r <= n && (r + 1) * (r + 1) > n).toBe(true);
    }
  });

  it('rejects parameters and outputs out of bounds, and gaps in the outputs', () => {
    for (const p of [{ upTo: 1 }, { upTo: 1e9 + 1 }, { upTo: 100, segmentSize: 100 }, { upTo: 100, segmentSize: 2 ** 23 }]) {
      expect(primeSieveKernel.paramsSchema.safeParse(p).success, JSON.stringify(p)).toBe(false);
    }
    const schema = primeSieveKernel.outputSchema;
    expect(schema.safeParse({ lo: 0, hi: 10, count: 4, checksum: 17, last: 7 }).success).toBe(true);
    expect(schema.safeParse({ lo: 0, hi: 10, count: 11, checksum: 17, last: 7 }).success).toBe(false);
    expect(schema.safeParse({ lo: 0, hi: 10, count: 4, checksum: 17, last: 11 }).success).toBe(false);
    expect(schema.safeParse({ lo: 0, hi: 10, count: 4, checksum: 2 ** 32, last: 7 }).success).toBe(false);
    const params = { upTo: 100_000, segmentSize: 4096 };
    const outputs = primeSieveKernel.split(params, 5).map((u) => primeSieveKernel.run(u));
    expect(() => primeSieveKernel.assemble(params, outputs.slice(0, -1))).toThrow(KernelError);
    expect(() => primeSieveKernel.assemble(params, [outputs[1]!, outputs[0]!, ...outputs.slice(2)])).toThrow(KernelError);
  });
});

describe('custom', () => {
  const params = { code: 'export default (x) => x * 2;', inputs: [1, { b: [true, null], a: 'é' }, 'three'] };

  it('makes one unit per input, naming the code by its SHA-256', () => {
    const parsed = customKernel.paramsSchema.parse(params);
    const units = customKernel.split(parsed, 1);
    expect(units).toHaveLength(3);
    const hash = createHash('sha256').update(params.code).digest('hex');
    expect(customCodeHash(params.code)).toBe(hash);
    units.forEach((u, i) => expect(u).toEqual({ codeSha256: hash, index: i, input: params.inputs[i] }));
  });

  it('never runs code outside the sandbox', () => {
    const [unit] = customKernel.split(customKernel.paramsSchema.parse(params), 1);
    expect(() => customKernel.run(unit!)).toThrow(/sandbox/);
  });

  it('compares outputs by a stable JSON text', () => {
    expect(customKernel.canonical({ b: 1, a: [2, { d: null, c: 'x' }] })).toBe('{"a":[2,{"c":"x","d":null}],"b":1}');
    expect(customKernel.canonical({ a: [2, { c: 'x', d: null }], b: 1 })).toBe(customKernel.canonical({ b: 1, a: [2, { d: null, c: 'x' }] }));
    expect(customKernel.canonical(-0)).toBe('0');
    expect(customKernel.canonical(0.1 + 0.2)).toBe('0.30000000000000004');
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const json = v as Json;
        expect(JSON.parse(stableStringify(json))).toEqual(JSON.parse(JSON.stringify(json)));
        const reordered: unknown = JSON.parse(JSON.stringify(json), (_k, value: unknown) =>
          value && typeof value === 'object' && !Array.isArray(value)
            ? Object.fromEntries(Object.entries(value).reverse())
            : value,
        );
        expect(customKernel.canonical(reordered as Json)).toBe(customKernel.canonical(json));
      }),
    );
  });

  it('assembles the outputs in input order', () => {
    const parsed = customKernel.paramsSchema.parse(params);
    expect(customKernel.assemble(parsed, [2, 'x', null])).toEqual([2, 'x', null]);
    expect(() => customKernel.assemble(parsed, [2])).toThrow(KernelError);
  });

  it('bounds code, inputs and outputs', () => {
    const schema = customKernel.paramsSchema;
    expect(schema.safeParse({ ...params, code: 'x'.repeat(MAX_CODE_BYTES) }).success).toBe(true);
    expect(schema.safeParse({ ...params, code: 'x'.repeat(MAX_CODE_BYTES + 1) }).success).toBe(false);
    expect(schema.safeParse({ ...params, code: 'é'.repeat(MAX_CODE_BYTES / 2 + 1) }).success).toBe(false);
    expect(schema.safeParse({ ...params, code: '' }).success).toBe(false);
    expect(schema.safeParse({ ...params, inputs: [] }).success).toBe(false);
    expect(schema.safeParse({ ...params, inputs: Array.from({ length: MAX_INPUTS }, (_, i) => i) }).success).toBe(true);
    expect(schema.safeParse({ ...params, inputs: Array.from({ length: MAX_INPUTS + 1 }, (_, i) => i) }).success).toBe(false);
    const big = 'x'.repeat(60_000);
    expect(schema.safeParse({ ...params, inputs: Array.from({ length: 80 }, () => big) }).success).toBe(false);
    expect(schema.safeParse({ ...params, inputs: [Number.NaN] }).success).toBe(false);
    expect(schema.safeParse({ ...params, inputs: [undefined] }).success).toBe(false);

    const out = customKernel.outputSchema;
    expect(out.safeParse({ ok: [1, 'two', null, false] }).success).toBe(true);
    expect(out.safeParse('x'.repeat(MAX_OUTPUT_BYTES - 2)).success).toBe(true);
    expect(out.safeParse('x'.repeat(MAX_OUTPUT_BYTES - 1)).success).toBe(false);
    expect(out.safeParse(Infinity).success).toBe(false);
    expect(out.safeParse(new Date()).success).toBe(false);
    expect(out.safeParse({ f: () => 1 }).success).toBe(false);
    let deep: Json = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(out.safeParse(deep).success).toBe(false); // refused without overflowing the stack
  });

  it('measures JSON size exactly', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const size = Buffer.byteLength(JSON.stringify(v));
        expect(checkJson(v, { maxBytes: size, maxDepth: 1000 })).toBeNull();
        expect(checkJson(v, { maxBytes: size - 1, maxDepth: 1000 })).not.toBeNull();
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => utf8Length(s) === new TextEncoder().encode(s).length),
    );
  });
});

describe('shared helpers', () => {
  it('base64 round-trips and matches Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20_000 }), (bytes) => {
        const text = encodeBase64(bytes);
        expect(text).toBe(Buffer.from(bytes).toString('base64'));
        expect(Buffer.from(decodeBase64(text)).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 200 },
    );
    for (const bad of ['A', 'AB=C', 'A===', '*AAA', 'AB==CD==', 'AB==', 'AAB=']) {
      expect(() => decodeBase64(bad), bad).toThrow(KernelError);
    }
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 50 }), fc.nat(), fc.nat(63), (bytes, at, sextet) => {
        const good = encodeBase64(bytes);
        expect(isBase64OfLength(good, bytes.length)).toBe(true);
        expect(isBase64OfLength(good, bytes.length + 1)).toBe(false);
        const i = at % good.length;
        const forged = good.slice(0, i) + 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'[sextet] + good.slice(i + 1);
        let decodes: boolean;
        try {
          decodes = Buffer.from(decodeBase64(forged)).length === bytes.length;
        } catch {
          decodes = false;
        }
        expect(isBase64OfLength(forged, bytes.length)).toBe(decodes);
      }),
    );
  });
});

describe('every kernel', () => {
  const jobs: Array<[AnyKernel, unknown, number]> = [
    [mandelbrotKernel, { width: 100, height: 80, maxIterations: 200, view: { centerX: -0.5, centerY: 0, scale: 3 } }, 6],
    [montecarloPiKernel, { samples: 50_000, seed: 7 }, 5],
    [sha256NonceKernel, { prefix: 'det', difficulty: 8, start: 0, end: 5000 }, 4],
    [primeSieveKernel, { upTo: 300_000, segmentSize: 4096 }, 3],
  ];

  it('is deterministic: running a unit twice gives the same canonical text', () => {
    for (const [kernel, raw, units] of jobs) {
      for (const u of kernel.split(kernel.paramsSchema.parse(raw), units)) {
        expect(kernel.canonical(kernel.run(u)), kernel.name).toBe(kernel.canonical(kernel.run(u)));
      }
    }
  });

  it('produces outputs its own output schema accepts after a JSON round trip', () => {
    for (const [kernel, raw, units] of jobs) {
      for (const u of kernel.split(kernel.paramsSchema.parse(raw), units)) {
        const wire: unknown = JSON.parse(JSON.stringify(kernel.run(u)));
        const parsed = kernel.outputSchema.safeParse(wire);
        expect(parsed.success, kernel.name).toBe(true);
      }
    }
  });

  it('has unit inputs that survive a JSON round trip unchanged', () => {
    for (const [kernel, raw, units] of jobs) {
      const parts = kernel.split(kernel.paramsSchema.parse(raw), units);
      expect(JSON.parse(JSON.stringify(parts))).toEqual(parts);
    }
  });
});
