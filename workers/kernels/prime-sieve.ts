/**
 * Prime counting by a segmented sieve of Eratosthenes over odd numbers. The job counts the primes
 * p <= upTo; a unit covers the integers [lo, hi) and reports the count, the sum of its primes mod
 * 2^32 (a checksum that replicas must match) and its largest prime.
 */
import { z } from 'zod';
import { KernelError, clampUnits } from './shared';
import type { Kernel } from './types';

export const MAX_UP_TO = 1_000_000_000;
export const MIN_SEGMENT = 2 ** 12;
export const MAX_SEGMENT = 2 ** 22;
export const DEFAULT_SEGMENT = 2 ** 17;
/** A unit covers at most this many integers. */
export const MAX_UNIT_SPAN = 2 ** 26;
export const MAX_UNITS = 10_000;

const segmentSize = z.int().min(MIN_SEGMENT).max(MAX_SEGMENT);

export const primeSieveParamsSchema = z.strictObject({
  /** Count the primes up to and including this number. */
  upTo: z.int().min(2).max(MAX_UP_TO),
  /** Odd numbers per sieve segment, which is the sieve's working memory in bytes. */
  segmentSize: segmentSize.default(DEFAULT_SEGMENT),
});
export type PrimeSieveParams = z.infer<typeof primeSieveParamsSchema>;

const bound = z.int().min(0).max(MAX_UP_TO + 1);

export const primeSieveUnitSchema = z
  .strictObject({ lo: bound, hi: bound, segmentSize })
  .refine((u) => u.lo < u.hi && u.hi - u.lo <= MAX_UNIT_SPAN, { message: `need lo < hi, hi - lo <= ${MAX_UNIT_SPAN}` });
export type PrimeSieveUnit = z.infer<typeof primeSieveUnitSchema>;

export const primeSieveOutputSchema = z
  .strictObject({
    lo: bound,
    hi: bound,
    count: z.int().min(0).max(MAX_UNIT_SPAN),
    /** The sum of the unit's primes mod 2^32. */
    checksum: z.int().min(0).max(2 ** 32 - 1),
    /** The unit's largest prime, 0 when it has none. */
    last: z.int().min(0).max(MAX_UP_TO),
  })
  .refine((o) => o.lo < o.hi && o.count <= o.hi - o.lo, { message: 'inconsistent range or count' })
  .refine((o) => (o.count === 0 ? o.last === 0 : o.last >= o.lo && o.last < o.hi), {
    message: 'last must be in the range (0 when count is 0)',
  });
export type PrimeSieveOutput = z.infer<typeof primeSieveOutputSchema>;

export type PrimeSieveResult = {
  upTo: number;
  /** pi(upTo): the number of primes <= upTo. */
  count: number;
  /** The sum of those primes mod 2^32. */
  checksum: number;
  /** The largest prime <= upTo. */
  largest: number;
};

/** floor(sqrt(n)) for a non-negative safe integer, corrected for rounding. */
export function isqrt(n: number): number {
  let r = Math.floor(Math.sqrt(n));
  while (r * r > n) r--;
  while ((r + 1) * (r + 1) <= n) r++;
  return r;
}

/** The odd primes <= limit, by a plain sieve. */
export function oddPrimesUpTo(limit: number): Uint32Array {
  if (limit < 3) return new Uint32Array(0);
  const composite = new Uint8Array((limit >>> 1) + 1); // index k stands for 2k+1
  const out: number[] = [];
  for (let k = 1; 2 * k + 1 <= limit; k++) {
    if (composite[k]) continue;
    const p = 2 * k + 1;
    out.push(p);
    for (let j = (p * p - 1) >>> 1; 2 * j + 1 <= limit; j += p) composite[j] = 1;
  }
  return Uint32Array.from(out);
}

/** Reference CPU time per integer of a unit's range, picoseconds (the JavaScript reference on one reference core). */
export const REFERENCE_PS_PER_INTEGER = 3_500;

export type SieveCount = { count: number; checksum: number; last: number };

/** The reference: primes in [lo, hi), sieving `segmentSize` odd numbers at a time. */
export function sieveRange(lo: number, hi: number, segmentSize: number): SieveCount {
  let count = 0;
  let checksum = 0;
  let last = 0;
  if (lo <= 2 && hi > 2) {
    count = 1;
    checksum = 2;
    last = 2;
  }
  if (hi <= 3) return { count, checksum, last };
  const primes = oddPrimesUpTo(isqrt(hi - 1));
  // odd v = 2k + 1; the unit's odd numbers >= 3 have k in [kLo, kHi)
  const kLo = Math.max(1, Math.floor(lo / 2));
  const kHi = Math.floor(hi / 2);
  const next = new Int32Array(primes.length); // k < 2^29 here
  for (let i = 0; i < primes.length; i++) {
    const p = primes[i]!;
    const vLo = 2 * kLo + 1;
    let m = Math.max(p * p, Math.ceil(vLo / p) * p);
    if (m % 2 === 0) m += p;
    next[i] = (m - 1) / 2;
  }
  const seg = new Uint8Array(segmentSize);
  for (let kS = kLo; kS < kHi; kS += segmentSize) {
    const kE = Math.min(kS + segmentSize, kHi);
    const len = kE - kS;
    seg.fill(0, 0, len);
    for (let i = 0; i < primes.length; i++) {
      const p = primes[i]!;
      let j = next[i]! - kS;
      for (; j < len; j += p) seg[j] = 1;
      next[i] = j + kS;
    }
    for (let i = 0; i < len; i++) {
      if (seg[i] === 0) {
        const v = 2 * (kS + i) + 1;
        count++;
        checksum = (checksum + v) >>> 0;
        last = v;
      }
    }
  }
  return { count, checksum, last };
}

export const primeSieveKernel: Kernel<PrimeSieveParams, PrimeSieveUnit, PrimeSieveOutput, PrimeSieveResult> = {
  name: 'prime-sieve',
  title: 'Prime sieve',
  description: 'Counts the primes up to a bound with a segmented sieve of Eratosthenes.',
  paramsSchema: primeSieveParamsSchema,
  outputSchema: primeSieveOutputSchema,

  split(params, units) {
    const total = params.upTo + 1;
    const block = 2 * params.segmentSize; // integers covered by one segment of odd numbers
    const maxBlocks = Math.floor(MAX_UNIT_SPAN / block);
    const minBlocks = Math.ceil(total / (MAX_UNITS * block));
    const wanted = Math.ceil(total / clampUnits(units, MAX_UNITS) / block);
    const span = Math.min(maxBlocks, Math.max(minBlocks, wanted, 1)) * block;
    const out: PrimeSieveUnit[] = [];
    for (let lo = 0; lo < total; lo += span) {
      out.push({ lo, hi: Math.min(lo + span, total), segmentSize: params.segmentSize });
    }
    return out;
  },

  run(input) {
    const unit = primeSieveUnitSchema.parse(input);
    return { lo: unit.lo, hi: unit.hi, ...sieveRange(unit.lo, unit.hi, unit.segmentSize) };
  },

  canonical(o) {
    return `${o.lo}:${o.hi}:${o.count}:${o.checksum}:${o.last}`;
  },

  /** Integer work only: no floating-point operations; CPU time by the integers sieved. */
  cost(input) {
    return { flop: 0, cpuUs: Math.ceil(((input.hi - input.lo) * REFERENCE_PS_PER_INTEGER) / 1e6) };
  },

  workingSetMb: () => 0,

  assemble(params, outputs) {
    let next = 0;
    let count = 0;
    let checksum = 0;
    let largest = 0;
    for (const o of outputs) {
      if (o.lo !== next) throw new KernelError(`unit output starts at ${o.lo}, expected ${next}`);
      next = o.hi;
      count += o.count;
      checksum = (checksum + o.checksum) >>> 0;
      if (o.count > 0) largest = o.last;
    }
    if (next !== params.upTo + 1) throw new KernelError(`unit outputs end at ${next}, expected ${params.upTo + 1}`);
    return { upTo: params.upTo, count, checksum, largest };
  },
};
